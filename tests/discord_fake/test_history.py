"""Channel history and single-message fetches, paged like Discord, read by the real discord.py."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
import discord
import pytest

from tests.discord_fake.conftest import RecordingBot, running
from tests.fakes.discord.history import page
from tests.fakes.discord.models import PRIVILEGED_INTENTS
from tests.fakes.discord.validation import DiscordHTTPError
from tests.fakes.discord_server import (
    INTENT_MESSAGE_CONTENT,
    FakeDiscord,
    FakeFile,
    FakeMessage,
    FakeUser,
)


def _text_channel(bot: RecordingBot, fake: FakeDiscord) -> discord.TextChannel:
    assert fake.channel is not None
    channel = bot.get_channel(fake.channel.id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def _numbered(fake: FakeDiscord, count: int) -> list[FakeMessage]:
    return [await fake.send_user_message(content=f"m{n}") for n in range(count)]


async def test_history_before_a_message_mixes_members_bots_files_and_embeds(
    fake: FakeDiscord,
) -> None:
    bot = RecordingBot(fake)
    async with running(fake, bot):
        channel = _text_channel(bot, fake)
        other_bot = fake.add_user("helper", bot=True)
        await fake.send_user_message(content="too old")
        await fake.send_user_message(
            content="see file", attachments=[FakeFile("notes.txt", b"hello")]
        )
        await fake.send_user_message(
            author=other_bot, content="", embeds=[{"title": "Status", "description": "green"}]
        )
        own = await channel.send("mine", file=discord.File(io.BytesIO(b"abc"), "a.txt"))
        newest = await fake.send_user_message(content="newest")
        await fake.send_user_message(content="after the anchor")
        anchor = await channel.fetch_message(newest.id)

        got = [m async for m in channel.history(limit=3, before=anchor)]

    assert [m.content for m in got] == ["mine", "", "see file"]  # newest first
    mine, helper, member = got
    assert mine.author.id == fake.bot_user.id and mine.id == own.id
    assert [a.filename for a in mine.attachments] == ["a.txt"]
    assert helper.author.bot and helper.author.name == "helper"
    assert [(e.title, e.description) for e in helper.embeds] == [("Status", "green")]
    assert not member.author.bot and isinstance(member.author, discord.Member)
    assert [(a.filename, a.size) for a in member.attachments] == [("notes.txt", 5)]


async def test_history_pages_past_one_hundred_both_ways(fake: FakeDiscord) -> None:
    sent = await _numbered(fake, 130)
    bot = RecordingBot(fake)
    async with running(fake, bot):
        channel = _text_channel(bot, fake)
        newest_first = [m.id async for m in channel.history(limit=None)]
        after = discord.Object(sent[9].id)
        oldest_first = [m.id async for m in channel.history(limit=None, after=after)]
    assert newest_first == [m.id for m in reversed(sent)]
    assert oldest_first == [m.id for m in sent[10:]]
    pages = fake.calls_to("GET", "/channels/{channel_id}/messages")
    assert len(pages) >= 4 and all(c.status == 200 for c in pages)


async def test_history_around_a_message(fake: FakeDiscord) -> None:
    sent = await _numbered(fake, 11)
    bot = RecordingBot(fake)
    async with running(fake, bot):
        channel = _text_channel(bot, fake)
        got = [m.content async for m in channel.history(limit=5, around=sent[5])]
    # Newest first as Discord sends it (discord.py reverses only pages fetched with `after`).
    assert got == ["m7", "m6", "m5", "m4", "m3"]


async def test_history_leaves_out_deleted_and_ephemeral_messages(fake: FakeDiscord) -> None:
    first, second, third = await _numbered(fake, 3)
    await fake.delete_user_message(second.id)
    interaction = await fake.invoke_slash_command("anything")
    callback = f"{fake.api_base}/interactions/{interaction.id}/{interaction.token}/callback"
    private = {"type": 4, "data": {"content": "only you", "flags": 64}}
    async with aiohttp.ClientSession() as http, http.post(callback, json=private) as r:
        assert r.status == 204
    bot = RecordingBot(fake)
    async with running(fake, bot):
        channel = _text_channel(bot, fake)
        got = [m.id async for m in channel.history(limit=10)]
        ephemeral = fake.original_response(interaction)
        assert ephemeral is not None
        for gone in (second.id, ephemeral.id, 1):
            with pytest.raises(discord.NotFound) as info:
                await channel.fetch_message(gone)
            assert info.value.code == 10008
    assert got == [third.id, first.id]


async def test_history_query_is_validated_like_discord(fake: FakeDiscord) -> None:
    assert fake.channel is not None
    url = f"{fake.api_base}/channels/{fake.channel.id}/messages"
    auth = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession(headers=auth) as http:
        for query, field in (
            ({"limit": "101"}, "limit"),
            ({"limit": "0"}, "limit"),
            ({"before": "soon"}, "before"),
        ):
            async with http.get(url, params=query) as r:
                body: Any = await r.json()
                assert r.status == 400 and body["code"] == 50035
                assert field in body["errors"]
        async with http.get(url, params={"limit": "100"}) as r:
            assert r.status == 200 and await r.json() == []


def _messages(ids: list[int]) -> list[FakeMessage]:
    user = FakeUser(1, "alice")
    return [FakeMessage(id=i, channel_id=1, author=user) for i in ids]


def test_history_page_arithmetic() -> None:
    ids = list(range(1, 21))
    msgs = _messages(ids)
    assert [m.id for m in page(msgs, {})] == ids[::-1]
    assert [m.id for m in page(msgs, {"limit": "3"})] == [20, 19, 18]
    assert [m.id for m in page(msgs, {"before": "10", "limit": "3"})] == [9, 8, 7]
    # `after`: the ones right after, still newest first.
    assert [m.id for m in page(msgs, {"after": "10", "limit": "3"})] == [13, 12, 11]
    assert [m.id for m in page(msgs, {"around": "10", "limit": "4"})] == [11, 10, 9, 8]
    # An id that is no message is a point in time: around it, both sides share the limit.
    assert [m.id for m in page(_messages([2, 4, 6]), {"around": "5", "limit": "2"})] == [6, 4]
    with pytest.raises(DiscordHTTPError):
        page(msgs, {"limit": "x"})


async def test_history_blanks_content_when_the_app_lacks_the_intent() -> None:
    """REST follows the application's approval, not what a gateway session asked for."""
    approved = PRIVILEGED_INTENTS & ~INTENT_MESSAGE_CONTENT
    async with FakeDiscord(allowed_privileged_intents=approved) as fake:
        member = await fake.send_user_message(content="private words")
        mention = await fake.send_user_message(
            content=f"<@{fake.bot_user.id}> hello", mentions_bot=True
        )
        bot = RecordingBot(fake, message_content=False)
        async with running(fake, bot):
            channel = _text_channel(bot, fake)
            own = await channel.send("bot words")
            got = {m.id: m.content async for m in channel.history(limit=10)}
    assert got == {
        member.id: "",
        mention.id: f"<@{fake.bot_user.id}> hello",
        own.id: "bot words",
    }
