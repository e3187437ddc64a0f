"""Members' edits reach discord.py as full MESSAGE_UPDATEs, cached or not."""

from __future__ import annotations

import discord

from tests.discord_fake.conftest import RecordingBot, running
from tests.fakes.discord_server import FakeDiscord


class EditBot(RecordingBot):
    def __init__(self, fake: FakeDiscord, *, message_content: bool = True) -> None:
        super().__init__(fake, message_content=message_content)
        self.raw: list[discord.RawMessageUpdateEvent] = []
        self.edits: list[tuple[discord.Message, discord.Message]] = []

    async def on_message(self, message: discord.Message) -> None:
        self.note(message=message)

    async def on_raw_message_edit(self, event: discord.RawMessageUpdateEvent) -> None:
        self.raw.append(event)
        self.note("raw_edit")

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        self.edits.append((before, after))
        self.note("edit")


async def test_edits_of_a_cached_message_give_before_and_after(fake: FakeDiscord) -> None:
    bot = EditBot(fake)
    async with running(fake, bot):
        message = await fake.send_user_message(content="before")
        await bot.until(lambda: len(bot.seen) == 1)
        await fake.edit_user_message(message.id, "after")
        await bot.until(lambda: "edit" in bot.events and "raw_edit" in bot.events)
    before, after = bot.edits[0]
    assert (before.content, after.content) == ("before", "after")
    assert before.edited_at is None and after.edited_at is not None
    assert after.edited_at == fake.message(message.id).edited_at
    assert bot.raw[0].cached_message is not None
    assert bot.raw[0].cached_message.content == "before"


async def test_edits_of_an_uncached_message_reach_the_raw_event(fake: FakeDiscord) -> None:
    message = await fake.send_user_message(content="sent before the bot connected")
    bot = EditBot(fake)
    async with running(fake, bot):
        assert bot._connection._get_message(message.id) is None
        await fake.edit_user_message(message.id, "edited while it was away")
        await bot.until(lambda: "raw_edit" in bot.events)
    event = bot.raw[0]
    assert event.cached_message is None
    assert event.message_id == message.id and event.channel_id == message.channel_id
    assert event.message.content == "edited while it was away"
    assert event.message.edited_at is not None
    assert isinstance(event.message.author, discord.Member)
    assert event.data["edited_timestamp"] is not None and event.data["tts"] is False


async def test_edits_keep_the_bot_mention_unless_told(fake: FakeDiscord) -> None:
    """Without the Message Content intent, an edited message that still mentions the bot stays
    readable; `mentions_bot=False` drops the mention and the edit arrives blanked."""
    bot = EditBot(fake, message_content=False)
    async with running(fake, bot):
        message = await fake.send_user_message(content="hey bot", mentions_bot=True)
        await fake.edit_user_message(message.id, "hey bot, again")
        await bot.until(lambda: len(bot.raw) == 1)
        await fake.edit_user_message(message.id, "never mind", mentions_bot=False)
        await bot.until(lambda: len(bot.raw) == 2)
    assert [e.message.content for e in bot.raw] == ["hey bot, again", ""]
    assert fake.message(message.id).mention_ids == []
