"""The `fetch_url` tool: an HTTP GET that returns readable text, guarded against SSRF.

Every hop (the first URL and each redirect) is vetted the same way: the host is resolved
once by our own resolver, every resolved address is checked by `netguard.AddressPolicy`,
and the request is then sent to a vetted IP literal (with the original `Host` header and TLS
server name), so the connector never does a DNS lookup of its own and a rebinding DNS answer
cannot slip in between check and connect. Redirects are followed by hand (at most 5).
The body is read up to `max_bytes` (then cut, and said so) within one total timeout.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import aiohttp
from yarl import URL

from bot.llm.tools import Tool, ToolContext, ToolError
from bot.tools.html_text import html_to_text
from bot.tools.netguard import AddressPolicy, IPAddress, normalize_host, parse_ip

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], Awaitable[Sequence[str | IPAddress]]]

MAX_REDIRECTS = 5
DEFAULT_MAX_CHARS = 20_000
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_USER_AGENT = "Switchboard-fetch_url/0.1 (+https://github.com/switchboard-bot)"
_JSON_TYPES = frozenset({"application/json", "application/ld+json", "application/x-ndjson"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_TEXT_TYPES = frozenset(
    {"application/xml", "application/javascript", "application/x-yaml", "application/yaml"}
)
# Default headers a shared session may carry without leaking anything to fetched sites.
_HARMLESS_SESSION_HEADERS = frozenset({"user-agent", "accept", "accept-language"})
_META_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Resolve `host` with the event loop's getaddrinfo (the default resolver)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    found = (parse_ip(str(info[4][0])) for info in infos)
    return [address for address in found if address is not None]


def new_fetch_session() -> aiohttp.ClientSession:
    """A session suited to `fetch_url`: no cookies kept, no proxies from the environment."""
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), trust_env=False, headers={"User-Agent": _USER_AGENT}
    )


@dataclass(frozen=True, slots=True)
class FetchedPage:
    url: str  # the final URL, after redirects
    content_type: str
    title: str | None
    text: str
    truncated_bytes: bool  # the body was cut at max_bytes
    redirects: int


def _display(url: URL) -> str:
    return str(url.with_fragment(None))


def _content_kind(content_type: str, head: bytes) -> str | None:
    """ "html", "text" or None (refused), from the Content-Type, sniffing only when it's absent."""
    if content_type in _HTML_TYPES:
        return "html"
    if content_type in _JSON_TYPES or content_type.endswith(("+json", "+xml")):
        return "text"
    if content_type.startswith("text/") or content_type in _TEXT_TYPES:
        return "text"
    if content_type:
        return None
    if b"\x00" in head:
        return None
    start = head.lstrip()[:64].lower()
    return "html" if start.startswith((b"<!doctype html", b"<html")) else "text"


def _charset(declared: str | None, kind: str, body: bytes) -> str:
    candidates = [declared]
    if kind == "html" and (found := _META_CHARSET.search(body[:4096])):
        candidates.append(found.group(1).decode("ascii"))
    for name in candidates:
        if not name:
            continue
        try:
            return codecs.lookup(name).name
        except LookupError:
            continue
    return "utf-8"


