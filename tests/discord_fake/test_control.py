"""Control-API conveniences and the less central REST routes (files, reactions, DMs)."""

from __future__ import annotations

import asyncio
import io

import discord
import pytest

from tests.discord_fake.conftest import RecordingBot, running
from tests.fakes.discord_client import env_for
from tests.fakes.discord_server import FakeDiscord


async def test_control_wait_for_times_out(fake: FakeDiscord) -> None:
    with pytest.raises(TimeoutError):
        await fake.wait_for(lambda: False, timeout=0.05)


async def test_control_wait_for_message_wakes_on_change(fake: FakeDiscord) -> None:
    assert fake.user is not None
    await fake.send_user_message(content="first")
    await fake.send_user_message(content="second")
    found = await fake.wait_for_message(predicate=lambda m: m.content == "second", timeout=1)
    assert found.author.id == fake.user.id and found.edit_count == 0


async def test_control_world_building_reaches_client(fake: FakeDiscord) -> None:
    bot = RecordingBot(fake)
    async with running(fake, bot):
        guild = fake.add_guild("Second")
        role = fake.add_role(guild.id, "mods", permissions=8)
        channel = fake.add_text_channel(guild.id, "random", topic="misc")
        member = fake.add_member(guild.id, "bob", roles=[role])
        await fake.send_user_message(channel.id, member.user, "hi there")
        await fake.wait_for(lambda: fake.gateway.sent_events("MESSAGE_CREATE") >= 1)
        await bot.wait_for("message", check=lambda m: m.content == "hi there", timeout=5)
        client_guild = bot.get_guild(guild.id)
        assert client_guild is not None
        assert client_guild.get_channel(channel.id) is not None
        client_member = client_guild.get_member(member.user.id)
        assert client_member is not None and role.id in [r.id for r in client_member.roles]
    assert env_for(fake) == {
        "DISCORD_API_BASE": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
    }


async def test_control_files_reactions_and_dms(fake: FakeDiscord) -> None:
    bot = RecordingBot(fake)
    async with running(fake, bot):
        assert fake.channel is not None and fake.user is not None
        channel = bot.get_channel(fake.channel.id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("with a file", file=discord.File(io.BytesIO(b"abc"), "a.txt"))
        assert [(a.filename, a.size) for a in sent.attachments] == [("a.txt", 3)]
        await sent.add_reaction("👍")
        target = await bot.fetch_user(fake.user.id)
        dm_message = await target.send("hello in private")
    stored = fake.message(sent.id)
    assert stored.attachments[0]["filename"] == "a.txt" and stored.reactions == ["👍"]
    dm = fake.world.channels[dm_message.channel.id]
    assert dm.recipient_ids == [fake.user.id]
    assert [m.content for m in fake.messages(dm.id)] == ["hello in private"]
    assert fake.unknown_calls == []


async def test_control_denied_channel_and_archived_thread(fake: FakeDiscord) -> None:
    bot = RecordingBot(fake)
    async with running(fake, bot):
        assert fake.channel is not None
        channel = bot.get_channel(fake.channel.id)
        assert isinstance(channel, discord.TextChannel)
        starter = await channel.send("starter")
        thread = await starter.create_thread(name="t")
        inside = await thread.send("inside")
        fake.archive_thread(thread.id)
        with pytest.raises(discord.HTTPException) as archived:
            await inside.edit(content="edited")
        assert archived.value.code == 50083
        await thread.send("unarchives")
        assert not fake.world.channels[thread.id].archived
        fake.deny_channel(channel.id)
        with pytest.raises(discord.Forbidden) as denied:
            await channel.send("nope")
        assert denied.value.code == 50013
        fake.deny_channel(channel.id, denied=False)
        await channel.send("allowed again")


async def test_control_user_edit_reaches_client_blanked(fake: FakeDiscord) -> None:
    bot = RecordingBot(fake, message_content=False)
    async with running(fake, bot):
        message = await fake.send_user_message(content="before")
        waiter = asyncio.create_task(bot.wait_for("raw_message_edit", timeout=5))
        await fake.edit_user_message(message.id, "after")
        event = await waiter
        assert event.message_id == message.id
        assert event.data["content"] == ""  # no Message Content intent
        assert fake.message(message.id).content == "after"
        assert fake.message(message.id).edit_count == 1
