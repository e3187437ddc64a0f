"""REST faults for a while: 5xx answers that change nothing, and held responses."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord import app_commands

from tests.discord_fake.conftest import RecordingBot, running
from tests.fakes.discord_server import FakeDiscord

CREATE = "/channels/{channel_id}/messages"


def _text_channel(bot: RecordingBot, fake: FakeDiscord) -> discord.TextChannel:
    assert fake.channel is not None
    channel = bot.get_channel(fake.channel.id)
    assert isinstance(channel, discord.TextChannel)
    return channel


def _statuses(fake: FakeDiscord, method: str = "POST", route: str = CREATE) -> list[int]:
    return [c.status for c in fake.calls if c.method == method and c.route == route]


async def test_faults_server_error_changes_nothing(fake: FakeDiscord) -> None:
    bot = RecordingBot(fake)
    async with running(fake, bot):
        channel = _text_channel(bot, fake)
        fake.fail_requests(method="POST", route_contains=CREATE, status=503, seconds=30)
        with pytest.raises(discord.DiscordServerError) as failed:
            await channel.send("lost")
        assert failed.value.status == 503
        assert failed.value.text == "503: Service Unavailable"
        assert fake.messages() == []
        fake.clear_faults()
        await channel.send("after")
    assert [m.content for m in fake.messages()] == ["after"]
    assert _statuses(fake) == [503, 200]


async def test_faults_retried_500_posts_exactly_once(fake: FakeDiscord) -> None:
    """discord.py retries a 500 by itself after a second; the failed try left no message."""
    bot = RecordingBot(fake)
    async with running(fake, bot):
        channel = _text_channel(bot, fake)
        # Shorter than discord.py's first pause (1 s): the first try fails, the retry lands.
        fault = fake.fail_requests(method="POST", route_contains=CREATE, status=500, seconds=0.9)
        await channel.send("once")
    assert [m.content for m in fake.messages()] == ["once"]
    assert _statuses(fake) == [500, 200] and fault.hits == 1


async def test_faults_are_bounded_in_time(fake: FakeDiscord) -> None:
    bot = RecordingBot(fake)
    async with running(fake, bot):
        channel = _text_channel(bot, fake)
        fault = fake.fail_requests(route_contains=CREATE, status=502, seconds=0)
        await channel.send("fine")
    assert fault.hits == 0 and _statuses(fake) == [200]
    with pytest.raises(ValueError):
        fake.fail_requests(status=404, seconds=1)


async def test_faults_can_single_out_one_channel(fake: FakeDiscord) -> None:
    assert fake.guild is not None
    other = fake.add_text_channel(fake.guild.id, "other")
    bot = RecordingBot(fake)
    async with running(fake, bot):
        general = _text_channel(bot, fake)
        elsewhere = bot.get_channel(other.id)
        assert isinstance(elsewhere, discord.TextChannel)
        fake.fail_requests(route_contains=f"/channels/{other.id}/", status=503, seconds=30)
        await general.send("works")
        with pytest.raises(discord.DiscordServerError):
            await elsewhere.send("fails")
    assert [m.content for m in fake.messages()] == ["works"] and fake.messages(other.id) == []


class AnswerBot(RecordingBot):
    def __init__(self, fake: FakeDiscord) -> None:
        super().__init__(fake)
        self.outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def setup_hook(self) -> None:
        assert self.fake.guild is not None

        @app_commands.command(description="Answers late")
        async def answer(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            try:
                await interaction.edit_original_response(content="the answer")
            except discord.DiscordServerError as exc:
                self.outcome.set_result(f"{exc.status}")
            else:
                self.outcome.set_result("edited")

        guild = discord.Object(self.fake.guild.id)
        self.tree.add_command(answer, guild=guild)
        await self.tree.sync(guild=guild)


async def test_faults_apply_to_interaction_webhooks(fake: FakeDiscord) -> None:
    """discord.py's webhook client retries every 5xx; the failed try did not edit anything."""
    bot = AnswerBot(fake)
    async with running(fake, bot):
        fake.fail_requests(method="PATCH", route_contains="/webhooks/", status=503, seconds=0.9)
        interaction = await fake.invoke_slash_command("answer")
        assert await asyncio.wait_for(bot.outcome, 5) == "edited"
    original = fake.original_response(interaction)
    assert original is not None and original.content == "the answer"
    assert original.edit_count == 1
    assert _statuses(
        fake, "PATCH", "/webhooks/{application_id}/{interaction_token}/messages/@original"
    ) == [503, 200]


async def test_faults_held_response_times_out_but_the_message_landed(fake: FakeDiscord) -> None:
    """The classic: the client gives up, Discord had posted it. With a nonce (discord.py sends
    enforce_nonce) the retry returns the same message instead of a second one."""
    bot = RecordingBot(fake)
    async with running(fake, bot):
        channel = _text_channel(bot, fake)
        fake.delay_requests(method="POST", route_contains=CREATE, seconds=30, delay=30)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(channel.send("slow", nonce="answer-1"), 0.2)
        landed = await fake.wait_for_message(predicate=lambda m: m.content == "slow")
        fake.clear_faults()  # the held response goes now
        await fake.wait_for(lambda: any(c.held for c in fake.calls))
        retried = await channel.send("slow", nonce="answer-1")
    assert retried.id == landed.id and retried.nonce == "answer-1"
    assert [m.content for m in fake.messages()] == ["slow"]
    assert fake.gateway.sent_events("MESSAGE_CREATE") == 1


async def test_faults_held_request_applies_only_when_released(fake: FakeDiscord) -> None:
    bot = RecordingBot(fake)
    async with running(fake, bot):
        channel = _text_channel(bot, fake)
        fake.delay_requests(route_contains=CREATE, seconds=30, delay=30, apply_first=False)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(channel.send("queued"), 0.2)
        assert fake.messages() == []
        fake.clear_faults()
        late = await fake.wait_for_message(predicate=lambda m: m.content == "queued")
    assert late.author.id == fake.bot_user.id


async def test_faults_slow_response_still_succeeds(fake: FakeDiscord) -> None:
    bot = RecordingBot(fake)
    async with running(fake, bot):
        channel = _text_channel(bot, fake)
        sent = await channel.send("first")
        fake.delay_requests(method="PATCH", route_contains=CREATE, seconds=30, delay=0.1)
        edited = await sent.edit(content="edited slowly")
    assert edited.content == "edited slowly"
    patches = [c for c in fake.calls if c.method == "PATCH"]
    assert len(patches) == 1 and patches[0].held > 0


async def test_faults_nonce_deduplicates_creates(fake: FakeDiscord) -> None:
    bot = RecordingBot(fake)
    async with running(fake, bot):
        channel = _text_channel(bot, fake)
        first = await channel.send("first", nonce="same")
        again = await channel.send("second", nonce="same")
        other = await channel.send("third", nonce="other")
    assert again.id == first.id and again.content == "first" and other.id != first.id
    assert [m.content for m in fake.messages()] == ["first", "third"]
