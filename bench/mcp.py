"""The `mcp` group: what MCP servers cost the bot, over stdio, with the tests' own server.

- **call overhead**: an MCP tool call through the bot's `Tool` (argument validation, the
  SDK's JSON-RPC over the child's stdin/stdout, result rendering) against the server's
  `noop` tool, which does no work: the round trip is the overhead. Median (target < 5 ms)
  and p95 of `CALLS` calls after a warm-up.
- **start-up**: `STARTUP_SERVERS` copies of the server configured at once, one of them
  sleeping before it serves (`--delay-start`, before it imports the SDK): time from
  `McpManager.start()` until the tools of the first fast one, half of them and every one are
  usable (target < 2 s), with stdio servers taking turns to start (the manager's `StartGate`)
  and, as a reference in the same run, with every child spawned at once. Each child is a
  Python process importing the SDK, about a second of its own CPU (the "one server" row); the
  client spends a few milliseconds per server. So every server being usable is bounded by the
  children's CPU over the cores (a reference row); what taking turns changes is that the first
  servers are usable after about one start instead of after all of them, and the rest follow
  in turn.
- **delay before the bot answers**: the real bot process with the same servers configured
  against one with none (bench.mcp_answer): the bot does not wait for its servers, so what
  they cost the first answer is the CPU their start-up takes from the bot (target < 2 s).
"""

from __future__ import annotations

import asyncio
import math
import os
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.mcp_answer import answer_delay
from bench.results import Result, Target, median
from bot.llm.tools import ToolContext
from bot.tools.mcp import McpServerConfig
from bot.tools.mcp.gate import StartGate, default_width
from bot.tools.mcp.manager import McpManager

GROUP = "mcp"
ROOT = Path(__file__).resolve().parent.parent
CALLS = 500
QUICK_CALLS = 20
STARTUP_SERVERS = 20
QUICK_STARTUP_SERVERS = 2  # one fast, one slow: every child costs a second of CPU
SLOW_START_S = 120.0  # never waited for: the run ends when the fast ones are usable
CALL_TARGET_MS = 5.0
STARTUP_TARGET_MS = 2000.0


def _server(name: str, *args: str) -> McpServerConfig:
    return McpServerConfig(
        name,
        command=(sys.executable, "-m", "tests.fakes.mcp_server_start", *args),
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


@dataclass(frozen=True, slots=True)
class Startup:
    """When the fast servers' tools became usable (ms from start()), and the CPU spent."""

    ready_ms: list[float]  # per fast server, in the order they became usable
    client_cpu_ms: float  # this process (spawning, handshakes, listings)
    children_cpu_ms: float  # the servers' own processes (importing the SDK, serving)

    @property
    def first(self) -> float:
        return self.ready_ms[0]

    @property
    def half(self) -> float:
        return self.ready_ms[(len(self.ready_ms) - 1) // 2]

    @property
    def last(self) -> float:
        return self.ready_ms[-1]


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def startup(fast: int, gate: StartGate | None = None) -> Startup:
    """Start `fast` servers and one more that is slow to start (it sleeps before serving,
    using no CPU meanwhile); measure when each fast one's tools become usable. `gate` None:
    the manager's own (servers take turns, about one per core); a wide gate starts every
    child at once."""
    servers = [_server(f"fast{n}") for n in range(fast)]
    servers.insert(fast // 2, _server("slow", "--delay-start", str(SLOW_START_S)))
    manager = McpManager(servers, startup_wait_s=0, start_gate=gate)
    ready: dict[str, float] = {}
    usable = asyncio.Event()
    started = time.perf_counter()

    def check() -> None:
        tools = manager.tools()
        for status in manager.status():
            name = status.name
            if name not in ready and status.state == "ready" and f"{name}__noop" in tools:
                ready[name] = (time.perf_counter() - started) * 1000
        if len([name for name in ready if name != "slow"]) == fast:
            usable.set()

    manager.add_listener(check)
    cpu, children = time.process_time(), _children_cpu_s()
    try:
        await manager.start()
        async with asyncio.timeout(600):
            await usable.wait()
        client_cpu = (time.process_time() - cpu) * 1000
        if "slow" in ready:
            raise RuntimeError("the slow server was ready: the run proves nothing")
    finally:
        await manager.stop()
    # The children are reaped by stop(): only now is their CPU time counted.
    children_cpu = (_children_cpu_s() - children) * 1000
    return Startup(sorted(ready.values()), client_cpu, children_cpu)


async def run(quick: bool) -> list[Result]:
    calls = QUICK_CALLS if quick else CALLS
    servers = QUICK_STARTUP_SERVERS if quick else STARTUP_SERVERS
    call_median, call_p95 = await call_overhead(calls)
    one = (await startup(1)).first if not quick else 0.0
    at_once = await startup(servers - 1, StartGate(width=servers))
    turns = await startup(servers - 1)
    alone, with_servers = await answer_delay(servers, repeats=1 if quick else 3)
    cores = default_width()
    # The least time in which every fast child can have done its own start-up work here:
    # the CPU they used, spread over every core (a reference, measured in this run).
    floor = at_once.children_cpu_ms / (os.cpu_count() or 1)
    name = f"start-up, {servers} servers (1 slow)"
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
            f"{name}: first fast server usable",
            turns.first,
            "ms",
            Target(STARTUP_TARGET_MS),
            note=f"servers take turns to start, {cores} at a time (one per core)",
        ),
        Result(GROUP, f"{name}: half the fast servers usable", turns.half, "ms"),
        Result(
            GROUP,
            f"{name}: every fast server usable",
            turns.last,
            "ms",
            Target(STARTUP_TARGET_MS),
            note=(
                f"{servers - 1} fast servers on {os.cpu_count()} cores; the slow one "
                f"({SLOW_START_S:g} s) was still starting"
            ),
        ),
        Result(
            GROUP,
            f"{name}, all started at once: first usable",
            at_once.first,
            "ms",
            note="reference: every child spawned together (the manager before taking turns)",
        ),
        Result(GROUP, f"{name}, all started at once: every one usable", at_once.last, "ms"),
        Result(
            GROUP,
            f"{name}: the children's CPU / cores",
            floor,
            "ms",
            note=(
                f"reference: {at_once.children_cpu_ms / 1000:.1f} s of CPU (importing the SDK) "
                "over every core; no start order can make every server usable sooner"
            ),
        ),
        Result(
            GROUP,
            "bot start → first /chat answer visible, no MCP servers",
            alone,
            "ms",
            note="reference: the real bot process against the fakes, median, same run",
        ),
        Result(
            GROUP,
            f"bot start → first /chat answer visible, {servers} servers (1 slow)",
            with_servers,
            "ms",
        ),
        Result(
            GROUP,
            f"{name}: delay before the bot answers",
            max(with_servers - alone, 0.0),
            "ms",
            Target(STARTUP_TARGET_MS),
            note=(
                "the difference of the two rows above (0 if none shows): the bot answers "
                "while its servers start"
            ),
        ),
        Result(
            GROUP,
            f"{name}: the bot's own CPU meanwhile",
            turns.client_cpu_ms,
            "ms",
            note="the client side: spawning, handshakes, listings",
        ),
    ]
