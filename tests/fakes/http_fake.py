"""What every fake LLM endpoint shares: the answer format (`Scripted`), serving on 127.0.0.1,
recording requests, choosing the next answer, and playing it (delays, stalls, cuts).

`FakeHTTPServer` is the base dataclass of `FakeLLMServer`, `FakeAnthropicServer` and
`FakeResponsesServer`. It owns their common fields (`strict`, `models`, `api_key`,
`responder`, `requests`, `disconnects`, `port`), `base_url`, `enqueue`, `reset`, the
`GET /v1/models` route, `disconnects` and `disconnected`; `start`/`close`/`async with` come
from `LoopbackServer`. A subclass says what is its own:

    _add_routes(router)        # its POST route(s)
    _refusal(request)          # its answer to a missing or wrong key, or None
    _model_list()              # its `/v1/models` document
    _default_script(body)      # its answer when nothing is queued and no responder is set
    _issue(script)             # remember what an answer hands out, to check what comes back

and its POST handler reads the body with `_record_body`, validates, then returns
`_answer(request, body)`: the next queued `Scripted` (FIFO), else `responder(body)`, else the
default, played by `_play`. No pytest imports here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from abc import abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

__all__ = [
    "FakeHTTPServer",
    "RecordedRequest",
    "Scripted",
    "json_error",
]


@dataclass
class Scripted:
    """One answer to one request: a status, headers, and either a whole body or SSE writes."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # a whole (non-SSE) body, e.g. an error JSON
    writes: list[bytes] = field(default_factory=list)  # SSE bytes, one write each
    delay: float = 0.0  # before each write
    headers_delay: float = 0.0  # before the status line (first-byte timeouts)
    cut_after: int | None = None  # close the connection after this many writes
    stall_after: int | None = None  # stop after this many writes for `stall_seconds`
    stall_seconds: float = 3600.0
    stall_until: asyncio.Event | None = None  # set: the stall ends early
    content_type: str = "text/event-stream"


@dataclass
class RecordedRequest:
    """One request as the fake received it; `rejected` says why a strict fake refused it."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any = None
    rejected: str | None = None


@dataclass
class FakeHTTPServer(LoopbackServer):
    strict: bool = True
    models: list[str] = field(default_factory=list)
    api_key: str | None = None
    responder: Callable[[dict[str, Any]], Scripted] | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    disconnects: int = 0
    port: int = 0  # 0: a free port is chosen at start

    # aiohttp's default limit on a request body; a fake whose clients send more raises it.
    _client_max_size: ClassVar[int] = 1024**2

    def __post_init__(self) -> None:
        self._queue: deque[Scripted] = deque()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.disconnected = asyncio.Event()
        self._recorded = asyncio.Event()  # set and replaced at each recording

    @property
    def root_url(self) -> str:
        """The server root, as official SDKs that append `/v1/...` themselves want it."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def reset(self) -> None:
        """Forget queued answers and recorded requests (between scenarios of one test)."""
        self._queue.clear()
        self.requests.clear()

    def enqueue(self, *responses: Scripted) -> None:
        self._queue.extend(responses)

    async def wait_for_requests(
        self,
        n: int,
        path_suffix: str = "",
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[RecordedRequest]:
        """Once `n` requests whose path ends with `path_suffix` are recorded: those requests.
        Woken by each recording (a fake Discord's `wait_for` only wakes on Discord's state)."""

        def matching() -> list[RecordedRequest]:
            return [r for r in self.requests if r.path.endswith(path_suffix)]

        async with asyncio.timeout(timeout):
            while len(found := matching()) < n:
                await self._recorded.wait()
        return found

    def _make_runner(self) -> web.AppRunner:
        app = web.Application(client_max_size=self._client_max_size)
        app.router.add_get("/v1/models", self._models)
        self._add_routes(app.router)
        # handler_cancellation: a client that hangs up cancels its handler (ends stalls), and
        # a short shutdown_timeout keeps a stalled stream from holding up close().
        return web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)

    async def _before_close(self) -> None:
        self._closing = True

    # --- what a fake defines --------------------------------------------------------------

    @abstractmethod
    def _add_routes(self, router: web.UrlDispatcher) -> None: ...

    @abstractmethod
    def _refusal(self, request: web.Request) -> web.Response | None: ...

    @abstractmethod
    def _model_list(self) -> dict[str, Any]: ...

    @abstractmethod
    def _default_script(self, body: Any) -> Scripted: ...

    @abstractmethod
    def _issue(self, script: Scripted) -> None:
        """Remember what `script` hands out (checked when it comes back), before it plays."""

    # --- handling -------------------------------------------------------------------------

    def _record(self, method: str, request: web.Request, body: Any = None) -> RecordedRequest:
        record = RecordedRequest(method, request.path, dict(request.headers), body)
        self.requests.append(record)
        self._recorded.set()  # wakes every waiter; the next ones wait on a fresh event
        self._recorded = asyncio.Event()
        return record

    async def _record_body(self, request: web.Request) -> tuple[Any, RecordedRequest]:
        """The request's JSON body (None when it is not JSON), recorded with the request."""
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        return body, self._record("POST", request, body)

    async def _models(self, request: web.Request) -> web.StreamResponse:
        self._record("GET", request)
        refused = self._refusal(request)
        if refused is not None:
            return refused
        return web.json_response(self._model_list())

    async def _answer(self, request: web.Request, body: Any) -> web.StreamResponse:
        if self._queue:
            script = self._queue.popleft()
        elif self.responder is not None:
            script = self.responder(body)
        else:
            script = self._default_script(body)
        self._issue(script)
        return await self._play(request, script)

    async def _play(self, request: web.Request, script: Scripted) -> web.StreamResponse:
        if script.headers_delay:
            await asyncio.sleep(script.headers_delay)
        if script.body is not None or script.status >= 300:
            return web.Response(
                status=script.status,
                body=script.body or b"",
                headers=script.headers,
                content_type=script.content_type,
            )
        response = web.StreamResponse(status=script.status, headers=script.headers)
        response.content_type = script.content_type
        response.headers["Cache-Control"] = "no-cache"
        await response.prepare(request)
        try:
            for n, data in enumerate(script.writes):
                if script.cut_after is not None and n >= script.cut_after:
                    _cut(request)
                    return response
                if script.stall_after is not None and n == script.stall_after:
                    await _stall(script)
                if script.delay:
                    await asyncio.sleep(script.delay)
                await response.write(data)
            if script.cut_after is not None:
                _cut(request)
                return response
            if script.stall_after is not None and script.stall_after >= len(script.writes):
                await _stall(script)
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            self._client_left()
            raise
        return response

    def _client_left(self) -> None:
        # Handlers cancelled by close() are not clients that left.
        if self._closing:
            return
        self.disconnects += 1
        self.disconnected.set()


def _cut(request: web.Request) -> None:
    """Drop the TCP connection without ending the chunked body (a provider crash)."""
    transport = request.transport
    if transport is not None:
        transport.abort()


def json_error(status: int, body: bytes) -> web.Response:
    """An error answer with a JSON body already in the provider's own shape."""
    return web.Response(status=status, body=body, content_type="application/json")


async def _stall(script: Scripted) -> None:
    """Stop writing for `stall_seconds`, or until `stall_until` is set."""
    if script.stall_until is None:
        await asyncio.sleep(script.stall_seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(script.stall_until.wait(), script.stall_seconds)
