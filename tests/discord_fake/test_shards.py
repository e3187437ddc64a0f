"""Sharding with the real discord.py AutoShardedBot: GET /gateway/bot, IDENTIFY with `shard`,
events routed by `(guild_id >> 22) % shard_count` (DMs to shard 0), identifies paced by
`max_concurrency`, and a shard identified twice made visible."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from tests.discord_fake.conftest import DEADLINE, RecordingBot, running, small_limits
from tests.fakes.discord.gateway import OP_IDENTIFY, OP_INVALID_SESSION
from tests.fakes.discord.shards import shard_of
from tests.fakes.discord_server import FakeDiscord, FakeGuild
from tests.polling import wait_until


class ShardBot(RecordingBot, commands.AutoShardedBot):
    """A RecordingBot run as some shards; it notes the guild of every message it gets."""

    async def setup_hook(self) -> None:
        @app_commands.command(name="ask", description="Answers ok")
        async def ask(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("ok")

        self.tree.add_command(ask)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py sleeps 5 s before every IDENTIFY but the first; the fake decides here.
        return None

    async def on_message(self, message: discord.Message) -> None:
        if not message.author.bot:
            self.note(message=message)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        self.note(f"interaction:{interaction.guild_id}")


def two_shard_fake(**kwargs: Any) -> FakeDiscord:
    return FakeDiscord(
        rate_limits=small_limits(), interaction_deadline=DEADLINE, default_world=False, **kwargs
    )


def guild_with_channel(fake: FakeDiscord, name: str, shard: tuple[int, int]) -> FakeGuild:
    guild = fake.add_guild(name, shard=shard)
    fake.add_text_channel(guild.id, "general")
    return guild


@asynccontextmanager
async def shard_bots(fake: FakeDiscord, *shard_ids: list[int]) -> AsyncIterator[list[ShardBot]]:
    """One ShardBot per list of shard ids (of 2 shards), all connected and ready."""
    async with AsyncExitStack() as stack:
        bots = []
        for ids in shard_ids:
            bot = ShardBot(fake, shard_count=2, shard_ids=ids)
            bots.append(await stack.enter_async_context(running(fake, bot)))
        yield bots  # type: ignore[misc]


async def test_gateway_bot_recommends_shards_and_session_start_limit() -> None:
    async with two_shard_fake(shards=2, max_concurrency=2) as fake:
        guild_with_channel(fake, "zero", (0, 2))
        guild_with_channel(fake, "one", (1, 2))
        bot = ShardBot(fake)  # no shard_count: all the shards Discord recommends
        async with running(fake, bot):
            assert bot.shard_count == 2
            assert sorted(bot.shards) == [0, 1]
            assert sorted(g.name for g in bot.guilds) == ["one", "zero"]
            limits = await bot.fetch_session_start_limits()
        assert limits.max_concurrency == 2
        assert limits.total == 1000 and limits.remaining == 998
    identified = sorted(r.shard for r in fake.shards.identifies if r.shard is not None)
    assert identified == [(0, 2), (1, 2)]


async def test_each_shard_gets_only_its_guilds_events_and_dms_go_to_shard_zero() -> None:
    async with two_shard_fake(max_concurrency=2) as fake:
        zero = guild_with_channel(fake, "zero", (0, 2))
        one = guild_with_channel(fake, "one", (1, 2))
        assert (shard_of(zero.id, 2), shard_of(one.id, 2)) == (0, 1)
        alice = fake.add_user("alice")
        async with shard_bots(fake, [0], [1]) as (bot0, bot1):
            assert [g.name for g in bot0.guilds] == ["zero"]
            assert [g.name for g in bot1.guilds] == ["one"]
            for guild in (zero, one):
                await fake.send_user_message(guild.channel_ids[0], alice, f"in {guild.name}")
            dm = fake.add_dm_channel(alice)
            await fake.send_user_message(dm.id, alice, "a DM")
            await fake.invoke_slash_command("ask", user=alice, channel_id=one.channel_ids[0])
            await bot0.until(lambda: len(bot0.seen) == 2)
            await bot1.until(lambda: len(bot1.seen) == 1 and bot1.events[-1].startswith("int"))
            # Give a misrouted event the time to arrive before saying none did.
            await asyncio.sleep(0.2)
            assert [m.content for m in bot0.seen] == ["in zero", "a DM"]
            assert [m.content for m in bot1.seen] == ["in one"]
            assert [e for e in bot0.events if e.startswith("interaction")] == []
            assert bot1.events[-1] == f"interaction:{one.id}"


async def test_a_guild_added_later_reaches_only_its_shard() -> None:
    async with two_shard_fake(max_concurrency=2) as fake:
        guild_with_channel(fake, "zero", (0, 2))
        async with shard_bots(fake, [0], [1]) as (bot0, bot1):
            late = guild_with_channel(fake, "late", (1, 2))
            # In shard 1's cache as soon as its GUILD_CREATE is read (no event says so: the
            # guild_join event waits for the member chunks), so looked at until it is.
            await wait_until(lambda: bot1.get_guild(late.id) is not None, within_s=5)
            await asyncio.sleep(0.1)
            assert bot0.get_guild(late.id) is None


async def test_identifies_faster_than_max_concurrency_are_refused() -> None:
    async with two_shard_fake(max_concurrency=1, identify_window=0.5) as fake:
        guild_with_channel(fake, "zero", (0, 2))
        bot = ShardBot(fake, shard_count=2)  # its hook does not wait: shard 1 comes too soon
        async with running(fake, bot, ready_within=10):
            await fake.wait_for(lambda: len(fake.gateway.connected_shards()) == 2, 10)
    refused = fake.shards.rejected_identifies
    assert refused and all(r.shard == (1, 2) for r in refused)
    accepted = [r.at for r in fake.shards.identifies if r.accepted]
    assert len(accepted) == 2 and accepted[1] - accepted[0] >= 0.5
    invalid = [r for r in fake.gateway_log if r.direction == "send" and r.op == OP_INVALID_SESSION]
    assert len(invalid) == len(refused)


async def test_shards_in_different_buckets_identify_together() -> None:
    async with two_shard_fake(max_concurrency=2, identify_window=5.0) as fake:
        guild_with_channel(fake, "zero", (0, 2))
        async with shard_bots(fake, [0, 1]):
            pass
    assert fake.shards.rejected_identifies == []


async def test_a_second_session_for_a_running_shard_is_recorded() -> None:
    async with two_shard_fake(max_concurrency=2) as fake:
        guild_with_channel(fake, "zero", (0, 2))
        async with shard_bots(fake, [0]):
            assert fake.shards.duplicates == []
            async with shard_bots(fake, [0]):
                assert fake.shards.duplicates == [(0, 2)]


async def test_identify_with_an_invalid_shard_is_closed_with_4010() -> None:
    async with (
        two_shard_fake() as fake,
        aiohttp.ClientSession() as http,
        http.ws_connect(fake.gateway_url) as ws,
    ):
        hello = await ws.receive_json()
        assert hello["op"] == 10
        identify = {"token": fake.token, "intents": 0, "properties": {}, "shard": [2, 2]}
        await ws.send_str(json.dumps({"op": OP_IDENTIFY, "d": identify}))
        closed = await ws.receive()
        assert closed.type == aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4010