class _Fetcher:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        policy: AddressPolicy,
        resolver: Resolver,
        max_bytes: int,
        timeout_s: float,
    ) -> None:
        self._session = session
        self._policy = policy
        self._resolver = resolver
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s

    async def fetch(self, raw_url: str) -> FetchedPage:
        url = self._parse(raw_url)
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._follow(url)
        except TimeoutError:
            raise ToolError(
                f"{url.host} did not finish answering within {self._timeout_s:g} seconds"
            ) from None

    @staticmethod
    def _parse(raw_url: str, base: URL | None = None) -> URL:
        try:
            url = URL(raw_url.strip())
            if base is not None:
                url = base.join(url)
        except (ValueError, TypeError):
            raise ToolError(f"{raw_url!r} is not a valid URL") from None
        if url.scheme not in ("http", "https"):
            shown = url.scheme or "no scheme"
            raise ToolError(f"only http:// and https:// URLs can be fetched (got {shown})")
        if not url.raw_host:
            raise ToolError(f"{raw_url!r} has no host name")
        if url.user is not None or url.password is not None:
            raise ToolError("URLs with a user name or password are not fetched")
        try:
            _ = url.port
        except ValueError:
            raise ToolError(f"{raw_url!r} has an invalid port") from None
        return url

    async def _follow(self, url: URL) -> FetchedPage:
        for hop in range(MAX_REDIRECTS + 1):
            addresses = await self._vet(url)
            response = await self._connect(url, addresses)
            async with response:
                if response.status in _REDIRECT_STATUSES:
                    location = response.headers.get("Location")
                    if not location:
                        raise ToolError(f"{url.host} sent a redirect without a Location")
                    url = self._parse(location, base=url)
                    continue
                if response.status >= 400:
                    status = f"{response.status} {response.reason or ''}".rstrip()
                    raise ToolError(f"{url.host} answered HTTP {status}")
                return await self._read(url, response, hop)
        raise ToolError(f"too many redirects (more than {MAX_REDIRECTS})")

    async def _vet(self, url: URL) -> list[IPAddress]:
        """The addresses this hop may connect to; raises ToolError (no connection) otherwise."""
        host = url.raw_host or ""
        if refusal := self._policy.check_host(host):
            self._refuse(url, refusal)
        literal = parse_ip(normalize_host(host))
        if literal is not None:
            addresses = [literal]
        else:
            try:
                resolved = await self._resolver(host, url.port or 0)
            except OSError as exc:
                raise ToolError(f"could not resolve host {host} ({exc.strerror or exc})") from None
            addresses = list(dict.fromkeys(a for a in map(_as_ip, resolved) if a is not None))
            if not addresses:
                raise ToolError(f"could not resolve host {host}")
        for address in addresses:
            if refusal := self._policy.check_address(host, address):
                self._refuse(url, refusal)
        return addresses

    @staticmethod
    def _refuse(url: URL, reason: str) -> NoReturn:
        log.info("fetch_url refused host %s: %s", url.host, reason)
        raise ToolError(
            f"refused to fetch {_display(url)}: {reason}. fetch_url only reaches public "
            "internet addresses unless the bot's operator allow-lists them (FETCH_URL_ALLOWLIST)"
        )

    async def _connect(self, url: URL, addresses: list[IPAddress]) -> aiohttp.ClientResponse:
        host = (url.raw_host or "").rstrip(".")
        is_literal = parse_ip(host) is not None
        headers = {
            "Host": url.host_port_subcomponent or host,
            "User-Agent": _USER_AGENT,
            "Accept": "text/html,application/xhtml+xml,application/json,text/plain;q=0.9,*/*;q=0.1",
        }
        last_error: aiohttp.ClientConnectorError | None = None
        for address in addresses:
            target = url.with_host(str(address)).with_fragment(None)
            try:
                return await self._session.get(
                    target,
                    headers=headers,
                    allow_redirects=False,
                    raise_for_status=False,
                    server_hostname=None if is_literal else host,
                    middlewares=(),
                )
            except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError):
                raise ToolError(
                    f"the TLS certificate of {url.host} could not be verified"
                ) from None
            except aiohttp.ClientConnectorError as exc:
                last_error = exc
                log.debug("fetch_url could not connect to %s (%s): %s", url.host, address, exc)
            except aiohttp.ClientError as exc:
                failure = type(exc).__name__
                raise ToolError(f"the request to {url.host} failed ({failure})") from None
        detail = f": {last_error.os_error.strerror}" if last_error and last_error.os_error else ""
        raise ToolError(f"could not connect to {url.host}{detail}")

    async def _read(self, url: URL, response: aiohttp.ClientResponse, hops: int) -> FetchedPage:
        content_type = (response.headers.get("Content-Type") or "").split(";", 1)[0]
        content_type = content_type.strip().lower()
        if content_type and _content_kind(content_type, b"") is None:
            raise ToolError(
                f"{url.host} sent {content_type}, which fetch_url does not read "
                "(only HTML, JSON, XML and plain text)"
            )
        body, truncated = await self._read_limited(url, response)
        log.debug("fetch_url read %d bytes from %s (truncated=%s)", len(body), url.host, truncated)
        kind = _content_kind(content_type, body[:512])
        if kind is None:
            raise ToolError(f"{url.host} sent binary data without a content type")
        encoding = _charset(response.charset, kind, body)
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        # A cut body may end inside a multi-byte character: keep that tail out, not as "?".
        text = decoder.decode(body, final=not truncated)
        title: str | None = None
        if kind == "html":
            title, text = html_to_text(text)
        return FetchedPage(
            url=_display(url),
            content_type=content_type or "unknown",
            title=title,
            text=text.strip(),
            truncated_bytes=truncated,
            redirects=hops,
        )

    async def _read_limited(self, url: URL, response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.content.iter_chunked(64 * 1024):
                room = self._max_bytes - size
                if len(chunk) > room:
                    chunks.append(chunk[:room])
                    response.close()  # stop the download; the connection is not reused
                    return b"".join(chunks), True
                chunks.append(chunk)
                size += len(chunk)
        except aiohttp.ClientError as exc:
            raise ToolError(f"reading from {url.host} failed ({type(exc).__name__})") from None
        return b"".join(chunks), False


def _as_ip(value: str | IPAddress) -> IPAddress | None:
    return value if not isinstance(value, str) else parse_ip(value)


def format_page(page: FetchedPage, *, max_bytes: int, max_chars: int) -> str:
    """The text the model sees: where it came from, its title, then the readable text."""
    lines = [f"URL: {page.url}"]
    if page.redirects:
        lines[0] += f" (after {page.redirects} redirect{'s' if page.redirects > 1 else ''})"
    if page.title:
        lines.append(f"Title: {page.title}")
    lines.append(f"Content-Type: {page.content_type}")
    text = page.text
    if page.truncated_bytes:
        lines.append(f"Note: truncated — only the first {max_bytes:,} bytes were read.")
    if len(text) > max_chars:
        text = text[:max_chars].rstrip()
        lines.append(f"Note: truncated — only the first {max_chars:,} characters are shown.")
    lines.append("")
    lines.append(text or "(the page has no readable text)")
    return "\n".join(lines)


def summarize_fetch(arguments: Mapping[str, Any]) -> str:
    """`host/path` of the URL, short enough for the Discord tool line."""
    raw = str(arguments.get("url", ""))
    try:
        url = URL(raw)
        shown = f"{url.host or ''}{url.path if url.path != '/' else ''}" or raw
    except (ValueError, TypeError):
        shown = raw
    return shown if len(shown) <= 80 else shown[:79] + "…"


def _check_session(session: aiohttp.ClientSession) -> None:
    # A session shared with the LLM client could carry its API key to every fetched site.
    risky = sorted(k for k in session.headers if k.lower() not in _HARMLESS_SESSION_HEADERS)
    if risky or session.auth is not None:
        raise ValueError(
            "fetch_url needs a session without credentials or custom default headers "
            f"(found: {', '.join(risky) or 'auth'}); use new_fetch_session()"
        )


def make_fetch_url_tool(
    session: aiohttp.ClientSession,
    *,
    allowlist: Iterable[str] = (),
    max_bytes: int = 1_000_000,
    timeout_s: float = 15,
    resolver: Resolver | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    tool_timeout_s: float | None = None,
) -> Tool:
    """Build `fetch_url` over `session` (never closed here; its owner closes it).

    `allowlist` holds hostnames (`wiki.internal`, `*.corp`) and/or networks (`10.0.0.0/8`)
    that may be fetched even though they are private. `resolver(host, port)` returns the
    host's addresses (default: the loop's getaddrinfo); tests inject a fake one.
    """
    _check_session(session)
    fetcher = _Fetcher(
        session,
        AddressPolicy.from_allowlist(allowlist),
        resolver or system_resolver,
        max_bytes,
        timeout_s,
    )

    async def fetch_url(ctx: ToolContext, url: str) -> str:
        if not isinstance(url, str) or not url.strip():
            raise ToolError("url must be a non-empty string")
        page = await fetcher.fetch(url)
        return format_page(page, max_bytes=max_bytes, max_chars=max_chars)

    return Tool(
        name="fetch_url",
        description=(
            "Fetch a public web page or API over HTTP(S) GET and return its readable text "
            "(HTML is converted to text; JSON and plain text are returned as is). Large pages "
            "are truncated. Private and local network addresses are refused."
        ),
        parameters={
            "type": "object",
            "properties": {
                "url": {
                    "type": "string",
                    "description": "Absolute http:// or https:// URL to fetch.",
                }
            },
            "required": ["url"],
            "additionalProperties": False,
        },
        handler=fetch_url,
        timeout_s=tool_timeout_s if tool_timeout_s is not None else timeout_s + 5,
        summarize=summarize_fetch,
    )
