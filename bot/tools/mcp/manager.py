"""Every configured MCP server, and their tools as `bot.llm.tools.Tool`s: `McpManager`.

    manager = McpManager(load_mcp_servers(settings), default_timeout_s=20.0)
    await manager.start()          # all servers start in parallel; returns once each is ready
                                   # or failed, or after `startup_wait_s`, whichever is first
    registry = manager.tools()     # a ToolRegistry snapshot: SERVER__tool names
    manager.add_listener(callback) # called (synchronously) whenever that snapshot changes
    manager.status()               # one McpServerStatus per server, in config order
    manager.tool_info(name)        # McpToolInfo: server, remote name, annotations, needs_approval
    manager.set_approver(approve)  # async (ApprovalRequest) -> bool, asked before such calls
    await manager.stop()           # closes every session and child process

A server that is slow or missing holds up nobody: its tools appear (and listeners are told)
when it is ready, and one that never starts is retried with backoff and shows in `status()`.
Stdio servers take turns to start, about one per core at a time (`StartGate`), so the first
are usable after about a second rather than all of them after the machine has started every
child at once.

A call goes: arguments checked against the tool's input schema (the JSON Schema error is the
result, nothing is sent) → approval, when the tool needs it (no approver, a refusal or
`approval_timeout_s` without an answer is an error result) → the server, within the server's
`timeout_s` (else `default_timeout_s`) → `render_result`: text for the model, cut at
`max_result_chars`, with images on the returned `ToolOutput`. An `isError` result raises
`ToolError` with the server's text. Each `Tool.timeout_s` is the call timeout plus a margin
(plus `approval_timeout_s` for tools that need approval), so the loop's own timeout never
fires before ours, which says more.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from bot.llm.tool_runs import MAX_TOOL_RESULT_CHARS
from bot.llm.tools import Tool, ToolContext, ToolError, ToolRegistry
from bot.tools.mcp.catalog import McpToolInfo, RemoteTool
from bot.tools.mcp.config import McpServerConfig
from bot.tools.mcp.gate import StartGate
from bot.tools.mcp.results import ToolOutput, render_result
from bot.tools.mcp.schemas import argument_problem, exposed_name
from bot.tools.mcp.server import ServerSupervisor, Timing
from bot.tools.mcp.status import McpServerStatus

log = logging.getLogger(__name__)

# Room for the notes render_result adds, so the loop never cuts a result a second time.
RESULT_CHARS = MAX_TOOL_RESULT_CHARS - 1_000
CALL_MARGIN_S = 5.0


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    tool: McpToolInfo
    arguments: Mapping[str, Any]
    context: ToolContext


Approver = Callable[[ApprovalRequest], Awaitable[bool]]


class McpManager:
    def __init__(
        self,
        servers: Sequence[McpServerConfig],
        *,
        default_timeout_s: float = 20.0,
        startup_wait_s: float = 10.0,
        approver: Approver | None = None,
        approval_timeout_s: float = 600.0,
        timing: Timing | None = None,
        max_result_chars: int = RESULT_CHARS,
        start_gate: StartGate | None = None,
    ) -> None:
        names = [config.name for config in servers]
        if len(set(names)) != len(names):
            raise ValueError("MCP server names must be unique")
        self._default_timeout_s = default_timeout_s
        self._startup_wait_s = startup_wait_s
        self._approver = approver
        self._approval_timeout_s = approval_timeout_s
        self._max_result_chars = max_result_chars
        timing = timing or Timing()
        gate = start_gate or StartGate()
        self._supervisors = [ServerSupervisor(c, timing, self._rebuild, gate) for c in servers]
        self._tools: dict[str, tuple[Tool, McpToolInfo]] = {}
        self._listeners: list[Callable[[], None]] = []
        self.version = 0  # bumped whenever tools() changes

    async def start(self) -> None:
        for supervisor in self._supervisors:
            supervisor.start()
        waits = [asyncio.create_task(s.settled.wait()) for s in self._supervisors]
        if not waits:
            return
        _, pending = await asyncio.wait(waits, timeout=self._startup_wait_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        slow = [s.name for s in self._supervisors if not s.settled.is_set()]
        if slow:
            log.info("mcp servers still starting after %.0f s: %s", self._startup_wait_s, slow)

    async def stop(self) -> None:
        await asyncio.gather(*(s.stop() for s in self._supervisors))

    async def __aenter__(self) -> McpManager:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def tools(self) -> ToolRegistry:
        return ToolRegistry(tool for tool, _ in self._tools.values())

    def tool_info(self, name: str) -> McpToolInfo | None:
        entry = self._tools.get(name)
        return entry[1] if entry is not None else None

    def needs_approval(self, name: str) -> bool:
        info = self.tool_info(name)
        return info is not None and info.needs_approval

    def status(self) -> list[McpServerStatus]:
        return [supervisor.status() for supervisor in self._supervisors]

    def add_listener(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def set_approver(self, approver: Approver | None) -> None:
        self._approver = approver

    def _rebuild(self) -> None:
        tools: dict[str, tuple[Tool, McpToolInfo]] = {}
        for supervisor in self._supervisors:
            for remote in supervisor.tools:
                name = exposed_name(supervisor.name, remote.name, tools)
                tools[name] = self._tool(supervisor, remote, name)
        self._tools = tools
        self.version += 1
        for callback in list(self._listeners):
            try:
                callback()
            except Exception:
                log.exception("an MCP tools listener failed")

    def _tool(
        self, supervisor: ServerSupervisor, remote: RemoteTool, name: str
    ) -> tuple[Tool, McpToolInfo]:
        config = supervisor.config
        info = McpToolInfo(
            name=name,
            server=supervisor.name,
            remote_name=remote.name,
            title=remote.title,
            needs_approval=config.needs_approval(remote.name, destructive=remote.destructive),
            read_only=remote.read_only,
            destructive=remote.destructive,
            idempotent=remote.idempotent,
            open_world=remote.open_world,
        )
        timeout_s = config.timeout_s or self._default_timeout_s

        async def handler(ctx: ToolContext, /, **arguments: Any) -> str:
            return await self._call(supervisor, remote, info, ctx, arguments, timeout_s)

        limit = timeout_s + CALL_MARGIN_S
        if info.needs_approval:
            limit += self._approval_timeout_s
        tool = Tool(
            name, remote.description, remote.parameters, handler, limit, summarize=summarize
        )
        return tool, info

    async def _call(
        self,
        supervisor: ServerSupervisor,
        remote: RemoteTool,
        info: McpToolInfo,
        ctx: ToolContext,
        arguments: dict[str, Any],
        timeout_s: float,
    ) -> ToolOutput:
        problem = argument_problem(remote.validator, arguments)
        if problem is not None:
            raise ToolError(f"the arguments do not match {info.name}'s input schema: {problem}")
        if info.needs_approval:
            await self._approve(info, arguments, ctx)
        result = await supervisor.call(remote.name, arguments, timeout_s)
        output = render_result(result, max_chars=self._max_result_chars, source=info.name)
        if result.is_error:
            raise ToolError(str(output) if result.content else f"{info.name} failed")
        return output

    async def _approve(
        self, info: McpToolInfo, arguments: Mapping[str, Any], ctx: ToolContext
    ) -> None:
        approver = self._approver
        if approver is None:
            raise ToolError(f"{info.name} needs a member's approval, which can't be asked here")
        try:
            async with asyncio.timeout(self._approval_timeout_s):
                approved = await approver(ApprovalRequest(info, dict(arguments), ctx))
        except TimeoutError:
            raise ToolError(
                f"no one approved {info.name} within {self._approval_timeout_s:g} s"
            ) from None
        if not approved:
            raise ToolError(f"a member declined this call of {info.name}")


def summarize(arguments: Mapping[str, Any]) -> str:
    """The Discord tool line's label: the first text argument, else the arguments' JSON."""
    text = next((v for v in arguments.values() if isinstance(v, str) and v.strip()), None)
    if text is None:
        text = json.dumps(dict(arguments), ensure_ascii=False, default=str) if arguments else ""
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:79] + "…"


async def check_servers(
    servers: Iterable[McpServerConfig], *, wait_s: float = 15.0
) -> list[McpServerStatus]:
    """Start every server, wait until each is ready or failed (at most `wait_s`), report,
    stop them all: for `python -m bot check`."""
    manager = McpManager(list(servers), startup_wait_s=wait_s)
    try:
        await manager.start()
        return manager.status()
    finally:
        await manager.stop()
