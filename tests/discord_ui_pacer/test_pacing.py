"""Lanes never overrun their bucket, the global budget holds, and hundreds of answers share it
fairly, with first text and final states picked first."""

from __future__ import annotations

import asyncio
import itertools
import time

from bot.discord_ui.lanes import Lane
from bot.discord_ui.pacer import EditPacer
from tests.discord_ui_pacer.conftest import GLOBAL_PER_SECOND
from tests.discord_ui_pacer.sim import SimDiscord, lane


async def _stream(
    pacer: EditPacer,
    sim: SimDiscord,
    targets: list[tuple[str, Lane]],
    *,
    seconds: float,
    every_s: float = 0.01,
) -> int:
    """Submit a new version for every target each `every_s`, like tokens arriving; then finals."""
    version = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        version += 1
        for target, target_lane in targets:
            pacer.submit(
                target,
                target_lane,
                version,
                sim.sender(target, target_lane, version),
                first_visible=version == 1,
            )
        await asyncio.sleep(every_s)
    version += 1
    for target, target_lane in targets:
        send = sim.sender(target, target_lane, ("final", version))
        pacer.submit(target, target_lane, version, send, final=True)
    return version


async def test_pacer_lane_stays_under_its_bucket_while_streaming(
    pacer: EditPacer, sim: SimDiscord
) -> None:
    chan = lane("chan")
    final = await _stream(pacer, sim, [("msg", chan)], seconds=1.2)
    assert await pacer.wait_landed("msg", final)
    assert not sim.violations
    assert sim.shown["msg"] == ("final", final)
    # Paced, not one send per token: at most 4 per 0.5 s window over the stream.
    assert 4 <= len(sim.sent) <= 4 * (1.2 / 0.5 + 1) + 1


async def test_pacer_message_creation_shares_the_channel_lane(
    pacer: EditPacer, sim: SimDiscord
) -> None:
    chan = lane("thread")
    # Part 1 of a long answer keeps being edited while part 2 is created and streamed.
    final = await _stream(pacer, sim, [("part1", chan), ("part2", chan)], seconds=1.0)
    assert await pacer.wait_landed("part1", final)
    assert await pacer.wait_landed("part2", final)
    assert not sim.violations  # the audit counts both parts' sends in the one lane
    assert {s.target for s in sim.sent} == {"part1", "part2"}


async def test_pacer_shares_the_global_budget_fairly_across_200_answers(
    pacer: EditPacer, sim: SimDiscord
) -> None:
    n = 200
    targets = [(f"answer{i}", lane(f"thread{i}")) for i in range(n)]
    started = time.monotonic()
    final = await _stream(pacer, sim, targets, seconds=2.0, every_s=0.02)
    stream_end = time.monotonic()
    for target, _ in targets:
        assert await pacer.wait_landed(target, final)
    assert not sim.violations
    assert all(sim.shown[t] == ("final", final) for t, _ in targets)
    fair_share_s = n / GLOBAL_PER_SECOND  # each answer's turn comes round this often
    for target, _ in targets:
        times = [started] + [s.at for s in sim.sends_to(target) if s.at <= stream_end]
        assert len(times) >= 3, target  # everyone got updates while streaming
        gaps = [b - a for a, b in itertools.pairwise(times)]
        # Round robin: no answer waits much longer than everyone else's turn.
        assert max(gaps) < 3 * fair_share_s + 0.3, (target, max(gaps))
    counts = [len(sim.sends_to(t)) for t, _ in targets]
    assert max(counts) - min(counts) <= 3


async def test_pacer_picks_first_text_then_finals_before_older_updates(sim: SimDiscord) -> None:
    # A budget of 40/s with 30 lanes waiting: the order of picks is observable.
    async with EditPacer(global_per_second=40.0, global_burst=1) as pacer:
        for i in range(30):
            chan = lane(f"old{i}")
            pacer.submit(f"old{i}", chan, 1, sim.sender(f"old{i}", chan, 1))
        await asyncio.sleep(0.06)
        final_lane, new_lane = lane("final"), lane("new")
        pacer.submit("final", final_lane, 1, sim.sender("final", final_lane, 1), final=True)
        pacer.submit("new", new_lane, 1, sim.sender("new", new_lane, 1), first_visible=True)
        for i in range(30):
            assert await pacer.wait_landed(f"old{i}", 1)
    order = [s.target for s in sim.sent]
    assert order.index("new") < order.index("final")
    # Both jumped ahead of the old updates still waiting when they arrived (about 27 of them).
    assert order.index("final") <= 6
    assert len(order) == 32


async def test_pacer_interaction_lanes_do_not_use_the_global_budget(sim: SimDiscord) -> None:
    # A global budget of 1/s would hold a channel lane to one send a second.
    async with EditPacer(global_per_second=1.0, global_burst=1) as pacer:
        hook = lane("interaction:1", uses_global=False)
        final = await _stream(pacer, sim, [("original", hook)], seconds=0.6)
        assert await pacer.wait_landed("original", final)
    assert len(sim.sent) >= 4
    assert not sim.violations


async def test_pacer_finals_land_while_other_answers_keep_streaming(
    pacer: EditPacer, sim: SimDiscord
) -> None:
    # 40 answers share 4 channels: their lanes are saturated when half of them finish.
    targets = [(f"answer{i}", lane(f"chan{i % 4}")) for i in range(40)]
    finishing, streaming = targets[::2], targets[1::2]
    busy = asyncio.create_task(_stream(pacer, sim, streaming, seconds=1.5))
    await asyncio.sleep(0.3)
    for target, target_lane in finishing:
        pacer.submit(target, target_lane, 1, sim.sender(target, target_lane, "final"), final=True)
    for target, _ in finishing:
        assert await pacer.wait_landed(target, 1)
    assert not busy.done()  # they landed during the burst, not after it
    assert all(sim.shown[t] == "final" for t, _ in finishing)
    final = await busy
    for target, _ in streaming:
        assert await pacer.wait_landed(target, final)
    assert not sim.violations
