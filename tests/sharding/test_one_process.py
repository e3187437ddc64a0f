"""The real bot (bot.app.serve) running both shards of two in one process: the second shard
waits for its identify turn (Discord refuses it otherwise), both shards' servers are
answered, and the process holds both shard claims until it stops."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sharding.claims import FileShardClaims, ShardTakenError
from tests.e2e.conftest import make_settings, running_bot
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.llm_server import FakeLLMServer


async def test_one_process_runs_every_shard_discord_recommends(tmp_path: Path) -> None:
    async with (
        FakeDiscord(default_world=False, shards=2, max_concurrency=1, identify_window=5.0) as fake,
        FakeLLMServer() as llm,
    ):
        for shard in (0, 1):
            guild = fake.add_guild(f"guild-{shard}", shard=(shard, 2))
            channel = fake.add_text_channel(guild.id, "general")
            user = fake.add_member(guild.id, f"member-{shard}").user
            if shard == 0:
                fake.guild, fake.channel, fake.user = guild, channel, user
        # No SHARD_COUNT: the two shards GET /gateway/bot recommends, in this process.
        settings = make_settings(tmp_path, fake, llm)
        async with running_bot(settings, fake, llm) as app:
            assert app.bot.shard_count == 2 and sorted(app.bot.shards) == [0, 1]
            assert sorted(g.name for g in app.bot.guilds) == ["guild-0", "guild-1"]
            with pytest.raises(ShardTakenError):
                FileShardClaims(tmp_path).claim([1])
            for guild in fake.world.guilds.values():
                await fake.send_user_message(
                    guild.channel_ids[0],
                    next(m.user for m in guild.members.values() if not m.user.bot),
                    f"<@{fake.bot_user.id}> hi",
                    mentions_bot=True,
                )
            await llm.wait_for_requests(2, "/chat/completions", timeout=10)
        FileShardClaims(tmp_path).claim([0, 1])  # released when it stopped
    # max_concurrency 1: shard 1 waited its turn instead of being refused.
    assert fake.shards.rejected_identifies == []
    accepted = [r.at for r in fake.shards.identifies]
    assert len(accepted) == 2 and accepted[1] - accepted[0] >= 5.0
