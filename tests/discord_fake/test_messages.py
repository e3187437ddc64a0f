"""Messages, threads, validation errors and Message Content intent blanking, via real discord.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord.http import Route

from tests.discord_fake.conftest import RecordingBot, running
from tests.fakes.discord_server import FLAG_IS_COMPONENTS_V2, FakeDiscord

Action = Callable[[], Awaitable[Any]]


class StreamBot(RecordingBot):
    def __init__(self, fake: FakeDiscord, **kwargs: Any) -> None:
        super().__init__(fake, **kwargs)
        self.finished = asyncio.Event()
        self.outcome: dict[str, Any] = {}

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        self.note(message=message)
        if message.content != "!stream":
            return
        assert isinstance(message.channel, discord.TextChannel)
        async with message.channel.typing():
            reply = await message.channel.send("…", allowed_mentions=discord.AllowedMentions.none())
        for n in range(3):
            await reply.edit(content=f"part {n}", allowed_mentions=discord.AllowedMentions.none())
        thread = await reply.create_thread(name="details")
        await thread.send("in the thread")
        try:
            await reply.create_thread(name="again")
        except discord.HTTPException as exc:
            self.outcome["again"] = (exc.status, exc.code)
        fetched = await message.channel.fetch_message(reply.id)
        self.outcome["fetched"] = fetched.content
        self.outcome["thread"] = thread
        self.finished.set()


async def test_messages_send_edit_and_thread(fake: FakeDiscord) -> None:
    bot = StreamBot(fake)
    async with running(fake, bot):
        assert fake.channel is not None
        await fake.send_user_message(content="!stream")
        await asyncio.wait_for(bot.finished.wait(), 5)
        reply = fake.messages()[1]
        assert reply.author.id == fake.bot_user.id
        assert reply.content == "part 2" and reply.edit_count == 3
        assert all(r.allowed_mentions == {"parse": []} for r in reply.revisions)
        assert fake.channel.typing_count >= 1
        thread = bot.outcome["thread"]
        assert isinstance(thread, discord.Thread)
        assert thread.id == reply.id and reply.thread_id == reply.id
        assert [t.id for t in fake.threads()] == [reply.id]
        assert [m.content for m in fake.messages(thread.id)] == ["in the thread"]
        assert bot.outcome["again"] == (400, 160004)
        assert bot.outcome["fetched"] == "part 2"
        await bot.until(lambda: f"thread_create:{reply.id}" in bot.events)
    assert fake.total_429s == 0


async def _error_of(action: Action) -> tuple[int, int, str]:
    try:
        await action()
    except discord.HTTPException as exc:
        return exc.status, exc.code, exc.text
    raise AssertionError("expected an HTTPException")


async def test_messages_validation_errors(fake: FakeDiscord) -> None:
    bot = RecordingBot(fake)
    async with running(fake, bot):
        assert fake.channel is not None and fake.user is not None
        channel = bot.get_channel(fake.channel.id)
        assert isinstance(channel, discord.TextChannel)

        status, code, text = await _error_of(lambda: channel.send("x" * 2001))
        assert (status, code) == (400, 50035)
        assert text == "Invalid Form Body\nIn content: Must be 2000 or fewer in length."

        big = discord.Embed(description="d" * 4097)
        status, code, text = await _error_of(lambda: channel.send(embed=big))
        assert (status, code) == (400, 50035) and "embeds.0.description" in text

        fields = discord.Embed(title="t")
        for n in range(26):
            fields.add_field(name=f"f{n}", value="v")
        assert (await _error_of(lambda: channel.send(embed=fields)))[:2] == (400, 50035)

        total = [discord.Embed(description="d" * 4000), discord.Embed(description="e" * 2001)]
        status, code, text = await _error_of(lambda: channel.send(embeds=total))
        assert (status, code) == (400, 50035) and "6000" in text

        assert (await _error_of(lambda: channel.send()))[:2] == (400, 50006)

        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel.id)
        v2 = {"flags": FLAG_IS_COMPONENTS_V2, "components": [{"type": 10, "content": "a" * 4001}]}
        status, code, text = await _error_of(lambda: bot.http.request(route, json=v2))
        assert (status, code) == (400, 50035) and "components" in text
        ok = {"flags": FLAG_IS_COMPONENTS_V2, "components": [{"type": 10, "content": "a" * 4000}]}
        await bot.http.request(route, json=ok)

        missing = await _error_of(lambda: channel.fetch_message(1))
        assert missing[:2] == (404, 10008)
        gone = await _error_of(lambda: bot.http.get_channel(1))
        assert gone[:2] == (404, 10003)

        user_message = await fake.send_user_message(content="hello")
        theirs = await channel.fetch_message(user_message.id)
        assert (await _error_of(lambda: theirs.edit(content="nope")))[:2] == (403, 50005)

        # Exactly at the limits is accepted.
        await channel.send("y" * 2000, embeds=[discord.Embed(description="d" * 4096)])
    assert fake.unknown_calls == []


async def test_messages_unknown_route_is_logged_404(fake: FakeDiscord) -> None:
    bot = RecordingBot(fake)
    async with running(fake, bot):
        route = Route("GET", "/guilds/{guild_id}/audit-logs", guild_id=1)
        status, _, _ = await _error_of(lambda: bot.http.request(route))
        assert status == 404
    assert [c.path for c in fake.unknown_calls] == ["/api/v10/guilds/1/audit-logs"]


class ContentBot(RecordingBot):
    async def on_message(self, message: discord.Message) -> None:
        if not message.author.bot:
            self.note(message=message)


async def test_messages_content_blank_without_intent(fake: FakeDiscord) -> None:
    bot = ContentBot(fake, message_content=False)
    async with running(fake, bot):
        assert fake.user is not None
        await fake.send_user_message(content="plain")
        await fake.send_user_message(content=f"<@{fake.bot_user.id}> hi", mentions_bot=True)
        dm = fake.add_dm_channel(fake.user)
        await fake.send_user_message(dm.id, content="in a dm")
        await bot.until(lambda: len(bot.seen) == 3)
    assert [m.content for m in bot.seen] == ["", f"<@{fake.bot_user.id}> hi", "in a dm"]
    assert isinstance(bot.seen[2].channel, discord.DMChannel)


async def test_messages_content_visible_with_intent(fake: FakeDiscord) -> None:
    bot = ContentBot(fake, message_content=True)
    async with running(fake, bot):
        await fake.send_user_message(content="plain")
        await bot.until(lambda: len(bot.seen) == 1)
    assert bot.seen[0].content == "plain"


async def test_messages_disallowed_intent_closes_4014() -> None:
    async with FakeDiscord(allowed_privileged_intents=0) as fake:
        bot = RecordingBot(fake, message_content=True)
        try:
            async with running(fake, bot):
                raise AssertionError("must not become ready")
        except discord.PrivilegedIntentsRequired:
            pass
