"""The identify gate: a bucket's shards IDENTIFY no faster than once per window, across gates
(processes) sharing the lock folder, or PostgreSQL (advisory locks); shards of different
buckets go together. Then with the real AutoShardedBot against a fake Discord that refuses
identifies that come too fast."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

from discord.ext import commands

from bot.sharding.identify import FileIdentifyGate
from bot.sharding.pg_identify import PgIdentifyGate
from tests.discord_fake.conftest import RecordingBot, running
from tests.fakes.discord_server import FakeDiscord

WINDOW = 0.4


async def test_identify_gate_spaces_one_bucket_across_gates(tmp_path: Path) -> None:
    # Two gates on one folder stand for two processes of the bot.
    gates = [FileIdentifyGate(tmp_path, 1, window_s=WINDOW) for _ in range(2)]
    turns: list[float] = []

    async def identify(gate: FileIdentifyGate, shard: int) -> None:
        await gate.wait_turn(shard)
        # The gate's margin (0.1 s) covers the event loop's lag between its note and this.
        turns.append(time.monotonic())

    await asyncio.gather(*(identify(gates[i % 2], i) for i in range(3)))
    turns.sort()
    gaps = [b - a for a, b in itertools.pairwise(turns)]
    assert all(gap >= WINDOW for gap in gaps), gaps


async def test_identify_gate_lets_different_buckets_go_together(tmp_path: Path) -> None:
    gate = FileIdentifyGate(tmp_path, 4, window_s=5.0)
    start = time.monotonic()
    await asyncio.gather(*(gate.wait_turn(shard) for shard in range(4)))
    assert time.monotonic() - start < 1.0
    # Shard 4 shares shard 0's bucket: its turn comes a window later.
    waiting = asyncio.ensure_future(gate.wait_turn(4))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    waiting.cancel()


class GatedBot(RecordingBot, commands.AutoShardedBot):
    def __init__(self, fake: FakeDiscord, gate: FileIdentifyGate, **kwargs: object) -> None:
        super().__init__(fake, **kwargs)
        self.gate = gate

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        await self.gate.wait_turn(shard_id or 0)


async def test_identify_gate_keeps_two_bots_under_max_concurrency(tmp_path: Path) -> None:
    """Two bots (as two processes would) on shards 0 and 1 of 2, max_concurrency 1: the fake
    refuses an IDENTIFY within the window of the last one; with the gate none is refused."""
    async with FakeDiscord(max_concurrency=1, identify_window=WINDOW) as fake:

        def bot(shard: int) -> GatedBot:
            gate = FileIdentifyGate(tmp_path, 1, window_s=WINDOW)
            return GatedBot(fake, gate, shard_count=2, shard_ids=[shard])

        async with running(fake, bot(0)), running(fake, bot(1)):
            assert sorted(fake.gateway.connected_shards()) == [(0, 2), (1, 2)]
    assert fake.shards.rejected_identifies == []
    accepted = [r.at for r in fake.shards.identifies]
    assert accepted[1] - accepted[0] >= WINDOW


async def test_identify_gate_on_postgresql_spaces_one_bucket_across_processes(
    postgres_url: str,
) -> None:
    """The advisory-lock gate (DATABASE_URL): two gates, each with its own connections, as
    two processes on two hosts would have; a bucket's turns come a window apart, another
    bucket's at once."""
    gates = [PgIdentifyGate(postgres_url, 2, window_s=WINDOW) for _ in range(2)]
    turns: dict[int, list[float]] = {0: [], 1: []}

    async def identify(gate: PgIdentifyGate, shard: int) -> None:
        await gate.wait_turn(shard)
        turns[shard % 2].append(time.monotonic())  # the margin (0.1 s) covers loop lag

    try:
        start = time.monotonic()
        await asyncio.gather(*(identify(gates[i % 2], i) for i in (0, 2, 4, 1)))
        assert turns[1][0] - start < WINDOW  # bucket 1 did not wait for bucket 0
        spaced = sorted(turns[0])
        assert all(b - a >= WINDOW for a, b in itertools.pairwise(spaced)), spaced
    finally:
        for gate in gates:
            await gate.close()
