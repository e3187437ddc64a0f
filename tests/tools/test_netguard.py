"""The address policy over literal addresses: pure, no network at all."""

from __future__ import annotations

import ipaddress

import pytest

from bot.tools.netguard import (
    AddressPolicy,
    address_refusal,
    is_noncanonical_numeric_host,
    parse_ip,
)

REFUSED = [
    # IPv4 special ranges
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("169.254.0.1", "link-local"),
    ("169.254.169.254", "metadata"),
    ("169.254.170.2", "metadata"),
    ("100.100.100.200", "metadata"),
    ("192.0.0.192", "metadata"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.0.0.8", "reserved"),
    ("192.0.2.1", "documentation"),
    ("192.88.99.1", "6to4 relay"),
    ("192.168.1.1", "private"),
    ("198.18.0.1", "benchmarking"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    # IPv6 special ranges
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("febf:ffff::1", "link-local"),
    ("fec0::1", "site-local"),
    ("fc00::1", "unique local"),
    ("fd00::1", "unique local"),
    ("fd12:3456:789a::1", "unique local"),
    ("fd00:ec2::254", "metadata"),
    ("ff02::1", "multicast"),
    ("ff05::2", "multicast"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("2001::1", "Teredo"),
    ("2001:2::1", "IETF"),
    ("100::1", "discard"),
    ("5f00::1", "reserved"),
    ("4000::1", "reserved"),
    ("64:ff9b:1::a00:1", "local-use NAT64"),
    # IPv4 embedded in IPv6
    ("::ffff:127.0.0.1", "loopback address in IPv4-mapped"),
    ("::ffff:10.0.0.1", "private address in IPv4-mapped"),
    ("::ffff:169.254.169.254", "metadata service address in IPv4-mapped"),
    ("::ffff:100.64.0.1", "carrier-grade NAT"),
    ("::ffff:0.0.0.0", "unspecified"),
    ("::ffff:7f00:1", "loopback address in IPv4-mapped"),
    ("64:ff9b::10.0.0.1", "private address in NAT64"),
    ("64:ff9b::7f00:1", "loopback address in NAT64"),
    ("64:ff9b::169.254.169.254", "metadata service address in NAT64"),
    ("::ffff:0:192.168.0.1", "private address in IPv4-translated"),
    ("::127.0.0.1", "IPv4-compatible"),
    ("::8.8.8.8", "IPv4-compatible"),
    ("2002:7f00:1::1", "loopback address in 6to4"),
    ("2002:a9fe:a9fe::1", "metadata service address in 6to4"),
    ("2002:c0a8:101::1", "private address in 6to4"),
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "100.63.255.255",  # just below CGNAT
    "100.128.0.0",  # just above CGNAT
    "172.15.255.255",
    "172.32.0.0",
    "192.0.3.1",
    "223.255.255.254",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",  # mapped public address
    "64:ff9b::8.8.8.8",  # NAT64 of a public address
    "2002:808:808::1",  # 6to4 of a public address
]


@pytest.mark.parametrize(("literal", "reason"), REFUSED)
def test_netguard_refuses_special_address(literal: str, reason: str) -> None:
    address = parse_ip(literal)
    assert address is not None
    why = address_refusal(address)
    assert why is not None
    assert reason.lower() in why.lower()


@pytest.mark.parametrize("literal", ALLOWED)
def test_netguard_allows_public_address(literal: str) -> None:
    address = parse_ip(literal)
    assert address is not None
    assert address_refusal(address) is None


def test_netguard_refuses_whole_private_networks_sampled() -> None:
    for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"):
        net = ipaddress.ip_network(network)
        for address in (net[0], net[1], net[net.num_addresses // 2], net[-1]):
            assert address_refusal(address) is not None, address


def test_netguard_empty_policy_uses_default_refusals() -> None:
    policy = AddressPolicy()
    assert policy.check_address("example.test", ipaddress.ip_address("10.0.0.1")) == (
        "example.test resolves to 10.0.0.1, a private address"
    )
    assert policy.check_address("10.0.0.1", ipaddress.ip_address("10.0.0.1")) == (
        "10.0.0.1, a private address"
    )
    assert policy.check_address("example.test", ipaddress.ip_address("8.8.8.8")) is None


def test_netguard_allowlisted_network_admits_its_addresses_only() -> None:
    policy = AddressPolicy.from_allowlist(["127.0.0.1/32", "10.1.0.0/16", "fd00::/8"])
    assert policy.check_address("h", ipaddress.ip_address("127.0.0.1")) is None
    assert policy.check_address("h", ipaddress.ip_address("10.1.2.3")) is None
    assert policy.check_address("h", ipaddress.ip_address("fd00::5")) is None
    assert policy.check_address("h", ipaddress.ip_address("127.0.0.2")) is not None
    assert policy.check_address("h", ipaddress.ip_address("10.2.0.1")) is not None
    assert policy.check_address("h", ipaddress.ip_address("169.254.169.254")) is not None


def test_netguard_allowlisted_single_address_without_prefix() -> None:
    policy = AddressPolicy.from_allowlist([" 192.168.1.5 ", "", "::1"])
    assert policy.address_allowed(ipaddress.ip_address("192.168.1.5"))
    assert policy.address_allowed(ipaddress.ip_address("::1"))
    assert not policy.address_allowed(ipaddress.ip_address("192.168.1.6"))


def test_netguard_allowlisted_hostname_admits_any_address() -> None:
    policy = AddressPolicy.from_allowlist(["Wiki.Internal.", "*.corp.test"])
    assert policy.check_address("wiki.internal", ipaddress.ip_address("10.0.0.1")) is None
    assert policy.check_address("WIKI.internal.", ipaddress.ip_address("10.0.0.1")) is None
    assert policy.check_address("a.b.corp.test", ipaddress.ip_address("10.0.0.1")) is None
    assert policy.check_address("corp.test", ipaddress.ip_address("10.0.0.1")) is not None
    assert policy.check_address("evilcorp.test", ipaddress.ip_address("10.0.0.1")) is not None
    assert policy.check_address("wiki.internal.evil", ipaddress.ip_address("10.0.0.1"))


def test_netguard_allowlist_rejects_garbage_entries() -> None:
    with pytest.raises(ValueError):
        AddressPolicy.from_allowlist(["10.0.0.0/33"])
    with pytest.raises(ValueError):
        AddressPolicy.from_allowlist(["not a host"])


@pytest.mark.parametrize(
    "host",
    ["localhost", "LOCALHOST.", "app.localhost", "metadata.google.internal", "metadata",
     "instance-data", "2130706433", "0x7f000001", "0x7f.1", "127.1", "017700000001",
     "010.0.0.1"],
)  # fmt: skip
def test_netguard_refuses_suspicious_names_before_resolution(host: str) -> None:
    assert AddressPolicy().check_host(host) is not None


@pytest.mark.parametrize("host", ["example.com", "127.0.0.1", "1e100.net", "123.example"])
def test_netguard_accepts_ordinary_names(host: str) -> None:
    assert AddressPolicy().check_host(host) is None


def test_netguard_allowlisted_name_skips_name_checks() -> None:
    assert AddressPolicy.from_allowlist(["localhost"]).check_host("localhost") is None


def test_netguard_numeric_host_detection() -> None:
    assert is_noncanonical_numeric_host("3232235777")
    assert not is_noncanonical_numeric_host("192.168.1.1")
    assert not is_noncanonical_numeric_host("example.com")


def test_netguard_parse_ip_forms() -> None:
    assert parse_ip("[::1]") == ipaddress.ip_address("::1")
    assert parse_ip("fe80::1%eth0") == ipaddress.ip_address("fe80::1")
    assert parse_ip("example.com") is None
    assert parse_ip("127.1") is None
