"""Who may run admin and owner commands: declared to Discord and checked again at run time.

Discord hides a command from members without its `default_member_permissions`, but server
admins can change that under Server Settings → Integrations, and a stale client may still send
it; so every admin command is also checked when it runs.

- `admin_command` — Manage Server (`manage_guild`): declared as default permissions, checked at
  run time (`app_commands.MissingPermissions`, which `cogs/errors.py` turns into "You need the
  Manage Guild permission…"), and guild-only (`app_commands.NoPrivateMessage` in DMs).
- `owner_command` — the user ids in `OWNER_IDS`; refused with `NotOwner` (a `CheckFailure`
  whose text the error handler shows as is, with a hint when `OWNER_IDS` is empty).

Both decorate a slash command (a function or an `app_commands.Command`, top level or
subcommand) or a whole `commands.GroupCog` class (every command of the group). Put them above
`@app_commands.command(...)` or above the `class` line. `ensure_admin` / `ensure_owner` are the
run-time checks themselves, for an `interaction_check` or a button callback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

T = TypeVar("T")

ADMIN_PERMISSIONS = discord.Permissions(manage_guild=True)

NOT_OWNER = "Only the bot's owners can use this command."
NO_OWNERS_CONFIGURED = (
    "Only the bot's owners can use this command, and none are configured: "
    "set OWNER_IDS to comma-separated Discord user ids and restart the bot."
)


class NotOwner(app_commands.CheckFailure):
    """The user is not in `OWNER_IDS`; the message says so (and how to configure owners)."""


def ensure_admin(interaction: discord.Interaction[Any]) -> bool:
    """Pass, or raise NoPrivateMessage (outside a server) / MissingPermissions (no Manage Server).

    `interaction.permissions` is what Discord computed for this member in this channel,
    overwrites included; Administrator implies every permission.
    """
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    permissions = interaction.permissions
    if not (permissions.administrator or permissions.manage_guild):
        raise app_commands.MissingPermissions(["manage_guild"])
    return True


def owner_ids(client: object) -> frozenset[int]:
    """`OWNER_IDS` of the running bot: the bot is built with them as discord.py's own
    `Bot.owner_ids` (from the settings), so no lookup through the bot's services is needed."""
    # BotBase: commands.Bot and AutoShardedBot (which is not a commands.Bot) alike.
    if isinstance(client, commands.bot.BotBase) and client.owner_ids:
        return frozenset(client.owner_ids)
    return frozenset()


def ensure_owner(interaction: discord.Interaction[Any]) -> bool:
    """Pass, or raise NotOwner with a message that says why."""
    owners = owner_ids(interaction.client)
    if interaction.user.id in owners:
        return True
    raise NotOwner(NOT_OWNER if owners else NO_OWNERS_CONFIGURED)


def admin_command(obj: T) -> T:
    """Make a slash command (or every command of a GroupCog) need Manage Server."""
    obj = app_commands.guild_only(obj)
    obj = app_commands.default_permissions(ADMIN_PERMISSIONS)(obj)
    return _add_check(obj, ensure_admin)


def owner_command(obj: T) -> T:
    """Make a slash command (or every command of a GroupCog) need the user to be in OWNER_IDS.

    Nothing is declared to Discord (it has no notion of bot owners), so members see the
    command and are refused with a clear message."""
    return _add_check(obj, ensure_owner)


def _add_check(obj: T, predicate: Callable[[discord.Interaction[Any]], bool]) -> T:
    if isinstance(obj, type):
        if not issubclass(obj, commands.GroupCog):
            raise TypeError(f"{obj.__name__}: only GroupCog classes can be decorated")
        # The cog's commands are collected when the class is created; each instance copies
        # them shallowly, so checks added here reach every instance.
        for command in obj.__cog_app_commands__:
            _check_all(command, predicate)
        return obj
    return app_commands.check(predicate)(obj)


def _check_all(
    command: app_commands.Command[Any, ..., Any] | app_commands.Group,
    predicate: Callable[[discord.Interaction[Any]], bool],
) -> None:
    if isinstance(command, app_commands.Group):
        for child in command.commands:
            _check_all(child, predicate)
    elif predicate not in command.checks:
        command.checks.append(predicate)
