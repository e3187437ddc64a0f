"""DISCORD_GLOBAL_RATE: each process's pacer keeps to its share of Discord's global limit, so
several processes of one bot together stay under it.

Discord's 50 requests per second is per bot, whatever the number of processes; each process
gets `global_per_second` (DISCORD_GLOBAL_RATE) and shares must add up to less than 50. The
simulated Discord audits the global window across both pacers; then two real discord.py
clients (two processes' worth) edit through two pacers against the fake Discord's global
bucket.
"""

from __future__ import annotations

import asyncio
import time

import discord

from bot.discord_ui.lanes import Lane
from bot.discord_ui.pacer import EditPacer
from tests.discord_ui_pacer.conftest import running
from tests.discord_ui_pacer.sim import SimDiscord, lane
from tests.fakes.discord_server import BucketLimit, FakeDiscord, RateLimitConfig


async def _stream_two_processes(share: float, seconds: float = 1.5) -> tuple[SimDiscord, float]:
    """Two pacers ("processes") at `share` each, 100 answers each, into one Discord whose
    global limit is the real one: 50 per (sliding) second."""
    sim = SimDiscord(global_limit=50, global_window_s=1.0)
    pacers = [EditPacer(global_per_second=share) for _ in range(2)]
    for pacer in pacers:
        await pacer.start()
    try:
        version = 0
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            version += 1
            for p, pacer in enumerate(pacers):
                for i in range(100):
                    target, target_lane = f"p{p}-a{i}", lane(f"p{p}-thread{i}")
                    send = sim.sender(target, target_lane, version)
                    pacer.submit(target, target_lane, version, send)
            await asyncio.sleep(0.05)
        elapsed = time.monotonic() - start
    finally:
        for pacer in pacers:
            await pacer.close(flush_timeout=0.1)
    return sim, elapsed


async def test_global_rate_shares_keep_two_processes_under_the_limit() -> None:
    # DISCORD_GLOBAL_RATE=22 in each of two processes: 44/s together against Discord's 50.
    share = 22.0
    sim, elapsed = await _stream_two_processes(share)
    assert sim.violations == []
    for p in range(2):
        sends = [s for s in sim.sent if str(s.target).startswith(f"p{p}-")]
        # Each uses its share (its 100 busy answers keep it full) and no more (+ the burst).
        assert 0.8 * share * elapsed <= len(sends) <= share * elapsed + 2


async def test_global_rate_full_shares_in_two_processes_overrun_discord() -> None:
    """Why the share exists: two processes each at the default 45/s break Discord's 50/s."""
    sim, _ = await _stream_two_processes(45.0)
    assert any(v.startswith("global") for v in sim.violations)


async def test_global_rate_two_discord_py_clients_share_the_fake_global_bucket() -> None:
    """Real edits from two clients, each paced at half of the fake's global limit (20 per
    0.5 s, i.e. 40/s): no global 429, and both clients' answers keep moving."""
    limits = RateLimitConfig(
        message_edit=BucketLimit(5, 0.5),
        message_create=BucketLimit(5, 0.5),
        global_limit=BucketLimit(20, 0.5),
    )
    async with FakeDiscord(rate_limits=limits) as fake:
        assert fake.guild is not None
        channels = [fake.add_text_channel(fake.guild.id, f"c{i}") for i in range(16)]
        clients = [
            discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.1)
            for _ in range(2)
        ]
        async with (
            running(fake, clients[0]),
            running(fake, clients[1]),
            EditPacer(global_per_second=17.0, global_burst=1) as first,
            EditPacer(global_per_second=17.0, global_burst=1) as second,
        ):
            pacers = (first, second)
            messages = []
            for i, fake_channel in enumerate(channels):
                channel = clients[i % 2].get_channel(fake_channel.id)
                assert isinstance(channel, discord.TextChannel)
                lane_i = Lane(f"channel:{fake_channel.id}", 5, 0.5)
                sent = await pacers[i % 2].call(lane_i, lambda c=channel: c.send("…"))
                messages.append((pacers[i % 2], lane_i, sent))
            for version in range(1, 16):
                for i, (pacer, lane_i, message) in enumerate(messages):
                    pacer.submit(
                        i,
                        lane_i,
                        version,
                        lambda m=message, v=version: m.edit(content=f"v{v}"),
                        final=version == 15,
                    )
                await asyncio.sleep(0.05)
            for i, (pacer, _, _) in enumerate(messages):
                assert await pacer.wait_landed(i, 15)
        assert fake.total_429s == 0
        assert all(m.content == "v15" for c in channels for m in fake.messages(c.id))
