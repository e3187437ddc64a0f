"""Slash commands and buttons from the fake reach the real discord.py CommandTree and Views."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import discord
from discord import app_commands

from tests.discord_fake.conftest import RecordingBot, running
from tests.fakes.discord_server import FLAG_EPHEMERAL, FakeDiscord, OptionValue


class SlashBot(RecordingBot):
    """Registers guild commands in setup_hook and syncs them, like a real bot would."""

    def __init__(self, fake: FakeDiscord) -> None:
        super().__init__(fake)
        self.received: dict[str, Any] = {}
        self.outcomes: dict[str, Any] = {}
        self.done: dict[str, asyncio.Event] = {}
        self.proceed = asyncio.Event()

    def finished(self, name: str) -> asyncio.Event:
        return self.done.setdefault(name, asyncio.Event())

    async def setup_hook(self) -> None:
        assert self.fake.guild is not None
        guild = discord.Object(self.fake.guild.id)

        @app_commands.command(description="Ask something")
        async def ask(
            interaction: discord.Interaction,
            prompt: str,
            count: int,
            loud: bool,
            ratio: float,
            who: discord.Member,
        ) -> None:
            self.received["ask"] = (prompt, count, loud, ratio, who.id, interaction.guild_id)
            await interaction.response.defer(thinking=True)
            first = await interaction.followup.send("first", wait=True)
            await interaction.edit_original_response(content="edited")
            second = await interaction.followup.send("second", wait=True)
            self.outcomes["ask"] = (first.id, second.id)
            self.finished("ask").set()

        @app_commands.command(description="Too long")
        async def toolong(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            try:
                await interaction.edit_original_response(content="x" * 2001)
            except discord.HTTPException as exc:
                self.outcomes["toolong"] = (exc.status, exc.code, exc.text)
            self.finished("toolong").set()

        @app_commands.command(description="Waits for the test before deferring")
        async def slow(interaction: discord.Interaction) -> None:
            await self.proceed.wait()
            try:
                await interaction.response.defer()
            except discord.NotFound as exc:
                self.outcomes["slow"] = (exc.status, exc.code)
            self.finished("slow").set()

        @app_commands.command(description="Private answer")
        async def secret(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(
                "only you", ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
            message = await interaction.original_response()
            self.outcomes["secret"] = message.content
            self.finished("secret").set()

        group = app_commands.Group(name="settings", description="Settings")

        @group.command(name="model", description="Pick a model")
        async def model(interaction: discord.Interaction, name: str) -> None:
            self.received["settings model"] = name
            await interaction.response.send_message(f"model={name}")
            self.finished("settings model").set()

        commands: list[app_commands.Command[Any, Any, Any] | app_commands.Group] = [
            ask,
            toolong,
            slow,
            secret,
            group,
        ]
        for command in commands:
            self.tree.add_command(command, guild=guild)
        await self.tree.sync(guild=guild)


async def wait(event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), 5)


async def test_interactions_sync_records_commands(fake: FakeDiscord) -> None:
    bot = SlashBot(fake)
    async with running(fake, bot):
        assert fake.guild is not None
        names = {c["name"] for c in fake.synced_commands[fake.guild.id]}
        assert names == {"ask", "toolong", "slow", "secret", "settings"}


async def test_interactions_slash_defer_followup_edit(fake: FakeDiscord) -> None:
    bot = SlashBot(fake)
    async with running(fake, bot):
        assert fake.user is not None and fake.guild is not None
        options: dict[str, OptionValue] = {
            "prompt": "hi",
            "count": 3,
            "loud": True,
            "ratio": 0.5,
            "who": fake.user,
        }
        interaction = await fake.invoke_slash_command("ask", options)
        await wait(bot.finished("ask"))
        assert bot.received["ask"] == ("hi", 3, True, 0.5, fake.user.id, fake.guild.id)
        assert interaction.acknowledged and interaction.response_type == 5
        assert interaction.ack_latency is not None and interaction.ack_latency >= 0
        original = fake.original_response(interaction)
        assert original is not None
        first_id, second_id = bot.outcomes["ask"]
        # The first followup after a thinking defer edits the loading message (Discord quirk).
        assert first_id == original.id
        assert original.content == "edited" and not original.loading
        assert [r.content for r in original.revisions] == ["", "first", "edited"]
        assert interaction.followup_ids == [second_id]
        assert fake.message(second_id).content == "second"
        assert fake.message(second_id).type == 20


async def test_interactions_subcommand_is_routed(fake: FakeDiscord) -> None:
    bot = SlashBot(fake)
    async with running(fake, bot):
        interaction = await fake.invoke_slash_command(
            "settings", {"name": "gpt"}, subcommand="model"
        )
        await wait(bot.finished("settings model"))
        assert bot.received["settings model"] == "gpt"
        original = fake.original_response(interaction)
        assert original is not None and original.content == "model=gpt"


async def test_interactions_too_long_edit_is_50035(fake: FakeDiscord) -> None:
    bot = SlashBot(fake)
    async with running(fake, bot):
        await fake.invoke_slash_command("toolong")
        await wait(bot.finished("toolong"))
        status, code, text = bot.outcomes["toolong"]
        assert (status, code) == (400, 50035)
        assert text == "Invalid Form Body\nIn content: Must be 2000 or fewer in length."


async def test_interactions_late_defer_is_10062(fake: FakeDiscord) -> None:
    bot = SlashBot(fake)
    async with running(fake, bot):
        interaction = await fake.invoke_slash_command("slow")
        await fake.wait_for(lambda: fake.gateway.sent_events("INTERACTION_CREATE") >= 1)
        fake.age_interaction(interaction, 10)  # instead of sleeping past the deadline
        bot.proceed.set()
        await wait(bot.finished("slow"))
        assert bot.outcomes["slow"] == (404, 10062)
        assert not interaction.acknowledged
        assert [status for _, status in interaction.callback_attempts] == [404]


async def test_interactions_ephemeral_reply(fake: FakeDiscord) -> None:
    bot = SlashBot(fake)
    async with running(fake, bot):
        interaction = await fake.invoke_slash_command("secret")
        await wait(bot.finished("secret"))
        assert bot.outcomes["secret"] == "only you"
        original = fake.original_response(interaction)
        assert original is not None
        assert original.ephemeral and original.flags & FLAG_EPHEMERAL
        assert original.allowed_mentions == {"parse": []}
        assert fake.gateway.sent_events("MESSAGE_CREATE") == 0  # ephemeral: no gateway event


async def test_interactions_double_ack_and_expired_token(fake: FakeDiscord) -> None:
    # Raw HTTP: discord.py guards double acks locally, so speak to the endpoints directly.
    interaction = await fake.invoke_slash_command("anything")
    callback = f"{fake.api_base}/interactions/{interaction.id}/{interaction.token}/callback"
    webhook = f"{fake.api_base}/webhooks/{fake.application_id}/{interaction.token}"
    original = f"{webhook}/messages/@original"
    async with aiohttp.ClientSession() as http:
        async with http.post(callback, json={"type": 5}, params={"with_response": "1"}) as r:
            assert r.status == 200 and r.headers["Content-Type"] == "application/json"
            body = await r.json()
            assert body["interaction"]["id"] == str(interaction.id)
            assert body["resource"]["message"]["flags"] & 128  # loading
        async with http.post(callback, json={"type": 5}) as r:
            assert r.status == 400 and (await r.json())["code"] == 40060
        async with http.patch(original, json={"content": "ok"}) as r:
            assert r.status == 200 and (await r.json())["content"] == "ok"
        fake.age_interaction(interaction, 16 * 60)
        async with http.patch(original, json={"content": "late"}) as r:
            assert r.status == 401 and (await r.json())["code"] == 50027


class ButtonView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.pressed_by: int | None = None

    @discord.ui.button(label="Stop", custom_id="stop", style=discord.ButtonStyle.danger)
    async def stop_button(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        self.pressed_by = interaction.user.id
        await interaction.response.edit_message(content="stopped", view=None)


class ButtonBot(RecordingBot):
    def __init__(self, fake: FakeDiscord) -> None:
        super().__init__(fake)
        self.view = ButtonView()

    async def on_message(self, message: discord.Message) -> None:
        if message.content == "!button":
            await message.channel.send("streaming…", view=self.view)


async def test_interactions_button_click_reaches_view(fake: FakeDiscord) -> None:
    bot = ButtonBot(fake)
    async with running(fake, bot):
        assert fake.user is not None
        await fake.send_user_message(content="!button")
        sent = await fake.wait_for_message(predicate=lambda m: bool(m.components))
        interaction = await fake.click_button(sent.id, "stop")
        await fake.wait_for(lambda: sent.content == "stopped")
        assert bot.view.pressed_by == fake.user.id
        assert interaction.response_type == 7
        assert sent.components == []
        assert sent.edit_count == 1
