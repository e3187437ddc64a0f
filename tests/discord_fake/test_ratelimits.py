"""Rate-limit headers make discord.py pace itself; real 429s are counted and retried."""

from __future__ import annotations

import aiohttp
import discord

from tests.discord_fake.conftest import RecordingBot, running, small_limits
from tests.fakes.discord_server import BucketLimit, FakeDiscord

EDIT_ROUTE = "PATCH /channels/{channel_id}/messages/{message_id}"
HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-RateLimit-Reset-After",
    "X-RateLimit-Bucket",
)


async def _text_channel(bot: RecordingBot, fake: FakeDiscord) -> discord.TextChannel:
    assert fake.channel is not None
    channel = bot.get_channel(fake.channel.id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_ratelimits_headers_and_429_shape(fake: FakeDiscord) -> None:
    assert fake.channel is not None
    auth = {"Authorization": f"Bot {fake.token}"}
    messages = f"{fake.api_base}/channels/{fake.channel.id}/messages"
    async with aiohttp.ClientSession(headers=auth) as http:
        async with http.get(f"{fake.api_base}/users/@me") as r:
            assert r.status == 200 and all(h in r.headers for h in HEADERS)
        async with http.get(f"{messages}/1") as r:
            assert r.status == 404 and all(h in r.headers for h in HEADERS)
        async with http.get(f"{fake.api_base}/no/such/route") as r:
            assert r.status == 404 and all(h in r.headers for h in HEADERS)
        remaining = []
        for n in range(5):
            async with http.post(messages, json={"content": str(n)}) as r:
                assert r.status == 200 and r.headers["X-RateLimit-Limit"] == "5"
                remaining.append(r.headers["X-RateLimit-Remaining"])
        assert remaining == ["4", "3", "2", "1", "0"]
        async with http.post(messages, json={"content": "too many"}) as r:
            assert r.status == 429
            body = await r.json()
            assert set(body) == {"message", "retry_after", "global"} and body["global"] is False
            assert 0 < body["retry_after"] <= 0.3
            assert r.headers["X-RateLimit-Scope"] == "user"
            assert "Via" in r.headers and "Retry-After" in r.headers
    assert fake.rate_limit_hits["POST /channels/{channel_id}/messages"] == 1
    assert len(fake.messages()) == 5


async def test_ratelimits_client_paces_itself_without_429(fake: FakeDiscord) -> None:
    bot = RecordingBot(fake)
    async with running(fake, bot):
        channel = await _text_channel(bot, fake)
        sent = [await channel.send(f"message {n}") for n in range(8)]
        for n in range(12):  # more than two windows' worth of edits in one channel
            await sent[0].edit(content=f"edit {n}")
    stored = fake.message(sent[0].id)
    assert stored.content == "edit 11" and stored.edit_count == 12
    assert len(fake.messages()) == 8
    assert fake.total_429s == 0


class WebhookBot(RecordingBot):
    async def setup_hook(self) -> None:
        assert self.fake.guild is not None

        @discord.app_commands.command(description="stream")
        async def stream(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            for n in range(8):
                await interaction.edit_original_response(content=f"chunk {n}")
            self.note("streamed")

        guild = discord.Object(self.fake.guild.id)
        self.tree.add_command(stream, guild=guild)
        await self.tree.sync(guild=guild)


async def test_ratelimits_interaction_webhook_paced(fake: FakeDiscord) -> None:
    bot = WebhookBot(fake)
    async with running(fake, bot):
        interaction = await fake.invoke_slash_command("stream")
        await bot.until(lambda: "streamed" in bot.events)
    original = fake.original_response(interaction)
    assert original is not None and original.content == "chunk 7" and original.edit_count == 8
    assert fake.total_429s == 0


async def test_ratelimits_lying_remaining_gets_429_and_retry() -> None:
    async with FakeDiscord(rate_limits=small_limits()) as fake:
        fake.rate_limits.lie_about_remaining = True
        bot = RecordingBot(fake)
        async with running(fake, bot):
            channel = await _text_channel(bot, fake)
            message = await channel.send("start")
            for n in range(7):
                await message.edit(content=f"edit {n}")
        stored = fake.message(message.id)
        assert stored.content == "edit 6" and stored.edit_count == 7
        assert fake.rate_limit_hits[EDIT_ROUTE] >= 1
        statuses = [c.status for c in fake.calls if c.key == EDIT_ROUTE]
        assert statuses.count(429) == fake.rate_limit_hits[EDIT_ROUTE]
        assert statuses.count(200) == 7


async def test_ratelimits_global_429_is_retried() -> None:
    limits = small_limits()
    limits.global_limit = BucketLimit(50, 1.0)
    async with FakeDiscord(rate_limits=limits) as fake:
        bot = RecordingBot(fake)
        async with running(fake, bot):
            channel = await _text_channel(bot, fake)
            fake.inject_429(retry_after=0.05, is_global=True, match="POST /channels")
            await channel.send("after a global 429")
        assert [m.content for m in fake.messages()] == ["after a global 429"]
        statuses = [c.status for c in fake.calls_to("POST", "/channels/{channel_id}/messages")]
        assert statuses == [429, 200]
        assert fake.total_429s == 1
