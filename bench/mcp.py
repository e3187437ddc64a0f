"""The `mcp` group: what MCP servers cost the bot, over stdio, with the tests' own server.

- **call overhead**: an MCP tool call through the bot's `Tool` (argument validation, the
  SDK's JSON-RPC over the child's stdin/stdout, result rendering) against the server's
  `noop` tool, which does no work: the round trip is the overhead. Median (target < 5 ms)
  and p95 of `CALLS` calls after a warm-up.
- **start-up**: `STARTUP_SERVERS` copies of the server configured at once, one of them
  sleeping before it serves (`--delay-start`): time from `McpManager.start()` until the
  tools of every fast one are usable (target < 2 s). Servers start in parallel and the slow
  one holds up nobody, so this is bounded by how fast the machine can start that many
  Python processes that import the SDK, each of which costs about a second of CPU (see the
  "one server" row): on few cores that, not the client, is what the figure shows.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import time
from pathlib import Path

from bench.results import Result, Target, median
from bot.llm.tools import ToolContext
from bot.tools.mcp import McpServerConfig
from bot.tools.mcp.manager import McpManager

GROUP = "mcp"
ROOT = Path(__file__).resolve().parent.parent
CALLS = 500
QUICK_CALLS = 20
STARTUP_SERVERS = 20
QUICK_STARTUP_SERVERS = 3
SLOW_START_S = 120.0  # never waited for: the run ends when the fast ones are usable
CALL_TARGET_MS = 5.0
STARTUP_TARGET_MS = 2000.0


def _server(name: str, *args: str) -> McpServerConfig:
    return McpServerConfig(
        name,
        command=(sys.executable, "-m", "tests.fakes.mcp_server", *args),
        env={"PYTHONPATH": str(ROOT)},
    )


async def call_overhead(calls: int) -> tuple[float, float]:
    """(median, p95) milliseconds of a no-op MCP tool call."""
    async with McpManager([_server("bench")], startup_wait_s=120) as manager:
        noop = manager.tools()["bench__noop"].handler
        context = ToolContext(conversation_id=1)
        for _ in range(max(5, calls // 10)):
            await noop(context)
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            await noop(context)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return median(times), times[min(len(times) - 1, math.ceil(len(times) * 0.95) - 1)]


async def startup(fast: int) -> tuple[float, float]:
    """Milliseconds from start() until the tools of `fast` servers are usable, with one
    more server configured that is slow to start, and the CPU milliseconds this process
    (the client side) spent meanwhile."""
    servers = [_server(f"fast{n}") for n in range(fast)]
    servers.insert(fast // 2, _server("slow", "--delay-start", str(SLOW_START_S)))
    manager = McpManager(servers, startup_wait_s=0)
    usable = asyncio.Event()

    def check() -> None:
        ready = [s for s in manager.status() if s.state == "ready" and s.tool_count]
        if len(ready) == fast and f"fast{fast - 1}__noop" in manager.tools():
            usable.set()

    manager.add_listener(check)
    started, cpu = time.perf_counter(), time.process_time()
    try:
        await manager.start()
        async with asyncio.timeout(600):
            await usable.wait()
        elapsed = (time.perf_counter() - started) * 1000
        client_cpu = (time.process_time() - cpu) * 1000
        if any(s.name == "slow" and s.state == "ready" for s in manager.status()):
            raise RuntimeError("the slow server was ready first: the run proves nothing")
        return elapsed, client_cpu
    finally:
        await manager.stop()


async def run(quick: bool) -> list[Result]:
    calls = QUICK_CALLS if quick else CALLS
    servers = QUICK_STARTUP_SERVERS if quick else STARTUP_SERVERS
    call_median, call_p95 = await call_overhead(calls)
    one = (await startup(1))[0] if not quick else 0.0
    many, client_cpu = await startup(servers - 1)
    cores = os.cpu_count() or 1
    return [
        Result(
            GROUP,
            "MCP tool call over stdio, no-op tool (median)",
            call_median,
            "ms",
            Target(CALL_TARGET_MS),
            note=f"{calls} calls through the bot's Tool: validation, JSON-RPC, rendering",
        ),
        Result(GROUP, "MCP tool call over stdio, no-op tool (p95)", call_p95, "ms"),
        Result(
            GROUP,
            "start-up, one server: tools usable",
            one,
            "ms",
            note="one Python child importing the SDK (skipped in --quick)",
        ),
        Result(
            GROUP,
            f"start-up, {servers} servers (1 slow): fast ones' tools usable",
            many,
            "ms",
            Target(STARTUP_TARGET_MS),
            note=(
                f"{servers - 1} fast servers start in parallel on {cores} cores; the slow one "
                f"({SLOW_START_S:g} s) was still starting"
            ),
        ),
        Result(
            GROUP,
            f"start-up, {servers} servers: the bot's own CPU meanwhile",
            client_cpu,
            "ms",
            note="the client side: spawning, handshakes, listings; the rest is the children's",
        ),
    ]
