"""Latest state wins, one send in flight per target, the first send goes at once."""

from __future__ import annotations

import asyncio

from bot.discord_ui.lanes import Lane
from bot.discord_ui.pacer import EditPacer
from tests.discord_ui_pacer.sim import SimDiscord, lane


async def _ticks(n: int = 10) -> None:
    """Let the scheduler and send tasks run without waiting on the clock."""
    for _ in range(n):
        await asyncio.sleep(0)


async def test_pacer_latest_wins_while_a_send_is_in_flight(pacer: EditPacer) -> None:
    release = asyncio.Event()
    sent: list[int] = []
    msg = lane("chan")

    def send(version: int) -> object:
        async def go() -> None:
            sent.append(version)
            if version == 0:
                await release.wait()

        return go

    pacer.submit("msg", msg, 0, send(0))
    await _ticks()
    assert sent == [0]
    for version in range(1, 101):
        pacer.submit("msg", msg, version, send(version))
    await _ticks()
    assert sent == [0]  # nothing else starts while the first send is in flight
    release.set()
    assert await pacer.wait_landed("msg", 100)
    await asyncio.sleep(0.3)
    assert sent == [0, 100]
    assert pacer.stats.coalesced == 99


async def test_pacer_first_send_in_an_idle_lane_goes_at_once(pacer: EditPacer) -> None:
    started: list[str] = []

    async def send() -> None:
        started.append("x")

    # Real channel limits (1.25 s spacing): the first send must not wait for any of it.
    pacer.submit("msg", Lane.channel(1), 1, send, first_visible=True)
    await _ticks()
    assert started == ["x"]


async def test_pacer_never_runs_two_sends_for_one_target_or_lane(
    pacer: EditPacer, sim: SimDiscord
) -> None:
    sim.latency_s = 0.03  # slower than the lane spacing: sends would overlap if allowed
    shared = lane("shared")
    for version in range(40):
        for target in ("a", "b"):
            pacer.submit(target, shared, version, sim.sender(target, shared, version))
        await asyncio.sleep(0.01)
    for target in ("a", "b"):
        pacer.submit(target, shared, 99, sim.sender(target, shared, 99), final=True)
    assert await pacer.wait_landed("a", 99)
    assert await pacer.wait_landed("b", 99)
    assert sim.max_in_flight == 1
    assert sim.max_lane_in_flight == 1
    assert sim.shown == {"a": 99, "b": 99}
    assert not sim.violations


async def test_pacer_ignores_versions_older_than_what_it_has(
    pacer: EditPacer, sim: SimDiscord
) -> None:
    chan = lane("chan")
    pacer.submit("msg", chan, 5, sim.sender("msg", chan, 5))
    pacer.submit("msg", chan, 3, sim.sender("msg", chan, 3))
    assert await pacer.wait_landed("msg", 5)
    pacer.submit("msg", chan, 4, sim.sender("msg", chan, 4))
    await asyncio.sleep(0.2)
    assert [s.payload for s in sim.sent] == [5]
    assert pacer.stats.stale == 2


async def test_pacer_wait_landed_true_for_versions_a_newer_send_covered(
    pacer: EditPacer, sim: SimDiscord
) -> None:
    chan = lane("chan")
    pacer.submit("msg", chan, 1, sim.sender("msg", chan, 1))
    pacer.submit("msg", chan, 2, sim.sender("msg", chan, 2))
    pacer.submit("msg", chan, 3, sim.sender("msg", chan, 3), final=True)
    assert await pacer.wait_landed("msg", 2)
    assert await pacer.wait_landed("msg", 3)
    # The target finished at version 3: a later version will never land.
    assert not await pacer.wait_landed("msg", 4)
