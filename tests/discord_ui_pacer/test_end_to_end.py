"""Real discord.py `Message.edit` and `channel.send` calls, paced by the EditPacer, against the
fake Discord server and its real rate-limit buckets: many answers stream, none gets a 429."""

from __future__ import annotations

import asyncio
import time

import discord

from bot.discord_ui.lanes import Lane
from bot.discord_ui.pacer import EditPacer
from tests.discord_ui_pacer.conftest import running
from tests.fakes.discord_server import BucketLimit, FakeDiscord, RateLimitConfig

# Discord's shapes with time divided by 10 (channels) and 5 (global): 5 per 0.5 s per channel,
# 20 per 0.2 s for the whole bot. The pacer gets 80/s against that 100/s, like 45 against 50.
WINDOW_S = 0.5
ANSWERS = 20  # 20 channels at 8 sends/s each would be 160/s: the global budget binds


def _limits() -> RateLimitConfig:
    return RateLimitConfig(
        message_create=BucketLimit(5, WINDOW_S),
        message_edit=BucketLimit(5, WINDOW_S),
        global_limit=BucketLimit(20, 0.2),
    )


async def test_pacer_drives_discord_py_edits_without_a_single_429() -> None:
    async with FakeDiscord(rate_limits=_limits()) as fake:
        assert fake.guild is not None
        channels = [fake.add_text_channel(fake.guild.id, f"answer-{i}") for i in range(ANSWERS)]
        client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        async with (
            running(fake, client),
            EditPacer(global_per_second=80.0, global_burst=1) as pacer,
        ):
            lanes = [Lane(f"channel:{c.id}", 5, WINDOW_S) for c in channels]
            targets = []
            for fake_channel in channels:
                channel = client.get_channel(fake_channel.id)
                assert isinstance(channel, discord.TextChannel)
                targets.append(channel)
            # Placeholders go through the same lanes (and global budget) as the edits.
            messages = await asyncio.gather(
                *(
                    pacer.call(lane, lambda c=channel: c.send("…"))
                    for lane, channel in zip(lanes, targets, strict=True)
                )
            )

            def edit(message: discord.Message, text: str) -> object:
                return lambda: message.edit(content=text)

            version = 0
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:  # tokens arrive every 10 ms for every answer
                version += 1
                for i, (lane, message) in enumerate(zip(lanes, messages, strict=True)):
                    text = f"answer {i}: {'word ' * version}"
                    pacer.submit(i, lane, version, edit(message, text), first_visible=version == 1)
                await asyncio.sleep(0.01)
            version += 1
            for i, (lane, message) in enumerate(zip(lanes, messages, strict=True)):
                pacer.submit(i, lane, version, edit(message, f"answer {i}: done"), final=True)
            landed = [await pacer.wait_landed(i, version) for i in range(ANSWERS)]
        assert all(landed)
        assert fake.total_429s == 0, fake.rate_limit_hits
        for i, message in enumerate(messages):
            stored = fake.message(message.id)
            assert stored.content == f"answer {i}: done"
            assert stored.edit_count >= 2  # streamed, not just the final state


class StreamingClient(discord.Client):
    """Answers /stream by deferring, then streaming edits of the original response through the
    pacer's interaction lane (webhook routes: exempt from the global limit)."""

    def __init__(self, fake: FakeDiscord, pacer: EditPacer) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        self.fake = fake
        self.pacer = pacer
        self.tree = discord.app_commands.CommandTree(self)
        self.finished: asyncio.Future[bool] | None = None

    async def setup_hook(self) -> None:
        assert self.fake.guild is not None
        self.finished = asyncio.get_running_loop().create_future()

        @discord.app_commands.command(description="stream an answer")
        async def stream(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            lane = Lane(f"interaction:{interaction.id}", 5, WINDOW_S, uses_global=False)

            def edit(text: str) -> object:
                return lambda: interaction.edit_original_response(content=text)

            for version in range(1, 101):  # a token every 10 ms for a second
                self.pacer.submit("original", lane, version, edit("word " * version))
                await asyncio.sleep(0.01)
            self.pacer.submit("original", lane, 101, edit("done"), final=True)
            landed = await self.pacer.wait_landed("original", 101)
            assert self.finished is not None
            self.finished.set_result(landed)

        guild = discord.Object(self.fake.guild.id)
        self.tree.add_command(stream, guild=guild)
        await self.tree.sync(guild=guild)


async def test_pacer_streams_an_interaction_response_without_a_429() -> None:
    limits = RateLimitConfig(interaction_webhook=BucketLimit(5, WINDOW_S))
    async with FakeDiscord(rate_limits=limits) as fake, EditPacer() as pacer:
        client = StreamingClient(fake, pacer)
        async with running(fake, client):
            interaction = await fake.invoke_slash_command("stream")
            assert client.finished is not None
            assert await asyncio.wait_for(client.finished, 10.0)
        original = fake.original_response(interaction)
        assert original is not None
        assert original.content == "done"
        assert original.edit_count >= 3
        assert fake.total_429s == 0, fake.rate_limit_hits
