"""A shared REST proxy's own 429s (no `Via` header) with the real discord.py client.

Alone, discord.py raises such a 429 as a Cloudflare ban; with the bot's middleware
(bot.discord_ui.rest_proxy) on its session they are waited out and sent again, through the
REST path and the interaction-webhook path alike, and every message lands exactly once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.discord_ui import rest_proxy
from tests.discord_fake.conftest import RecordingBot, running, small_limits
from tests.fakes.discord_server import FakeDiscord

SEND = "POST /channels/{channel_id}/messages"


class ProxiedBot(RecordingBot):
    """A RecordingBot whose session waits out Via-less 429s, as SwitchboardBot's does."""

    def __init__(self, fake: FakeDiscord, *, middleware: bool = True, **kwargs: Any) -> None:
        super().__init__(fake, **kwargs)
        self.middleware = middleware

    async def setup_hook(self) -> None:
        if self.middleware:
            rest_proxy.install(self.http._HTTPClient__session)  # type: ignore[attr-defined]

        @app_commands.command(name="ask", description="Answers in two parts")
        async def ask(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            await interaction.followup.send("first part")
            await interaction.followup.send("second part")

        self.tree.add_command(ask)


def channel_of(bot: RecordingBot, fake: FakeDiscord) -> discord.TextChannel:
    assert fake.channel is not None
    channel = bot.get_channel(fake.channel.id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_proxy_429_without_via_is_waited_out_and_sent_once(fake: FakeDiscord) -> None:
    bot = ProxiedBot(fake)
    async with running(fake, bot):
        fake.inject_429(times=2, retry_after=0.15, via=False, match=SEND)
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = await channel_of(bot, fake).send("hello")
        assert loop.time() - start >= 0.3
    assert [m.content for m in fake.messages()] == ["hello"]
    assert fake.messages()[0].id == sent.id
    assert [c.status for c in fake.calls_to("POST", "/channels/")] == [429, 429, 200]


async def test_proxy_429_without_the_middleware_discord_py_raises(fake: FakeDiscord) -> None:
    """Why the middleware exists: discord.py takes a Via-less 429 for a ban and gives up."""
    bot = ProxiedBot(fake, middleware=False)
    async with running(fake, bot):
        fake.inject_429(times=1, retry_after=0.1, via=False, match=SEND)
        with pytest.raises(discord.HTTPException) as raised:
            await channel_of(bot, fake).send("hello")
        assert raised.value.status == 429
    assert fake.messages() == []


async def test_proxy_429_on_interaction_webhooks_is_waited_out(fake: FakeDiscord) -> None:
    bot = ProxiedBot(fake)
    async with running(fake, bot):
        assert fake.guild is not None
        await bot.tree.sync()
        fake.inject_429(times=1, retry_after=0.1, via=False, match="/callback")
        fake.inject_429(times=2, retry_after=0.1, via=False, match="POST /webhooks")
        interaction = await fake.invoke_slash_command("ask")
        await fake.wait_for(lambda: len(interaction.followup_ids) == 1)

        def contents() -> list[str]:
            return [m.content for m in fake.messages() if not m.loading]

        await fake.wait_for(lambda: len(contents()) == 2)
        assert contents() == ["first part", "second part"]
    assert fake.total_429s == 3


async def test_proxy_429s_under_load_lose_nothing_and_post_nothing_twice() -> None:
    """A proxy that answers 429 itself (no Via) to a client that cannot pace ahead: the
    bucket's Remaining never reaches 0, so every burst runs into the proxy's 429s."""
    limits = small_limits()
    limits.lie_about_remaining = True
    limits.proxy_429s = True
    async with FakeDiscord(rate_limits=limits) as fake:
        bot = ProxiedBot(fake)
        async with running(fake, bot):
            channel = channel_of(bot, fake)
            await asyncio.gather(*(channel.send(f"part {n}") for n in range(15)))
        assert fake.total_429s > 0
        assert sorted(m.content for m in fake.messages()) == sorted(f"part {n}" for n in range(15))
