"""Replies: MESSAGE_CREATE carries `referenced_message` (type 19), so discord.py resolves them."""

from __future__ import annotations

import discord
import pytest

from tests.discord_fake.conftest import RecordingBot, running
from tests.fakes.discord_server import MESSAGE_REPLY, FakeDiscord


class ReplyBot(RecordingBot):
    async def on_message(self, message: discord.Message) -> None:
        if message.author.id != self.fake.bot_user.id:
            self.note(message=message)


def _resolved(message: discord.Message) -> object:
    return message.reference.resolved if message.reference is not None else None


def _text_channel(bot: RecordingBot, fake: FakeDiscord) -> discord.TextChannel:
    assert fake.channel is not None
    channel = bot.get_channel(fake.channel.id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_replies_member_reply_resolves_to_the_message(fake: FakeDiscord) -> None:
    bot = ReplyBot(fake)
    async with running(fake, bot):
        question = await fake.send_user_message(content="question")
        reply = await fake.send_user_message(content="more detail", reply_to=question.id)
        await bot.until(lambda: len(bot.seen) == 2)
        fetched = await _text_channel(bot, fake).fetch_message(reply.id)
    seen = bot.seen[1]
    assert reply.type == MESSAGE_REPLY and seen.type is discord.MessageType.reply
    for message in (seen, fetched):
        assert message.reference is not None and message.reference.message_id == question.id
        resolved = message.reference.resolved
        assert isinstance(resolved, discord.Message)
        assert resolved.id == question.id and resolved.content == "question"


async def test_replies_to_a_deleted_message_resolve_to_deleted(fake: FakeDiscord) -> None:
    bot = ReplyBot(fake)
    async with running(fake, bot):
        question = await fake.send_user_message(content="question")
        earlier = await fake.send_user_message(content="first reply", reply_to=question.id)
        await fake.delete_user_message(question.id)
        # The member's client sent this before it saw the deletion.
        await fake.send_user_message(content="late reply", reply_to=question.id)
        await bot.until(lambda: len(bot.seen) == 3)
        refetched = await _text_channel(bot, fake).fetch_message(earlier.id)
    for message in (bot.seen[2], refetched):
        assert message.reference is not None and message.reference.message_id == question.id
        assert isinstance(message.reference.resolved, discord.DeletedReferencedMessage)
    # When it was created, the first reply still carried the live message.
    assert isinstance(_resolved(bot.seen[1]), discord.Message)


async def test_replies_bot_reply_to_a_gone_message(fake: FakeDiscord) -> None:
    bot = ReplyBot(fake)
    async with running(fake, bot):
        channel = _text_channel(bot, fake)
        question = await fake.send_user_message(content="question")
        reference = discord.MessageReference(message_id=question.id, channel_id=channel.id)
        answer = await channel.send("answer", reference=reference)
        assert answer.reference is not None
        assert isinstance(answer.reference.resolved, discord.Message)
        await fake.delete_user_message(question.id)
        with pytest.raises(discord.HTTPException) as refused:
            await channel.send("again", reference=reference)
        assert (refused.value.status, refused.value.code) == (400, 50035)
        assert "message_reference" in refused.value.text
        lenient = discord.MessageReference(
            message_id=question.id, channel_id=channel.id, fail_if_not_exists=False
        )
        plain = await channel.send("plain", reference=lenient)
    assert plain.reference is None and plain.type is discord.MessageType.default
    assert [m.content for m in fake.messages()] == ["answer", "plain"]


async def test_replies_ping_the_replied_author_only_when_asked(fake: FakeDiscord) -> None:
    bot = ReplyBot(fake)
    async with running(fake, bot):
        assert fake.user is not None
        question = await fake.send_user_message(content="question")
        await bot.until(lambda: len(bot.seen) == 1)
        pinged = await bot.seen[0].reply("pinged")  # discord.py: mention_author defaults on
        quiet = await bot.seen[0].reply("quiet", mention_author=False)
        back = await fake.send_user_message(
            content="thanks", reply_to=pinged.id, mention_replied=True
        )
        silent = await fake.send_user_message(content="ok", reply_to=pinged.id)
    assert fake.message(pinged.id).mention_ids == [fake.user.id]
    assert fake.message(quiet.id).mention_ids == []
    assert back.mention_ids == [fake.bot_user.id] and silent.mention_ids == []
    assert question.mention_ids == []


async def test_replies_referenced_content_is_blanked_by_its_own_rules(fake: FakeDiscord) -> None:
    """Without the Message Content intent, a reply that pings the bot is readable, but the
    member message it replies to is not (and the bot's own message always is)."""
    bot = ReplyBot(fake, message_content=False)
    async with running(fake, bot):
        channel = _text_channel(bot, fake)
        secret = await fake.send_user_message(content="secret")
        mine = await channel.send("bot text")
        bob = fake.add_user("bob")
        await fake.send_user_message(
            author=bob, content=f"<@{fake.bot_user.id}> look", reply_to=secret.id
        )
        await fake.send_user_message(
            author=bob, content="answering you", reply_to=mine.id, mention_replied=True
        )
        await bot.until(lambda: len(bot.seen) == 3)
    to_member, to_bot = bot.seen[1], bot.seen[2]
    assert to_member.content == f"<@{fake.bot_user.id}> look"
    hidden, shown = _resolved(to_member), _resolved(to_bot)
    assert isinstance(hidden, discord.Message) and hidden.content == ""
    assert to_bot.content == "answering you"
    assert isinstance(shown, discord.Message) and shown.content == "bot text"


async def test_replies_member_reply_must_target_a_message_of_the_channel(
    fake: FakeDiscord,
) -> None:
    assert fake.guild is not None
    elsewhere = fake.add_text_channel(fake.guild.id, "elsewhere")
    other = await fake.send_user_message(elsewhere.id, content="there")
    with pytest.raises(LookupError):
        await fake.send_user_message(content="here", reply_to=other.id)
    with pytest.raises(LookupError):
        await fake.send_user_message(content="here", reply_to=12345)
