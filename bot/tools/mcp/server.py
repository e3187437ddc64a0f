"""One MCP server kept running: `ServerSupervisor` connects, lists, watches and restarts it.

A supervision task per server (`start()`) connects with the SDK's `Client` (protocol era
negotiated by the SDK: `server/discover`, else the initialize handshake), lists the tools
(every page) within `Timing.start_timeout_s`, then stays connected until one of:

- the server exits or the connection drops (the transport's read stream ends);
- a call times out and a health probe (a `tools/list` within `health_timeout_s`) fails:
  the server is hung, so it is closed (stdio: stdin closed, then SIGTERM, then SIGKILL);
- `stop()`.

Then, unless stopping, it reconnects after an exponential backoff (`backoff_initial_s`,
doubling up to `backoff_max_s`; back to the start once a connection lasted `stable_after_s`).
Tools are listed again on the server's `tools/list_changed`, as a notification (handshake
era) or on a `subscriptions/listen` stream (2026-07-28). While the server is down its last
tools stay listed and calls get a plain error for the model. `status()` is the one-line truth
for `/status` and `python -m bot check`.

Each start of a stdio server first waits for its turn (`StartGate`, shared by the manager's
servers: about one child per core starting at a time, since a start is mostly the child's
CPU) and gives the turn up once ready, failed, or after a short hold.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.client.subscriptions import ListenNotSupportedError
from mcp.shared.exceptions import MCPError
from mcp.types import (
    CONNECTION_CLOSED,
    REQUEST_TIMEOUT,
    CallToolResult,
    Implementation,
    ToolListChangedNotification,
)
from mcp.types import Tool as McpTool
from pydantic import ValidationError

from bot import __version__
from bot.llm.tools import ToolError
from bot.tools.mcp.catalog import RemoteTool, remote_tool
from bot.tools.mcp.config import McpServerConfig
from bot.tools.mcp.failures import start_failure, with_last_words
from bot.tools.mcp.gate import StartGate
from bot.tools.mcp.schemas import SchemaProblem
from bot.tools.mcp.status import McpServerStatus, ServerState
from bot.tools.mcp.stderr import StderrTail
from bot.tools.mcp.transports import open_transport

log = logging.getLogger(__name__)

MAX_PAGES = 100


def _no_turn() -> None:
    """The release of a start that took no turn."""


_CLIENT_INFO = Implementation(name="switchboard", version=__version__)


@dataclass(frozen=True, slots=True)
class Timing:
    start_timeout_s: float = 30.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 300.0
    stable_after_s: float = 60.0
    health_timeout_s: float = 5.0
    stop_timeout_s: float = 10.0


class ServerSupervisor:
    def __init__(
        self,
        config: McpServerConfig,
        timing: Timing,
        on_tools: Callable[[], None],
        gate: StartGate | None = None,
    ) -> None:
        self.config = config
        self.timing = timing
        # Stdio children take turns to start (see `StartGate`); HTTP servers never wait.
        self._gate = gate if config.command else None
        self.tools: tuple[RemoteTool, ...] = ()
        self.skipped: tuple[str, ...] = ()
        self.settled = asyncio.Event()  # the first attempt is over (ready or failed)
        self._on_tools = on_tools
        self._state: ServerState = "starting"
        self._last_error: str | None = None
        self._restarts = 0
        self._ever_ready = False
        self._ready_at: float | None = None
        self._protocol: str | None = None
        self._client: Client | None = None
        self._tail: StderrTail | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()  # ends the current connection
        self._wake_reason: str | None = None
        self._changed = asyncio.Event()  # the server's tool list changed
        self._task: asyncio.Task[None] | None = None
        self._health: asyncio.Task[None] | None = None
        self._connecting: anyio.CancelScope | None = None
        self._unusable: dict[str, str] = {}  # tool → why, noted while its listing arrived

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def ready(self) -> bool:
        return self._state == "ready"

    def status(self) -> McpServerStatus:
        return McpServerStatus(
            self.name,
            self.config.transport,
            self._state,
            self._last_error,
            len(self.tools),
            self._restarts,
            self.skipped,
            self._protocol,
        )

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._supervise(), name=f"mcp:{self.name}")

    async def stop(self) -> None:
        self._stop.set()
        self._end_connection(None)
        if self._connecting is not None:
            self._connecting.cancel()
        tasks = [t for t in (self._task, self._health) if t is not None and not t.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.timing.stop_timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self._state = "stopped"

    async def call(self, tool: str, arguments: dict[str, Any], timeout_s: float) -> CallToolResult:
        """Call `tool`; every failure of the server or the connection is a `ToolError`."""
        client = self._client
        if client is None or not self.ready:
            raise ToolError(self._unavailable())
        try:
            return await client.call_tool(tool, arguments, read_timeout_seconds=timeout_s)
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                self._check_health(client)
                raise ToolError(
                    f"{tool} on the MCP server {self.name} did not answer within {timeout_s:g} s"
                ) from None
            if exc.code == CONNECTION_CLOSED:
                raise ToolError(
                    f"the MCP server {self.name} stopped during the call; it is being restarted"
                ) from None
            raise ToolError(f"the MCP server {self.name} refused the call: {exc.message}") from None
        except ValidationError:
            log.warning("mcp server %s: malformed result from %s", self.name, tool, exc_info=True)
            raise ToolError(f"the MCP server {self.name} sent a malformed result") from None
        except (OSError, httpx2.HTTPError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            self._check_health(client)
            raise ToolError(f"the MCP server {self.name} could not be reached") from None
        except RuntimeError as exc:  # e.g. the server asked for input the bot can't give
            raise ToolError(
                f"the MCP server {self.name} could not complete the call: {exc}"
            ) from None

    def _unavailable(self) -> str:
        why = f" ({self._last_error})" if self._last_error else ""
        if self._state == "restarting":
            return f"the MCP server {self.name} is restarting{why}; try again in a moment"
        return f"the MCP server {self.name} is not running{why}"

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while not self._stop.is_set():
            self._ready_at = None
            try:
                await self._connect_and_serve()
            except Exception as exc:
                self._last_error = start_failure(exc, self.config, self._tail)
            finally:
                self._client = None
            if self._stop.is_set():
                break
            lasted = loop.time() - self._ready_at if self._ready_at is not None else 0.0
            failures = 1 if lasted >= self.timing.stable_after_s else failures + 1
            delay = min(
                self.timing.backoff_initial_s * 2 ** (failures - 1), self.timing.backoff_max_s
            )
            self._state = "restarting" if self._ever_ready else "failed"
            self.settled.set()
            log.warning(
                "mcp server %s: %s; starting it again in %.1f s",
                self.name,
                self._last_error or "the connection ended",
                delay,
            )
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
            except TimeoutError:
                self._restarts += 1
        self._state = "stopped"
        self.settled.set()

    async def _connect_and_serve(self) -> None:
        release = await self._turn()
        if release is None:
            return  # stopped while waiting
        try:
            await self._connect_and_serve_now(release)
        finally:
            release()

    async def _turn(self) -> Callable[[], None] | None:
        """This server's turn to start (at once without a gate); None if stopped meanwhile."""
        if self._gate is None:
            return _no_turn
        with anyio.CancelScope() as waiting:  # stop() cancels it, like a start
            self._connecting = waiting
            release = await self._gate.turn()
        self._connecting = None
        if waiting.cancelled_caught or self._stop.is_set():
            if not waiting.cancelled_caught:
                release()
            return None
        return release

    async def _connect_and_serve_now(self, release_turn: Callable[[], None]) -> None:
        self._wake.clear()
        self._wake_reason = None
        self._tail = StderrTail(self.name) if self.config.command else None
        self._unusable.clear()
        start_timeout = self.timing.start_timeout_s
        # One scope around the whole connection (anyio scopes must nest): its deadline bounds
        # the start, and stop() cancels it while starting rather than cancelling the task, so
        # the SDK's shielded clean-up of the child process runs as it should.
        with anyio.CancelScope(deadline=anyio.current_time() + start_timeout) as scope:
            self._connecting = scope
            async with AsyncExitStack() as stack:
                transport = await open_transport(
                    self.config, stack, self._tail, self._closed, self._unusable
                )
                client = Client(
                    transport,
                    message_handler=self._on_message,
                    cache=None,
                    client_info=_CLIENT_INFO,
                )
                await stack.enter_async_context(client)
                await self._list(client)
                release_turn()  # started: the next server's turn
                scope.deadline = math.inf
                self._connecting = None
                if self._stop.is_set():
                    return
                self._client = client
                self._protocol = client.protocol_version
                self._mark_ready()
                async with anyio.create_task_group() as group:
                    group.start_soon(self._listen, client)
                    group.start_soon(self._relist_on_change, client)
                    await self._wake.wait()
                    group.cancel_scope.cancel()
                self._client = None
        self._connecting = None
        if scope.cancelled_caught and not self._stop.is_set():
            raise TimeoutError(f"did not start within {start_timeout:g} s")
        reason = self._ended_because()
        if reason is not None:
            self._last_error = with_last_words(reason, self._tail)

    def _closed(self) -> None:
        self._end_connection("the server exited")

    def _mark_ready(self) -> None:
        self._state = "ready"
        self._ever_ready = True
        self._ready_at = asyncio.get_running_loop().time()
        self.settled.set()
        log.info("mcp server %s: ready with %d tools", self.name, len(self.tools))
        self._on_tools()

    def _ended_because(self) -> str | None:
        return self._wake_reason

    def _end_connection(self, reason: str | None) -> None:
        """Close the current connection; `reason` None means we are stopping."""
        if self._wake_reason is None and reason is not None and not self._stop.is_set():
            self._wake_reason = reason
        self._wake.set()

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, ToolListChangedNotification):
            self._changed.set()
        elif isinstance(message, Exception):
            log.info("mcp server %s: transport error: %r", self.name, message)
            if self._client is not None:
                self._check_health(self._client)

    async def _listen(self, client: Client) -> None:
        """2026-07-28 servers announce tool changes on a listen stream (which the SDK also
        passes to the message handler); earlier ones send notifications unasked."""
        tools = client.server_capabilities.tools
        if tools is None or not tools.list_changed:
            return
        try:
            async with client.listen(tools_list_changed=True) as events:
                async for _event in events:
                    self._changed.set()
        except ListenNotSupportedError:
            return
        except Exception as exc:
            log.debug("mcp server %s: listen stream ended: %r", self.name, exc)

    async def _relist_on_change(self, client: Client) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            try:
                with anyio.fail_after(self.timing.start_timeout_s):
                    await self._list(client)
            except Exception as exc:
                log.warning("mcp server %s: listing tools again failed: %r", self.name, exc)
                self._check_health(client)

    async def _list(self, client: Client) -> None:
        listed: list[McpTool] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await client.list_tools(cursor=cursor)
            listed.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        tools: dict[str, RemoteTool] = {}
        skipped: list[str] = []
        for tool in listed:
            if tool.name in tools:
                continue
            try:
                if tool.name in self._unusable:
                    raise SchemaProblem(self._unusable[tool.name])
                tools[tool.name] = remote_tool(tool)
            except SchemaProblem as exc:
                skipped.append(f"{tool.name}: {exc}")
                log.warning("mcp server %s: tool %s skipped: %s", self.name, tool.name, exc)
        self.tools = tuple(tools.values())
        self.skipped = tuple(skipped)
        if self.ready:  # the first listing is announced by _mark_ready, with the state
            self._on_tools()

    def _check_health(self, client: Client) -> None:
        """Probe the server once (not twice at a time); a silent one is restarted."""
        if self._health is not None and not self._health.done():
            return
        self._health = asyncio.create_task(self._probe(client), name=f"mcp-health:{self.name}")

    async def _probe(self, client: Client) -> None:
        try:
            with anyio.fail_after(self.timing.health_timeout_s):
                await client.list_tools()
        except Exception as exc:
            if client is self._client:
                why = "it stopped answering" if isinstance(exc, TimeoutError) else repr(exc)
                log.warning("mcp server %s: %s; restarting it", self.name, why)
                self._end_connection(why)
