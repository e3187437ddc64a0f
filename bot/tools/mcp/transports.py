"""The SDK transport for one server config, wrapped so the supervisor knows when it ends.

stdio: the SDK's `stdio_client` (it spawns the command in its own process group and, on
close, closes stdin, waits, then terminates and kills the whole tree), with the child's stderr
going to a `StderrTail`. HTTP: the SDK's `streamable_http_client` over an `httpx2` client that
carries the configured headers. Either way the read stream is wrapped: when it ends (the child
exited, the connection dropped) `on_end` is called, which is how a crash is noticed without
waiting for the next call.

The SDK refuses a whole `tools/list` page when one tool's input schema lacks `type: object`
(or has another type), which would make every tool of such a server unusable; the wrapper
therefore repairs each listing as it arrives (`schemas.repair_listing`) so the others work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from types import TracebackType

import anyio
import httpx2
from mcp.client import Transport

# The SDK names its stream types only in this module; the transports themselves import them so.
from mcp.client._transport import ReadStream, TransportStreams
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import SessionMessage
from mcp.types import JSONRPCResponse

from bot.tools.mcp.config import McpServerConfig
from bot.tools.mcp.schemas import repair_listing
from bot.tools.mcp.stderr import StderrTail

Incoming = SessionMessage | Exception
# Connect, write and pool like the SDK's own default; reads wait long (a stream may idle).
HTTP_TIMEOUT = httpx2.Timeout(30.0, read=300.0)


async def open_transport(
    config: McpServerConfig,
    stack: AsyncExitStack,
    tail: StderrTail | None,
    on_end: Callable[[], None],
    unusable: dict[str, str],
) -> Transport:
    """A transport for `config`, not yet entered; resources it needs go on `stack`.

    Tool listings are repaired on their way in (see `repair_listing`), the tools that could
    not be noted in `unusable`."""
    if config.command:
        if tail is None:
            raise ValueError("a stdio server needs a StderrTail")
        params = StdioServerParameters(
            command=config.command[0], args=list(config.command[1:]), env=dict(config.env) or None
        )
        errlog = await tail.open()
        stack.callback(tail.close)
        stdio = stdio_client(params, errlog=errlog)
        return _watched(stdio, tail.child_started, on_end, unusable)
    assert config.url is not None
    http = await stack.enter_async_context(
        httpx2.AsyncClient(headers=dict(config.headers), timeout=HTTP_TIMEOUT)
    )
    streamable = streamable_http_client(config.url, http_client=http)
    return _watched(streamable, _nothing, on_end, unusable)


def _nothing() -> None:
    return None


@asynccontextmanager
async def _watched(
    transport: Transport,
    on_open: Callable[[], None],
    on_end: Callable[[], None],
    unusable: dict[str, str],
) -> AsyncIterator[TransportStreams]:
    async with transport as (read, write):
        on_open()
        yield _Watch(read, on_end, unusable), write


class _Watch:
    """A read stream that repairs tool listings and calls `on_end` once when it ends."""

    def __init__(
        self, inner: ReadStream[Incoming], on_end: Callable[[], None], unusable: dict[str, str]
    ) -> None:
        self._inner = inner
        self._on_end: Callable[[], None] | None = on_end
        self._unusable = unusable

    def _seen(self, item: Incoming) -> Incoming:
        if isinstance(item, SessionMessage) and isinstance(item.message, JSONRPCResponse):
            repair_listing(item.message.result, self._unusable)
        return item

    def _ended(self) -> None:
        if self._on_end is not None:
            on_end, self._on_end = self._on_end, None
            on_end()

    async def receive(self) -> Incoming:
        try:
            return self._seen(await self._inner.receive())
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._ended()
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> _Watch:
        return self

    async def __anext__(self) -> Incoming:
        try:
            return self._seen(await self._inner.__anext__())
        except (StopAsyncIteration, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._ended()
            raise

    async def __aenter__(self) -> _Watch:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool | None:
        self._ended()
        return await self._inner.__aexit__(exc_type, exc_val, exc_tb)
