"""The real discord.py client logs in, connects and becomes ready against the fake."""

from __future__ import annotations

import asyncio

import discord
import discord.gateway
import discord.http

from tests.discord_fake.conftest import RecordingBot, running
from tests.fakes.discord_client import pointed_at
from tests.fakes.discord_server import FakeDiscord


async def test_client_connects_and_becomes_ready(fake: FakeDiscord) -> None:
    bot = RecordingBot(fake)
    async with running(fake, bot):
        assert bot.user is not None and bot.user.id == fake.bot_user.id
        assert bot.application_id == fake.application_id
        assert fake.guild is not None and fake.channel is not None and fake.user is not None
        guild = bot.get_guild(fake.guild.id)
        assert guild is not None
        assert guild.get_channel(fake.channel.id) is not None
        assert guild.get_member(fake.user.id) is not None
        assert guild.me is not None
        assert "ready" in bot.events
    routes = [c.key for c in fake.calls]
    assert "GET /users/@me" in routes
    assert "GET /oauth2/applications/@me" in routes
    assert fake.unknown_calls == []


async def test_client_pointer_restores_globals(fake: FakeDiscord) -> None:
    base = discord.http.Route.BASE
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    with pointed_at(fake):
        assert fake.api_base == discord.http.Route.BASE
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == fake.gateway_url
    assert base == discord.http.Route.BASE
    assert gateway == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


async def test_client_bad_token_fails_login(fake: FakeDiscord) -> None:
    bot = RecordingBot(fake)
    with pointed_at(fake):
        try:
            await bot.login("wrong-token")
        except discord.LoginFailure:
            pass
        else:
            raise AssertionError("login with a wrong token must fail")
        finally:
            await bot.close()


async def test_client_autosharded_uses_gateway_bot(fake: FakeDiscord) -> None:
    intents = discord.Intents.default()
    bot = discord.AutoShardedClient(intents=intents, guild_ready_timeout=0.1)
    ready = asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    bot.event(on_ready)
    with pointed_at(fake):
        task = asyncio.create_task(bot.start(fake.token))
        try:
            await asyncio.wait_for(ready.wait(), 5)
            assert bot.shard_count == 1
        finally:
            await bot.close()
            await task
    assert [c.status for c in fake.calls_to("GET", "/gateway/bot")] == [200]
