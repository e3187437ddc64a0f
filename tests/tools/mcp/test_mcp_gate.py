"""Stdio servers take turns to start (`StartGate`): a turn ends when the server is ready or
after the hold, so a slow server holds up nobody for long, and stopping while servers wait
for their turn leaves nothing behind."""

from __future__ import annotations

import asyncio

from bot.tools.mcp.gate import StartGate, default_width
from bot.tools.mcp.manager import McpManager
from tests.polling import wait_until
from tests.tools.mcp.conftest import FAST, children, fake_server


def states(manager: McpManager) -> dict[str, str]:
    return {status.name: status.state for status in manager.status()}


async def test_gate_lets_width_starts_through_and_a_release_or_the_hold_lets_the_next() -> None:
    gate = StartGate(width=2, hold_s=0.2)
    first, second = await gate.turn(), await gate.turn()
    third = asyncio.ensure_future(gate.turn())
    await asyncio.sleep(0.05)
    assert not third.done()  # both turns taken
    first()
    first()  # releasing twice gives back one turn only
    release_third = await asyncio.wait_for(third, 1)
    fourth = asyncio.ensure_future(gate.turn())
    await asyncio.sleep(0.05)
    assert not fourth.done()
    # Nobody releases: the hold ends the oldest turn.
    await asyncio.wait_for(fourth, 1)
    second()
    release_third()
    assert default_width() >= 2


async def test_the_next_server_is_spawned_only_once_the_one_before_is_ready() -> None:
    manager = McpManager(
        [fake_server("a"), fake_server("b")],
        timing=FAST,
        startup_wait_s=0,
        start_gate=StartGate(width=1, hold_s=600),
    )
    spawned_when_ready: dict[str, int] = {}

    def on_change() -> None:
        for name, state in states(manager).items():
            if state == "ready" and name not in spawned_when_ready:
                spawned_when_ready[name] = len(children())

    manager.add_listener(on_change)
    try:
        await manager.start()
        await wait_until(lambda: len(spawned_when_ready) == 2)
    finally:
        await manager.stop()
    # When the first was ready its successor had not been spawned; then both were running.
    assert sorted(spawned_when_ready.values()) == [1, 2]
    assert children() == []


async def test_a_slow_server_gives_its_turn_up_after_the_hold() -> None:
    manager = McpManager(
        [fake_server("slow", "--delay-start", "600"), fake_server("fast")],
        timing=FAST,
        startup_wait_s=0,
        start_gate=StartGate(width=1, hold_s=0.3),
    )
    try:
        await manager.start()
        await wait_until(lambda: states(manager)["fast"] == "ready")
        assert states(manager)["slow"] == "starting"
        assert "fast__echo" in manager.tools()
    finally:
        await manager.stop()
    assert children() == []


async def test_stopping_while_servers_wait_for_their_turn() -> None:
    manager = McpManager(
        [fake_server("slow", "--delay-start", "600"), fake_server("waiting")],
        timing=FAST,
        startup_wait_s=0,
        start_gate=StartGate(width=1, hold_s=600),
    )
    await manager.start()
    await wait_until(lambda: len(children()) == 1)  # the slow one holds the only turn
    async with asyncio.timeout(FAST.stop_timeout_s):
        await manager.stop()
    assert states(manager) == {"slow": "stopped", "waiting": "stopped"}
    # Stopped mid-spawn, the child is killed as the spawn unwinds, and stop() can't wait for
    # the kernel to end it (the process object never reached anyone): gone within moments,
    # where one left running would be there for its whole 600 s.
    await wait_until(lambda: children() == [], within_s=10)
