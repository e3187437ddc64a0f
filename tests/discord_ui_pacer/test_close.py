"""close(): pending finals land (bounded by flush_timeout), everything else is dropped."""

from __future__ import annotations

import asyncio

import pytest

from bot.discord_ui.pacer import EditPacer, PacerClosedError
from tests.discord_ui_pacer.sim import RateLimitedError, SimDiscord, lane


async def test_pacer_close_flushes_finals_and_drops_the_rest(sim: SimDiscord) -> None:
    pacer = EditPacer()
    await pacer.start()
    chan = lane("chan")
    # Fill the lane so everything after this waits for the window.
    for target in ("w1", "w2", "w3", "w4"):
        pacer.submit(target, chan, 1, sim.sender(target, chan, 1), first_visible=True)
    await asyncio.sleep(0.05)
    pacer.submit("final", chan, 2, sim.sender("final", chan, "final"), final=True)
    pacer.submit("draft", chan, 2, sim.sender("draft", chan, "draft"))
    await pacer.close(flush_timeout=2.0)
    assert sim.shown.get("final") == "final"
    assert "draft" not in sim.shown
    assert not await pacer.wait_landed("draft", 2)
    assert not sim.violations
    pacer.submit("late", chan, 1, sim.sender("late", chan, 1), final=True)
    await asyncio.sleep(0.05)
    assert "late" not in sim.shown


async def test_pacer_close_gives_up_on_finals_after_flush_timeout(sim: SimDiscord) -> None:
    pacer = EditPacer()
    await pacer.start()
    chan = lane("chan")
    sim.failures["msg"] = [RateLimitedError(30.0)]
    pacer.submit("msg", chan, 1, sim.sender("msg", chan, 1), final=True)
    waiter = asyncio.create_task(pacer.wait_landed("msg", 1))
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await pacer.close(flush_timeout=0.2)
    assert loop.time() - started < 5.0  # bounded, not the 30 s retry_after
    assert not await waiter
    assert "msg" not in sim.shown


async def test_pacer_call_after_close_raises(sim: SimDiscord) -> None:
    async with EditPacer() as pacer:
        pass

    async def create() -> None:
        return None

    with pytest.raises(PacerClosedError):
        await pacer.call(lane("chan"), create)


async def test_pacer_close_twice_waits_for_the_first(sim: SimDiscord) -> None:
    pacer = EditPacer()
    await pacer.start()
    chan = lane("chan")
    for target in ("w1", "w2", "w3", "w4", "last"):
        pacer.submit(target, chan, 1, sim.sender(target, chan, "final"), final=True)
    await asyncio.gather(pacer.close(flush_timeout=2.0), pacer.close(flush_timeout=2.0))
    assert sim.shown == dict.fromkeys(("w1", "w2", "w3", "w4", "last"), "final")
