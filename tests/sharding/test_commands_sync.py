"""Slash commands are synced only when Discord's copy differs from the tree's payload."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.sharding.commands_sync import matches, sync_if_changed, unchanged
from tests.discord_fake.conftest import RecordingBot, running
from tests.fakes.discord_server import FakeDiscord

ASK = {"name": "ask", "type": 1, "description": "Ask", "options": [], "nsfw": False}


def test_commands_sync_empty_values_match_missing_ones() -> None:
    assert matches({"a": None, "b": [], "c": False, "d": ""}, {})
    assert matches({"permissions": 8}, {"permissions": "8"})
    assert not matches({"min_value": 0}, {})  # zero is a value
    assert not matches({"description": "Ask"}, {"description": "Ask me"})
    assert not matches({"options": [{"name": "a"}]}, {"options": []})


def test_commands_sync_unchanged_needs_the_same_set_of_commands() -> None:
    theirs = [{**ASK, "id": "1", "version": "1", "application_id": "2"}]
    assert unchanged([ASK], theirs)
    assert not unchanged([ASK, {**ASK, "name": "chat"}], theirs)
    assert not unchanged([], theirs)  # one to delete
    assert not unchanged([{**ASK, "description": "Ask me"}], theirs)
    # A user command may share a slash command's name.
    assert not unchanged([ASK], [*theirs, {**ASK, "type": 2, "description": ""}])


class CommandsBot(RecordingBot):
    def __init__(self, fake: FakeDiscord, description: str = "Ask something") -> None:
        super().__init__(fake)
        self.description = description

    async def setup_hook(self) -> None:
        @app_commands.command(name="ask", description=self.description)
        @app_commands.describe(prompt="What to ask")
        async def ask(interaction: discord.Interaction, prompt: str, count: int = 0) -> None:
            await interaction.response.send_message(prompt)

        @app_commands.context_menu(name="Ask about this")
        async def about(interaction: discord.Interaction, message: discord.Message) -> None:
            await interaction.response.send_message("ok")

        self.tree.add_command(ask)
        self.tree.add_command(about)


async def puts(fake: FakeDiscord) -> int:
    return len(fake.calls_to("PUT", "/commands"))


async def test_commands_sync_puts_only_when_the_tree_changed(fake: FakeDiscord) -> None:
    assert fake.guild is not None
    guild = discord.Object(fake.guild.id)
    for description, synced in [("Ask something", True), ("Ask something", False), ("Ask", True)]:
        bot = CommandsBot(fake, description)
        async with running(fake, bot):
            bot.tree.copy_global_to(guild=guild)
            assert await sync_if_changed(bot, bot.tree, guild) is synced
    assert await puts(fake) == 2
    stored: list[Any] = fake.synced_commands[fake.guild.id]
    assert [c["description"] for c in stored if c["name"] == "ask"] == ["Ask"]
    # Globally as well (GET and PUT /applications/{id}/commands).
    bot = CommandsBot(fake)
    async with running(fake, bot):
        assert await sync_if_changed(bot, bot.tree, None) is True
        assert await sync_if_changed(bot, bot.tree, None) is False
    assert len(fake.synced_commands[None]) == 2
