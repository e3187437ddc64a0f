"""Address policy for outgoing fetches: which hosts and IP addresses `fetch_url` may reach.

The policy is pure (no I/O) so it can be tested over many literal addresses. The caller
resolves a host once, asks `refusal_reason` about every resolved address, and then connects
to exactly those vetted addresses, so a DNS answer cannot change between check and connect.

Refused: private, loopback, link-local, multicast, reserved, unspecified, documentation and
benchmarking ranges, CGNAT (100.64.0.0/10), cloud metadata services, and IPv6 forms that
embed such an IPv4 address (IPv4-mapped, NAT64, 6to4, IPv4-compatible, Teredo). Only IPv6
global unicast (2000::/3) outside the special-purpose blocks is allowed. An operator
allow-list (hostnames and/or CIDR networks, setting `FETCH_URL_ALLOWLIST`) overrides it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud instance-metadata endpoints get their own wording: they are the usual SSRF prize.
_METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.123",  # AWS time sync
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (legacy)
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::123",
    )
)
METADATA_HOSTNAMES: frozenset[str] = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
    }
)

_V4_BLOCKS: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "an unspecified ('this network') address"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a carrier-grade NAT (shared) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "a reserved (IETF protocol) address"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a reserved (6to4 relay) address"),
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
    )
)

_V6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_V6_BLOCKS: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), why)
    for net, why in (
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001::/32", "a Teredo tunnel address"),
        ("2001::/23", "a reserved (IETF protocol) address"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        ("fc00::/7", "a private (unique local) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    )
)
# IPv6 forms that carry an IPv4 address in their low 32 bits; judged by that address.
_V6_EMBEDDING_V4: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), why)
    for net, why in (
        ("::ffff:0:0/96", "IPv4-mapped"),
        ("64:ff9b::/96", "NAT64"),
        ("::ffff:0:0:0/96", "IPv4-translated"),
    )
)
_V6_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated IPv4-compatible form
_V6_6TO4 = ipaddress.IPv6Network("2002::/16")

# Forms like 2130706433, 0x7f.1 or 127.1 that resolvers accept as IPv4 but are not canonical.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*\.?$", re.IGNORECASE)


def parse_ip(text: str) -> IPAddress | None:
    """The address written in `text` (brackets and an IPv6 zone id allowed), or None."""
    candidate = text.strip().removeprefix("[").removesuffix("]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        return None


def _v4_reason(address: ipaddress.IPv4Address) -> str | None:
    for network, why in _V4_BLOCKS:
        if address in network:
            return why
    if address.is_multicast or address.is_reserved or address.is_private:
        return "a non-public address"
    return None


def _v6_reason(address: ipaddress.IPv6Address) -> str | None:
    # Plain address: the scope id is irrelevant to the range it belongs to.
    address = ipaddress.IPv6Address(address.packed)
    for network, label in _V6_EMBEDDING_V4:
        if address in network:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
            why = address_refusal(inner)
            return f"{why} in {label} form" if why else None
    if address in _V6_6TO4 and address.sixtofour is not None:
        why = address_refusal(address.sixtofour)
        if why:
            return f"{why} in 6to4 form"
    for network, why in _V6_BLOCKS:
        if address in network:
            return why
    if address in _V6_COMPATIBLE:
        return "a deprecated IPv4-compatible address"
    if address not in _V6_GLOBAL_UNICAST:
        return "a reserved address"
    if address.is_multicast or address.is_reserved or address.is_private:
        return "a non-public address"
    return None


def address_refusal(address: IPAddress) -> str | None:
    """Why a connection to `address` is refused (e.g. "a private address"), or None if public.

    This ignores any allow-list; see `AddressPolicy.check_address` for the full decision.
    """
    plain = ipaddress.ip_address(address.packed)
    if plain in _METADATA_ADDRESSES:
        return "a cloud metadata service address"
    if isinstance(plain, ipaddress.IPv4Address):
        return _v4_reason(plain)
    return _v6_reason(plain)


def normalize_host(host: str) -> str:
    """Lower-case, without brackets or the trailing root dot: the form allow-lists compare."""
    return host.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")


def is_noncanonical_numeric_host(host: str) -> bool:
    """True for legacy numeric IPv4 spellings (2130706433, 0x7f.1, 127.1, 010.0.0.1)."""
    name = normalize_host(host)
    if not _NUMERIC_HOST.match(name):
        return False
    try:
        return str(ipaddress.IPv4Address(name)) != name
    except ValueError:
        return True


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which hosts/addresses may be fetched. Empty allow-lists mean "public addresses only"."""

    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_allowlist(cls, entries: Iterable[str]) -> AddressPolicy:
        """Build from setting entries: `10.1.2.0/24`, `192.168.1.5`, `wiki.internal`, `*.corp`.

        Raises ValueError for an entry that is neither a network nor a plausible hostname.
        """
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            if "/" in entry:
                networks.append(ipaddress.ip_network(entry, strict=False))
            elif (address := parse_ip(entry)) is not None:
                networks.append(ipaddress.ip_network(address))
            else:
                name = normalize_host(entry)
                if not re.fullmatch(r"(\*\.)?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?", name):
                    raise ValueError(f"{entry!r} is not a hostname or network")
                hosts.add(name)
        return cls(frozenset(hosts), tuple(networks))

    def host_allowed(self, host: str) -> bool:
        """True when the hostname itself is allow-listed (exactly, or by a `*.domain` entry)."""
        name = normalize_host(host)
        if name in self.allowed_hosts:
            return True
        labels = name.split(".")
        return any(f"*.{'.'.join(labels[i:])}" in self.allowed_hosts for i in range(1, len(labels)))

    def address_allowed(self, address: IPAddress) -> bool:
        plain = ipaddress.ip_address(address.packed)
        return any(
            plain.version == network.version and plain in network
            for network in self.allowed_networks
        )

    def check_host(self, host: str) -> str | None:
        """A refusal reason based on the name alone (before any resolution), or None."""
        name = normalize_host(host)
        if self.host_allowed(name):
            return None
        if name in METADATA_HOSTNAMES:
            return f"{name} is a cloud metadata service"
        if name == "localhost" or name.endswith(".localhost"):
            return f"{name} is a loopback name"
        if is_noncanonical_numeric_host(name):
            return f"{host} is not a canonical IP address"
        return None

    def check_address(self, host: str, address: IPAddress) -> str | None:
        """A refusal reason for connecting to `address` on behalf of `host`, or None if allowed."""
        if self.host_allowed(host) or self.address_allowed(address):
            return None
        why = address_refusal(address)
        if why is None:
            return None
        shown = normalize_host(host)
        target = str(address) if parse_ip(shown) is not None else f"{shown} resolves to {address}"
        return f"{target}, {why}"
