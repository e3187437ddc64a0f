"""Fixtures for the tool tests: a local HTTP server on 127.0.0.1, a fake DNS resolver and a
client session that counts (and, as a safety net, forbids) connections beyond loopback."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

LOOPBACK = frozenset({"127.0.0.1", "::1"})


class LoopbackOnlyConnector(aiohttp.TCPConnector):
    """Counts every connection request; refuses outright any host that is not loopback, so
    a guard bug can never make a test send traffic elsewhere."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.attempts: list[str] = []

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:  # noqa: ASYNC109
        host = req.url.raw_host
        self.attempts.append(host)
        if host not in LOOPBACK:
            raise AssertionError(f"test tried to connect to non-loopback host {host!r}")
        return await super().connect(req, traces, timeout)


@dataclass
class Traffic:
    connector: LoopbackOnlyConnector
    dns_lookups: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def attempts(self) -> list[str]:
        return self.connector.attempts


@pytest.fixture
async def traffic() -> AsyncIterator[tuple[aiohttp.ClientSession, Traffic]]:
    connector = LoopbackOnlyConnector()
    record = Traffic(connector)
    trace = aiohttp.TraceConfig()

    async def on_dns(_s: Any, _c: Any, params: aiohttp.TraceDnsResolveHostStartParams) -> None:
        record.dns_lookups.append(params.host)

    async def on_request(_s: Any, _c: Any, params: aiohttp.TraceRequestStartParams) -> None:
        record.requests.append(str(params.url))

    trace.on_dns_resolvehost_start.append(on_dns)
    trace.on_request_start.append(on_request)
    async with aiohttp.ClientSession(
        connector=connector, trace_configs=[trace], cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        yield session, record


@dataclass
class FakeResolver:
    """host → addresses; a list of answers per host is served one per call (rebinding)."""

    answers: dict[str, list[list[str]]]
    calls: list[tuple[str, int]] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append((host, port))
        if host not in self.answers:
            raise OSError(-2, "Name or service not known")
        queue = self.answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]


def fake_resolver(mapping: dict[str, list[str] | list[list[str]]]) -> FakeResolver:
    answers: dict[str, list[list[str]]] = {}
    for host, value in mapping.items():
        nested = bool(value) and isinstance(value[0], list)
        answers[host] = [list(v) for v in value] if nested else [list(value)]  # type: ignore[arg-type]
    return FakeResolver(answers)


PAGE = """<!doctype html><html><head><title>Test  Page</title>
<style>body { color: red }</style><script>document.write("<p>hidden</p>")</script></head>
<body><h1>Heading</h1><p>First   paragraph with <a href="/x">a link</a>.</p>
<ul><li>one</li><li>two</li></ul><noscript>enable js</noscript></body></html>"""


def _app(stop: asyncio.Event) -> web.Application:
    routes = web.RouteTableDef()

    @routes.get("/html")
    async def html(_r: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    @routes.get("/json")
    async def json_(_r: web.Request) -> web.Response:
        return web.json_response({"answer": 42, "items": ["a", "b"]})

    @routes.get("/text")
    async def text(_r: web.Request) -> web.Response:
        return web.Response(text="plain\ntext  kept as is")

    @routes.get("/latin1")
    async def latin1(_r: web.Request) -> web.Response:
        return web.Response(
            body="café".encode("latin-1"), content_type="text/plain", charset="iso-8859-1"
        )

    @routes.get("/binary")
    async def binary(_r: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG\r\n\x1a\n" + bytes(100), content_type="image/png")

    @routes.get("/gzip")
    async def gzipped(_r: web.Request) -> web.Response:
        body = gzip.compress(b"squeezed " * 100)
        return web.Response(
            body=body, content_type="text/plain", headers={"Content-Encoding": "gzip"}
        )

    @routes.get("/bomb")
    async def bomb(_r: web.Request) -> web.Response:
        # ~20 KB on the wire, 20 MB once inflated.
        body = gzip.compress(bytes(20_000_000), compresslevel=9)
        return web.Response(
            body=body, content_type="text/plain", headers={"Content-Encoding": "gzip"}
        )

    @routes.get("/big")
    async def big(_r: web.Request) -> web.Response:
        return web.Response(text="x" * 50_000)

    @routes.get("/endless")
    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        try:
            while not stop.is_set():
                await response.write(b"y" * 16_384)
                await asyncio.sleep(0)
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    @routes.get("/slow")
    async def slow(_r: web.Request) -> web.Response:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=10)
        return web.Response(text="too late")

    @routes.get("/status/{code}")
    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="nope")

    @routes.get("/redirect")
    async def redirect(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": request.query["to"]})

    @routes.get("/loop/{n}")
    async def loop(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        return web.Response(status=301, headers={"Location": f"/loop/{n + 1}"})

    @routes.get("/echo")
    async def echo(request: web.Request) -> web.Response:
        seen = {"host": request.headers.get("Host"), "path": request.path_qs}
        return web.json_response(seen)

    app = web.Application()
    app.add_routes(routes)
    return app


@dataclass
class LocalServer:
    base: str  # e.g. http://127.0.0.1:43567
    port: int

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


ServerFactory = Callable[..., Awaitable[LocalServer]]


@pytest.fixture
async def start_server() -> AsyncIterator[ServerFactory]:
    """Start the test app on a loopback address (port 0); stopped at teardown."""
    stop = asyncio.Event()
    runners: list[web.AppRunner] = []

    async def start(host: str = "127.0.0.1", ssl_context: Any = None) -> LocalServer:
        runner = web.AppRunner(_app(stop), shutdown_timeout=1)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
        await site.start()
        port = runner.addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        scheme = "https" if ssl_context else "http"
        return LocalServer(f"{scheme}://{shown}:{port}", port)

    yield start
    stop.set()
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def server(start_server: ServerFactory) -> LocalServer:
    return await start_server()


def loads(text: str) -> Any:
    """The JSON body after format_page's header lines."""
    return json.loads(text.split("\n\n", 1)[1])
