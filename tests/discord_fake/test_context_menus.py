"""User and message commands (context menus): synced, invoked, answered, via real discord.py."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import discord
from discord import app_commands

from tests.discord_fake.conftest import RecordingBot, running
from tests.fakes.discord_server import (
    COMMAND_MESSAGE,
    COMMAND_USER,
    MESSAGE_CONTEXT_MENU_COMMAND,
    FakeDiscord,
    FakeFile,
)


class MenuBot(RecordingBot):
    """A slash command, a message command and a user command, synced to the guild."""

    def __init__(self, fake: FakeDiscord, **kwargs: Any) -> None:
        super().__init__(fake, **kwargs)
        self.targets: list[discord.Message | discord.Member | discord.User] = []
        self.answered: asyncio.Event = asyncio.Event()
        self.original: discord.InteractionMessage | None = None

    async def setup_hook(self) -> None:
        assert self.fake.guild is not None
        guild = discord.Object(self.fake.guild.id)

        @app_commands.command(description="Summarize the channel")
        async def summarize(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("slash")

        @app_commands.context_menu(name="Summarize")
        async def summarize_message(
            interaction: discord.Interaction, message: discord.Message
        ) -> None:
            self.targets.append(message)
            await interaction.response.defer(thinking=True)
            await interaction.followup.send(f"about {len(message.content)} characters")
            self.original = await interaction.original_response()
            self.answered.set()

        @app_commands.context_menu(name="Who is this")
        async def who(interaction: discord.Interaction, member: discord.Member) -> None:
            self.targets.append(member)
            await interaction.response.send_message(f"that is {member.name}", ephemeral=True)
            self.answered.set()

        self.tree.add_command(summarize, guild=guild)
        self.tree.add_command(summarize_message, guild=guild)
        self.tree.add_command(who, guild=guild)
        await self.tree.sync(guild=guild)


async def test_context_menus_sync_keeps_every_command_type(fake: FakeDiscord) -> None:
    bot = MenuBot(fake)
    async with running(fake, bot):
        assert fake.guild is not None
        fetched = await bot.tree.fetch_commands(guild=discord.Object(fake.guild.id))
    synced = {(c["name"], c.get("type", 1)) for c in fake.synced_commands[fake.guild.id]}
    assert synced == {
        ("summarize", 1),
        ("Summarize", COMMAND_MESSAGE),
        ("Who is this", COMMAND_USER),
    }
    kinds = {c.name: c.type for c in fetched}
    assert kinds == {
        "summarize": discord.AppCommandType.chat_input,
        "Summarize": discord.AppCommandType.message,
        "Who is this": discord.AppCommandType.user,
    }
    # Command ids are per type: the slash command and the message command share no id.
    assert len({c.id for c in fetched}) == 3
    assert all(c.description == "" for c in fetched if c.name != "summarize")


async def test_context_menus_message_command_gets_the_message(fake: FakeDiscord) -> None:
    """The target arrives whole, content included even without the Message Content intent."""
    bot = MenuBot(fake, message_content=False)
    async with running(fake, bot):
        target = await fake.send_user_message(
            content="a long story", attachments=[FakeFile("story.txt", b"once upon a time")]
        )
        interaction = await fake.invoke_message_command("Summarize", target.id)
        await asyncio.wait_for(bot.answered.wait(), 5)
    got = bot.targets[0]
    assert isinstance(got, discord.Message)
    assert got.id == target.id and got.content == "a long story"
    assert [a.filename for a in got.attachments] == ["story.txt"]
    assert isinstance(got.author, discord.Member) and got.author.name == "alice"
    assert interaction.payload["data"]["type"] == COMMAND_MESSAGE
    assert interaction.payload["data"]["target_id"] == str(target.id)

    # The answer replies to the message it was used on (type 23), as on Discord.
    answer = fake.original_response(interaction)
    assert answer is not None and answer.type == MESSAGE_CONTEXT_MENU_COMMAND
    assert answer.content == "about 12 characters"
    assert answer.message_reference is not None
    assert answer.message_reference["message_id"] == str(target.id)
    original = bot.original
    assert original is not None and original.type is discord.MessageType.context_menu_command
    assert original.interaction_metadata is not None
    assert original.interaction_metadata.target_message_id == target.id
    assert original.reference is not None and original.reference.message_id == target.id


async def test_context_menus_user_command_gets_the_member(fake: FakeDiscord) -> None:
    bot = MenuBot(fake)
    async with running(fake, bot):
        assert fake.guild is not None
        bob = fake.add_member(fake.guild.id, "bob").user
        interaction = await fake.invoke_user_command("Who is this", bob)
        await asyncio.wait_for(bot.answered.wait(), 5)
    got = bot.targets[0]
    assert isinstance(got, discord.Member) and got.id == bob.id
    answer = fake.original_response(interaction)
    assert answer is not None and answer.ephemeral and answer.content == "that is bob"
    assert answer.type == MESSAGE_CONTEXT_MENU_COMMAND and answer.message_reference is None


async def test_context_menus_refuse_a_description(fake: FakeDiscord) -> None:
    url = f"{fake.api_base}/applications/{fake.application_id}/commands"
    auth = {"Authorization": f"Bot {fake.token}"}
    commands = [{"name": "Summarize", "type": 3, "description": "not allowed"}]
    async with aiohttp.ClientSession(headers=auth) as http, http.put(url, json=commands) as r:
        body = await r.json()
    assert r.status == 400 and body["code"] == 50035
    assert body["errors"]["0"]["description"]["_errors"][0]["message"] == (
        "Context menu commands cannot have description"
    )
    assert fake.synced_commands == {}
