"""Renaming threads: THREAD_UPDATE, name validation, and Discord's two renames per window."""

from __future__ import annotations

import aiohttp
import discord
import pytest

from tests.discord_fake.conftest import RecordingBot, running, small_limits
from tests.fakes.discord_server import BucketLimit, FakeChannel, FakeDiscord

RENAME = "PATCH /channels/{channel_id}"


class ThreadBot(RecordingBot):
    def __init__(self, fake: FakeDiscord, *, max_ratelimit_timeout: float | None = None) -> None:
        super().__init__(fake, max_ratelimit_timeout=max_ratelimit_timeout)
        self.updates: list[tuple[str, str]] = []

    async def on_thread_update(self, before: discord.Thread, after: discord.Thread) -> None:
        self.updates.append((before.name, after.name))
        self.note("thread_update")


async def _thread(bot: RecordingBot, fake: FakeDiscord, name: str = "first") -> discord.Thread:
    assert fake.channel is not None
    channel = bot.get_channel(fake.channel.id)
    assert isinstance(channel, discord.TextChannel)
    starter = await channel.send("starter")
    return await starter.create_thread(name=name)


def _renaming_fake(window: float = 1.5) -> FakeDiscord:
    """Renames limited to two per `window` seconds (long enough that three quick renames
    always meet in one window, even on a busy machine)."""
    limits = small_limits()
    limits.channel_rename = BucketLimit(2, window)
    return FakeDiscord(rate_limits=limits)


async def test_threads_rename_reaches_the_client(fake: FakeDiscord) -> None:
    bot = ThreadBot(fake)
    async with running(fake, bot):
        thread = await _thread(bot, fake)
        renamed = await thread.edit(name="Renamed: a better title")
        await bot.until(lambda: "thread_update" in bot.events)
    assert renamed.name == "Renamed: a better title"
    assert bot.updates == [("first", "Renamed: a better title")]
    assert fake.world.channels[thread.id].name == "Renamed: a better title"
    assert fake.gateway.sent_events("THREAD_UPDATE") == 1


async def test_threads_rename_validates_the_name(fake: FakeDiscord) -> None:
    bot = ThreadBot(fake)
    async with running(fake, bot):
        thread = await _thread(bot, fake)
        for bad in ("", "n" * 101):
            with pytest.raises(discord.HTTPException) as refused:
                await thread.edit(name=bad)
            assert (refused.value.status, refused.value.code) == (400, 50035)
            assert "name" in refused.value.text
        await thread.edit(name="n" * 100)
    assert fake.world.channels[thread.id].name == "n" * 100


async def test_threads_third_rename_waits_out_the_window() -> None:
    async with _renaming_fake() as fake:
        bot = ThreadBot(fake)
        async with running(fake, bot):
            thread = await _thread(bot, fake)
            for name in ("one", "two", "three"):
                thread = await thread.edit(name=name)
        assert fake.world.channels[thread.id].name == "three"
        # discord.py slept the retry_after of the 429, then the rename went through.
        assert [c.status for c in fake.calls if c.key == RENAME] == [200, 200, 429, 200]
        assert fake.rate_limit_hits[RENAME] == 1


async def _patch(
    http: aiohttp.ClientSession, url: str, body: dict[str, object]
) -> aiohttp.ClientResponse:
    async with http.patch(url, json=body) as r:
        await r.read()
        return r


async def test_threads_rename_limit_is_per_channel_and_hidden() -> None:
    """The 429 says scope "shared" while the route's headers still show requests left, and
    it counts names only, per channel."""
    async with _renaming_fake(window=60.0) as fake:
        bot = ThreadBot(fake)
        async with running(fake, bot):
            first = await _thread(bot, fake)
            other = await _thread(bot, fake, name="other")
        auth = {"Authorization": f"Bot {fake.token}"}
        url = f"{fake.api_base}/channels/{first.id}"
        async with aiohttp.ClientSession(headers=auth) as http:
            assert (await _patch(http, url, {"name": "a"})).status == 200
            assert (await _patch(http, url, {"name": "b"})).status == 200
            async with http.patch(url, json={"name": "c"}) as r:
                body = await r.json()
                assert r.status == 429 and r.headers["X-RateLimit-Scope"] == "shared"
                assert r.headers["X-RateLimit-Remaining"] != "0" and "Via" in r.headers
                assert body["global"] is False and 0 < body["retry_after"] <= 60.0
            # Other settings and other channels are not limited.
            assert (await _patch(http, url, {"locked": True})).status == 200
            other_url = f"{fake.api_base}/channels/{other.id}"
            assert (await _patch(http, other_url, {"name": "fine"})).status == 200
        thread: FakeChannel = fake.world.channels[first.id]
        assert thread.name == "b" and thread.locked


async def test_threads_long_rename_wait_raises_rate_limited() -> None:
    async with FakeDiscord(rate_limits=small_limits()) as fake:  # Discord's ten minutes
        bot = ThreadBot(fake, max_ratelimit_timeout=30.0)
        async with running(fake, bot):
            thread = await _thread(bot, fake)
            await thread.edit(name="one")
            await thread.edit(name="two")
            with pytest.raises(discord.RateLimited) as limited:
                await thread.edit(name="three")
    assert 590 < limited.value.retry_after <= 600


async def test_threads_archived_thread_renames_only_while_unarchiving(fake: FakeDiscord) -> None:
    bot = ThreadBot(fake)
    async with running(fake, bot):
        thread = await _thread(bot, fake)
        fake.archive_thread(thread.id)
        with pytest.raises(discord.HTTPException) as archived:
            await thread.edit(name="still archived")
        assert archived.value.code == 50083
        await thread.edit(name="back", archived=False)
    stored = fake.world.channels[thread.id]
    assert stored.name == "back" and not stored.archived


async def test_threads_text_channel_rename_and_topic(fake: FakeDiscord) -> None:
    bot = ThreadBot(fake)
    async with running(fake, bot):
        assert fake.channel is not None
        channel = bot.get_channel(fake.channel.id)
        assert isinstance(channel, discord.TextChannel)
        edited = await channel.edit(name="renamed", topic="what we talk about")
    assert edited is not None and edited.name == "renamed"
    assert (fake.channel.name, fake.channel.topic) == ("renamed", "what we talk about")
    assert fake.gateway.sent_events("CHANNEL_UPDATE") == 1
