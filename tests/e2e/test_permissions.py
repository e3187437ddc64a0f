"""Admin and owner commands: declared to Discord, checked again at run time.

The fake reports every permission in interactions unless a test narrows them, which is what
a member without Manage Server looks like when an admin has re-enabled the command for them
under Server Settings → Integrations: the command reaches the bot and must still be refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import discord
from discord import app_commands

from bot.discord_ui.checks import (
    NO_OWNERS_CONFIGURED,
    NOT_OWNER,
    admin_command,
    ensure_admin,
    ensure_owner,
    owner_command,
)
from bot.discord_ui.replies import reply
from tests.e2e.conftest import Running, make_settings, running_bot
from tests.e2e.test_settings import reply_to, run, settings
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.llm_server import FakeLLMServer

MEMBER = discord.Permissions.text() | discord.Permissions(view_channel=True)
MODERATOR = MEMBER | discord.Permissions(manage_messages=True, kick_members=True)


async def test_permissions_member_without_manage_server_is_refused(app: Running) -> None:
    assert not MODERATOR.manage_guild
    bob = app.fake.add_user("bob")
    text = await run(app, "model", {"model": "x"}, user=bob, permissions=MODERATOR.value)
    assert text == "You need the Manage Server permission to use this command."
    text = await run(app, "show", user=bob, permissions=MEMBER.value)
    assert "Manage Server" in text
    assert await app.bot.services.channel_settings.get(app.channel_id) is None


async def test_permissions_manage_server_or_administrator_may(app: Running) -> None:
    admin = app.fake.add_user("admin")
    manager = MEMBER | discord.Permissions(manage_guild=True)
    assert "`a-model`" in await run(app, "model", {"model": "a-model"}, permissions=manager.value)
    administrator = discord.Permissions(administrator=True).value
    text = await run(app, "model", {"model": "b-model"}, user=admin, permissions=administrator)
    assert "`b-model`" in text


async def test_permissions_settings_in_a_dm_say_where_they_work(app: Running) -> None:
    assert app.fake.user is not None
    dm = app.fake.add_dm_channel(app.fake.user)
    interaction = await app.fake.invoke_slash_command(
        "settings", subcommand="show", channel_id=dm.id
    )
    message = await reply_to(app, interaction)
    assert message.content == "This command only works in a server."


async def test_permissions_synced_payload_declares_manage_server(app: Running) -> None:
    assert app.fake.guild is not None
    synced = {c["name"]: c for c in app.fake.synced_commands[app.fake.guild.id]}
    group = synced["settings"]
    assert int(group["default_member_permissions"]) == discord.Permissions(manage_guild=True).value
    assert group["contexts"] == [0]  # guild only
    assert {o["name"] for o in group["options"]} == {
        "show",
        "model",
        "system-prompt",
        "tools",
        "reasoning",
        "mode",
        "mentions",
    }
    assert synced["chat"].get("default_member_permissions") is None


async def test_permissions_refusal_reaches_the_bot_not_the_handler(app: Running) -> None:
    """The command was received and answered (acknowledged), yet nothing ran."""
    interaction = await settings(
        app, "mode", {"mode": "inline"}, user=app.fake.add_user("eve"), permissions=MEMBER.value
    )
    await reply_to(app, interaction)
    assert interaction.acknowledged and interaction.ephemeral
    assert "threads" in (await app.bot.services.effective_settings.for_channel(app.channel_id)).mode


# --- owner_command, on a test-only command added to the running bot ---------------------------


@owner_command
@app_commands.command(name="owner-probe", description="Test-only owner command.")
async def owner_probe(interaction: discord.Interaction[Any]) -> None:
    await reply(interaction, "owner ok")


async def probe(app: Running, user_id: int | None = None) -> str:
    assert app.fake.guild is not None
    guild = discord.Object(app.fake.guild.id)
    if app.bot.tree.get_command("owner-probe", guild=guild) is None:
        app.bot.tree.add_command(owner_probe, guild=guild)
    user = app.fake.world.users[user_id] if user_id is not None else None
    interaction = await app.fake.invoke_slash_command("owner-probe", user=user)
    return (await reply_to(app, interaction)).content


async def test_permissions_owner_command_without_owner_ids_explains(app: Running) -> None:
    assert await probe(app) == NO_OWNERS_CONFIGURED
    assert "OWNER_IDS" in NO_OWNERS_CONFIGURED


async def test_permissions_owner_command_runs_for_owners_only(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    assert fake.user is not None
    other = fake.add_user("mallory")
    configured = make_settings(tmp_path, fake, llm).model_copy(
        update={"owner_ids": frozenset({fake.user.id})}
    )
    async with running_bot(configured, fake, llm) as app:
        assert await probe(app, fake.user.id) == "owner ok"
        assert await probe(app, other.id) == NOT_OWNER


# --- the decorators on their own ------------------------------------------------------------


def test_permissions_admin_command_on_a_function_declares_and_checks() -> None:
    @admin_command
    @app_commands.command(name="probe", description="Probe.")
    async def command(interaction: discord.Interaction[Any]) -> None:
        return None

    assert command.default_permissions == discord.Permissions(manage_guild=True)
    assert command.guild_only
    assert ensure_admin in command.checks
    assert ensure_owner not in command.checks
