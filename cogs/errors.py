"""The error handler for slash commands (`tree.on_error`).

Mapping, from exception family to what the member reads (always ephemeral):
- missing permissions / not an admin / not an owner → which permission is needed;
- on cooldown → when to try again;
- a command used where it can't work (DM-only / guild-only) → where it works;
- anything else → `bot.errors.describe`, the one policy every entry point uses:
  a `UserFacingError`'s own text, or "Sorry, something went wrong." with an error id that is
  in the log.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_ui.replies import reply
from bot.errors import describe
from bot.logs import log_context

log = logging.getLogger(__name__)


# Discord's API names that differ from what its apps show people.
_SHOWN_NAMES = {"manage_guild": "Manage Server", "administrator": "Administrator"}


def _permission_name(flag: str) -> str:
    return _SHOWN_NAMES.get(flag, flag.replace("_", " ").title())


def message_for(error: app_commands.AppCommandError) -> str | None:
    """The member's text for the errors of the command framework itself; None for the rest,
    which `describe` words."""
    if isinstance(error, app_commands.MissingPermissions):
        needed = ", ".join(_permission_name(p) for p in error.missing_permissions)
        return f"You need the {needed} permission to use this command."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You can't use this command here."
    if isinstance(error, app_commands.TransformerError):
        return f"That value can't be used: {error.value!r}."
    return None


class Errors(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self._previous = bot.tree.on_error

    async def cog_load(self) -> None:
        self.bot.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]

    async def cog_unload(self) -> None:
        self.bot.tree.on_error = self._previous  # type: ignore[method-assign]

    async def on_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        text = message_for(error)
        if text is None:
            command = interaction.command.qualified_name if interaction.command else "?"
            with log_context(guild_id=interaction.guild_id, channel_id=interaction.channel_id):
                text = str(describe(getattr(error, "original", error), f"/{command}"))
        await reply(interaction, text, ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Errors(bot))
