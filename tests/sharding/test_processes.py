"""Two bot processes (`python -m bot`) as shards 0 and 1 of 2, on one database (a SQLite file,
and a PostgreSQL database through DATABASE_URL), against the fake Discord (which routes each
guild's events to its shard and DMs to shard 0).

Each process answers only its own guild's members (told apart by the model each one is
configured with), DMs go to shard 0's process, only that process syncs slash commands (and a
restart with unchanged commands does not PUT them again), and a third process started on a
live shard is refused with one line before it touches anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.fakes.bot_env import bot_env
from tests.fakes.bot_subprocess import BotSubprocess, start_bot_subprocess
from tests.fakes.discord_server import FakeDiscord, FakeMessage
from tests.fakes.llm_scripts import Scripted, text_reply
from tests.fakes.llm_server import FakeLLMServer
from tests.sharding.test_compose import services


async def spawn_bot(
    env: dict[str, str], cwd: Path, *, wait_connected: bool = True
) -> BotSubprocess:
    return await start_bot_subprocess(env, cwd, wait_connected=wait_connected)


@asynccontextmanager
async def sharded_world() -> AsyncIterator[tuple[FakeDiscord, FakeLLMServer]]:
    """A fake Discord with two shards (one guild on each) and a model that says its name."""
    async with (
        # max_concurrency 1: the second process waits its turn (file lock or PostgreSQL).
        FakeDiscord(default_world=False, shards=2, max_concurrency=1, identify_window=5.0) as fake,
        FakeLLMServer() as llm,
    ):
        for shard, member in ((0, "alice"), (1, "bob")):
            guild = fake.add_guild(f"guild-{shard}", shard=(shard, 2))
            channel = fake.add_text_channel(guild.id, "general")
            user = fake.add_member(guild.id, member).user
            if shard == 0:  # the defaults bot_env and the helpers use
                fake.guild, fake.channel, fake.user = guild, channel, user

        def respond(body: dict[str, Any]) -> Scripted:
            return text_reply(f"answer from {body['model']}")

        llm.responder = respond
        yield fake, llm


def env_for_shard(
    fake: FakeDiscord, llm: FakeLLMServer, database: Path, shard: int, url: str
) -> dict[str, str]:
    """`url`: DATABASE_URL ("" for the SQLite file at `database`, which also holds the
    claims' folder either way). On PostgreSQL the processes run as compose.yaml's `shards`
    profile runs them: its shard services' own settings (shard ids, share of the global
    limit), with the database and Discord of this test."""
    model = ("model-zero", "model-one")[shard]
    shard_env = {"SHARD_COUNT": "2", "SHARD_IDS": str(shard)}
    if url:
        compose_env = services("shards")[f"switchboard-shard-{shard}"]["environment"]
        shard_env = {
            name: compose_env[name] for name in ("SHARD_COUNT", "SHARD_IDS", "DISCORD_GLOBAL_RATE")
        }
    return bot_env(fake, llm, database, LLM_MODEL=model, DATABASE_URL=url, **shard_env)


async def answer_in(fake: FakeDiscord, channel_id: int) -> FakeMessage:
    def found() -> FakeMessage | None:
        for message in fake.world.channel_messages(channel_id):  # the thread may not be yet
            # "-# ": the footer, so the answer is finished.
            mine = message.author.id == fake.bot_user.id
            if mine and "answer from" in message.content and "-# " in message.content:
                return message
        return None

    return await fake.wait_for(found, timeout=15)


async def test_two_shard_processes_each_answer_their_own_guilds(
    tmp_path: Path, database_url: str
) -> None:
    database, url = tmp_path / "switchboard.db", database_url
    async with sharded_world() as (fake, llm):
        zero, one = await asyncio.gather(
            *(spawn_bot(env_for_shard(fake, llm, database, s, url), tmp_path) for s in (0, 1))
        )
        try:
            assert sorted(fake.gateway.connected_shards()) == [(0, 2), (1, 2)]
            assert fake.shards.rejected_identifies == [] and fake.shards.duplicates == []
            # Only shard 0's process synced the commands.
            assert len(fake.calls_to("PUT", "/commands")) == 1
            assert any("running shard 0 of 2" in line for line in zero.log)
            assert any("running shard 1 of 2" in line for line in one.log)

            guild_zero, guild_one = fake.world.guilds.values()
            alice = fake.user
            assert alice is not None
            bob = next(m.user for m in guild_one.members.values() if m.user.username == "bob")
            mention = f"<@{fake.bot_user.id}> hello"
            asked_zero = await fake.send_user_message(
                guild_zero.channel_ids[0], alice, mention, mentions_bot=True
            )
            asked_one = await fake.send_user_message(
                guild_one.channel_ids[0], bob, mention, mentions_bot=True
            )
            dm = fake.add_dm_channel(bob)
            await fake.send_user_message(dm.id, bob, "hello in private")

            # A mention opens a thread whose id is the message's; each answered once, by the
            # process of that guild's shard; the DM by shard 0's process.
            assert "model-zero" in (await answer_in(fake, asked_zero.id)).content
            assert "model-one" in (await answer_in(fake, asked_one.id)).content
            assert "model-zero" in (await answer_in(fake, dm.id)).content
            await asyncio.sleep(0.5)  # time for a wrong second answer to show up
            for channel_id in (asked_zero.id, asked_one.id, dm.id):
                mine = [m for m in fake.messages(channel_id) if m.author.id == fake.bot_user.id]
                assert len(mine) == 1, [m.content for m in mine]
            assert sorted(r.json["model"] for r in llm.chat_requests) == [
                "model-one",
                "model-zero",
                "model-zero",
            ]

            # A third process on a live shard: refused with one line, before Discord. With
            # DATABASE_URL its files live elsewhere (another host, as far as file locks go):
            # the PostgreSQL claim refuses it.
            identifies = len(fake.shards.identifies)
            elsewhere = tmp_path / "elsewhere" / "switchboard.db" if url else database
            third = await spawn_bot(
                env_for_shard(fake, llm, elsewhere, 1, url), tmp_path, wait_connected=False
            )
            assert await third.exited() == 2
            refused = [line for line in third.log if "already run by" in line]
            assert refused and refused[0].startswith("Switchboard: shard 1 is already run by")
            assert f"pid {one.process.pid} on " in refused[0]
            assert "Traceback" not in "".join(third.log)
            assert len(fake.shards.identifies) == identifies

            # Shard 0's process again, commands unchanged: asked, not synced again.
            assert await zero.stop() == 0
            zero = await spawn_bot(env_for_shard(fake, llm, database, 0, url), tmp_path)
            assert len(fake.calls_to("PUT", "/commands")) == 1
            assert any("slash commands unchanged" in line for line in zero.log)
            assert database.exists() is not bool(url)  # the data went where it should
        finally:
            await asyncio.gather(zero.stop(), one.stop())
