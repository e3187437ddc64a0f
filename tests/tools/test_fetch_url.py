"""fetch_url end to end against a local server on 127.0.0.1. Hostnames are served by a fake
resolver; the session's connector refuses anything but loopback and counts every attempt."""

from __future__ import annotations

import aiohttp
import pytest

from bot.llm.tools import Tool, ToolContext, ToolError
from bot.tools.fetch_url import make_fetch_url_tool, new_fetch_session, summarize_fetch
from tests.tools.conftest import FakeResolver, LocalServer, Traffic, fake_resolver, loads

CTX = ToolContext(conversation_id=1)
LOCAL = ("127.0.0.1/32",)


def tool(
    session: aiohttp.ClientSession,
    *,
    allowlist: tuple[str, ...] = LOCAL,
    resolver: FakeResolver | None = None,
    **kwargs: object,
) -> Tool:
    return make_fetch_url_tool(
        session,
        allowlist=allowlist,
        resolver=resolver or fake_resolver({}),
        **kwargs,  # type: ignore[arg-type]
    )


async def fetch(t: Tool, url: str) -> str:
    return await t.handler(CTX, url=url)


# --- the address guard, through the real tool --------------------------------------------


async def test_fetch_url_refuses_loopback_when_not_allowlisted(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    session, seen = traffic
    with pytest.raises(ToolError, match=r"refused .*127\.0\.0\.1, a loopback address"):
        await fetch(tool(session, allowlist=()), server.url("/text"))
    assert seen.attempts == []


async def test_fetch_url_serves_loopback_when_allowlisted(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    session, seen = traffic
    result = await fetch(tool(session), server.url("/text"))
    assert result.endswith("plain\ntext  kept as is")
    assert f"URL: {server.url('/text')}" in result
    assert seen.attempts == ["127.0.0.1"]


@pytest.mark.parametrize(
    "addresses",
    [["10.0.0.1"], ["169.254.169.254"], ["100.64.0.1"], ["::ffff:10.0.0.1"], ["fd00::1"],
     ["0.0.0.0"], ["93.184.216.34", "192.168.0.10"]],
)  # fmt: skip
async def test_fetch_url_refuses_private_resolution_without_connecting(
    addresses: list[str], traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    session, seen = traffic
    resolver = fake_resolver({"evil.test": addresses})
    with pytest.raises(
        ToolError, match=r"refused to fetch http://evil\.test/x: evil\.test resolves"
    ):
        await fetch(tool(session, allowlist=(), resolver=resolver), "http://evil.test/x")
    assert resolver.calls == [("evil.test", 80)]
    assert seen.attempts == [] and seen.requests == [] and seen.dns_lookups == []


@pytest.mark.parametrize(
    "url",
    ["http://localhost/", "http://metadata.google.internal/computeMetadata/v1/",
     "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
     "http://2130706433/", "http://0x7f.1/", "http://127.0.0.1./", "http://[fe80::1%25eth0]/"],
)  # fmt: skip
async def test_fetch_url_refuses_local_literals_and_names_without_resolving(
    url: str, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    session, seen = traffic
    resolver = fake_resolver({})
    with pytest.raises(ToolError, match="refused"):
        await fetch(tool(session, allowlist=(), resolver=resolver), url)
    assert resolver.calls == [] and seen.attempts == []


async def test_fetch_url_redirect_to_private_host_refused_before_connecting(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    session, seen = traffic
    resolver = fake_resolver({"evil.test": ["10.0.0.1"]})
    url = server.url("/redirect?to=http://evil.test:8080/admin")
    with pytest.raises(ToolError, match=r"evil\.test resolves to 10\.0\.0\.1, a private address"):
        await fetch(tool(session, resolver=resolver), url)
    assert seen.attempts == ["127.0.0.1"]  # the allow-listed first hop only
    assert resolver.calls == [("evil.test", 8080)]


@pytest.mark.parametrize(
    ("target", "message"),
    [("http://169.254.169.254/latest/meta-data/", "metadata"),
     ("http://localhost:1/", "loopback name"),
     ("file:///etc/passwd", "only http:// and https://"),
     ("gopher://127.0.0.1/", "only http:// and https://")],
)  # fmt: skip
async def test_fetch_url_redirect_to_forbidden_target_refused(
    target: str,
    message: str,
    server: LocalServer,
    traffic: tuple[aiohttp.ClientSession, Traffic],
) -> None:
    session, seen = traffic
    with pytest.raises(ToolError, match=message):
        await fetch(tool(session), server.url(f"/redirect?to={target}"))
    assert seen.attempts == ["127.0.0.1"]


async def test_fetch_url_connects_to_vetted_address_without_second_lookup(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    session, seen = traffic
    # A rebinding resolver: loopback (allow-listed) first, a private address on any later ask.
    resolver = fake_resolver({"rebind.test": [["127.0.0.1"], ["10.0.0.1"]]})
    result = await fetch(tool(session, resolver=resolver), f"http://rebind.test:{server.port}/echo")
    assert loads(result) == {"host": f"rebind.test:{server.port}", "path": "/echo"}
    assert resolver.calls == [("rebind.test", server.port)]
    assert seen.dns_lookups == []  # the connector never resolved anything itself
    assert seen.attempts == ["127.0.0.1"]


async def test_fetch_url_tries_the_next_vetted_address_when_one_refuses(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    session, seen = traffic
    # Nothing listens on [::1]:port (the server is on 127.0.0.1 only).
    resolver = fake_resolver({"dual.test": ["::1", "127.0.0.1"]})
    t = tool(session, allowlist=("dual.test",), resolver=resolver)
    result = await fetch(t, f"http://dual.test:{server.port}/text")
    assert result.endswith("kept as is")
    assert seen.attempts == ["::1", "127.0.0.1"]


async def test_fetch_url_allowlisted_hostname_is_served(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    session, _ = traffic
    resolver = fake_resolver({"wiki.internal": ["127.0.0.1"]})
    t = tool(session, allowlist=("wiki.internal",), resolver=resolver)
    result = await fetch(t, f"http://wiki.internal:{server.port}/echo?q=1#frag")
    assert loads(result) == {"host": f"wiki.internal:{server.port}", "path": "/echo?q=1"}


async def test_fetch_url_each_redirect_hop_is_vetted_and_followed(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    session, seen = traffic
    resolver = fake_resolver({"origin.test": ["127.0.0.1"], "wiki.internal": ["127.0.0.1"]})
    start = f"http://origin.test:{server.port}/redirect?to=http://wiki.internal:{server.port}/html"
    t = tool(session, allowlist=("origin.test",), resolver=resolver)
    with pytest.raises(ToolError, match=r"wiki\.internal resolves to 127\.0\.0\.1"):
        await fetch(t, start)
    assert seen.attempts == ["127.0.0.1"]
    t = tool(session, allowlist=("origin.test", "wiki.internal"), resolver=resolver)
    result = await fetch(t, start)
    assert result.startswith(f"URL: http://wiki.internal:{server.port}/html (after 1 redirect)")
    assert "Title: Test Page" in result
    assert seen.attempts == ["127.0.0.1"] * 3


async def test_fetch_url_stops_after_five_redirects(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    session, seen = traffic
    with pytest.raises(ToolError, match="too many redirects"):
        await fetch(tool(session), server.url("/loop/0"))
    assert len(seen.attempts) == 6


async def test_fetch_url_ipv6_loopback_when_allowlisted(
    start_server: object, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    try:
        server = await start_server("::1")  # type: ignore[operator]
    except OSError:
        pytest.skip("no IPv6 loopback here")
    session, seen = traffic
    with pytest.raises(ToolError, match="loopback"):
        await fetch(tool(session), server.url("/text"))
    result = await fetch(tool(session, allowlist=("::1/128",)), server.url("/text"))
    assert result.endswith("kept as is")
    assert seen.attempts == ["::1"]


# --- content ------------------------------------------------------------------------------


async def test_fetch_url_html_becomes_text_with_title(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    result = await fetch(tool(traffic[0]), server.url("/html"))
    header, text = result.split("\n\n", 1)
    assert "Title: Test Page" in header and "Content-Type: text/html" in header
    assert text == "Heading\n\nFirst paragraph with a link.\n\n- one\n- two"


async def test_fetch_url_json_and_text_are_returned_as_is(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    t = tool(traffic[0])
    assert loads(await fetch(t, server.url("/json"))) == {"answer": 42, "items": ["a", "b"]}
    assert "Content-Type: application/json" in await fetch(t, server.url("/json"))


async def test_fetch_url_decodes_declared_charset_and_gzip(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    t = tool(traffic[0])
    assert (await fetch(t, server.url("/latin1"))).endswith("café")
    assert (await fetch(t, server.url("/gzip"))).endswith("squeezed " * 99 + "squeezed")


async def test_fetch_url_refuses_binary_content_type(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    with pytest.raises(ToolError, match="sent image/png, which fetch_url does not read"):
        await fetch(tool(traffic[0]), server.url("/binary"))


async def test_fetch_url_http_error_status_is_a_tool_error(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    with pytest.raises(ToolError, match="answered HTTP 404 Not Found"):
        await fetch(tool(traffic[0]), server.url("/status/404"))


async def test_fetch_url_truncates_at_max_bytes(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    result = await fetch(tool(traffic[0], max_bytes=1000), server.url("/big"))
    assert "only the first 1,000 bytes were read" in result
    assert result.split("\n\n", 1)[1] == "x" * 1000


async def test_fetch_url_stops_reading_an_endless_body(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    t = tool(traffic[0], max_bytes=100_000, max_chars=200_000)
    result = await fetch(t, server.url("/endless"))
    assert "truncated" in result
    assert result.split("\n\n", 1)[1] == "y" * 100_000


async def test_fetch_url_cuts_a_decompression_bomb_at_max_bytes(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    result = await fetch(tool(traffic[0], max_bytes=10_000), server.url("/bomb"))
    assert "only the first 10,000 bytes were read" in result


async def test_fetch_url_limits_characters_shown(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    result = await fetch(tool(traffic[0], max_chars=500), server.url("/big"))
    assert "only the first 500 characters are shown" in result
    assert result.split("\n\n", 1)[1] == "x" * 500


async def test_fetch_url_times_out(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    with pytest.raises(ToolError, match=r"did not finish answering within 0\.2 seconds"):
        await fetch(tool(traffic[0], timeout_s=0.2), server.url("/slow"))


# --- input checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [("ftp://example.com/file", "only http:// and https://"),
     ("example.com/page", "only http:// and https://"),
     ("http:///path", "no host"),
     ("http://user:pw@example.com/", "user name or password"),
     ("http://example.com:99999/", "invalid port|not a valid URL"),
     ("", "non-empty"),
     ("http://[::1/", "not a valid URL")],
)  # fmt: skip
async def test_fetch_url_rejects_bad_urls(
    url: str, message: str, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    session, seen = traffic
    with pytest.raises(ToolError, match=message):
        await fetch(tool(session), url)
    assert seen.attempts == []


async def test_fetch_url_unresolvable_host(traffic: tuple[aiohttp.ClientSession, Traffic]) -> None:
    with pytest.raises(ToolError, match=r"could not resolve host nowhere\.test"):
        await fetch(tool(traffic[0]), "http://nowhere.test/")


async def test_fetch_url_connection_refused_is_a_tool_error(
    server: LocalServer, traffic: tuple[aiohttp.ClientSession, Traffic]
) -> None:
    # Nothing listens on port 1 of loopback.
    with pytest.raises(ToolError, match=r"could not connect to 127\.0\.0\.1"):
        await fetch(tool(traffic[0]), "http://127.0.0.1:1/")


async def test_fetch_url_refuses_sessions_carrying_credentials() -> None:
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer x"}) as session:
        with pytest.raises(ValueError, match="Authorization"):
            make_fetch_url_tool(session)
    async with new_fetch_session() as session:
        assert make_fetch_url_tool(session).name == "fetch_url"


def test_fetch_url_summarize_shows_host_and_path() -> None:
    assert summarize_fetch({"url": "https://example.com/a/b?token=secret"}) == "example.com/a/b"
    assert summarize_fetch({"url": "https://example.com/"}) == "example.com"
    assert len(summarize_fetch({"url": "https://example.com/" + "p" * 200})) == 80
