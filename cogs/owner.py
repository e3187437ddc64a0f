"""Owner commands (`OWNER_IDS`): `/status` — is the bot healthy, and if not, why."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import __version__
from bot.client import SwitchboardBot
from bot.discord_ui.checks import owner_command
from bot.discord_ui.replies import defer, reply
from bot.errors import UserFacingError

log = logging.getLogger(__name__)

LLM_PROBE_TIMEOUT_S = 5.0


def format_uptime(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def database_size(path: Path) -> int:
    """The database with its write-ahead log: what the file system holds for it."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


class Owner(commands.Cog):
    def __init__(self, bot: SwitchboardBot) -> None:
        self.bot = bot
        self.services = bot.services

    @owner_command
    @app_commands.command(name="status", description="Health of the bot (owners only).")
    async def status(self, interaction: discord.Interaction[Any]) -> None:
        await defer(interaction)
        services = self.services
        uptime = format_uptime(time.monotonic() - self.bot.started_at)
        servers = plural(len(self.bot.guilds), "server")
        lines = [
            f"**Version** {__version__} · up {uptime}",
            f"**Gateway** {self.bot.latency * 1000:.0f} ms · {servers} · "
            f"message content intent {'on' if self.bot.message_content else 'off'}",
        ]
        open_conversations = await services.conversations.count_open()
        lines.append(
            f"**Conversations** {open_conversations} open · "
            f"{services.chat.answers_in_flight} answering now · "
            f"{services.chat.turns_queued} queued"
        )
        size = await asyncio.to_thread(database_size, services.settings.database_path)
        lines.append(f"**Database** {size / 1_000_000:.1f} MB")
        lines.append(await self._llm_line())
        last = services.chat.last_llm_error
        if last is not None:
            ago = format_uptime((datetime.now(UTC) - last.at).total_seconds())
            lines.append(f"**Last model error** {ago} ago: {last.text}")
        embed = discord.Embed(title="Switchboard status", description="\n".join(lines))
        await reply(interaction, embed=embed)

    async def _llm_line(self) -> str:
        base = self.services.settings.llm_base_url
        started = time.monotonic()
        try:
            async with asyncio.timeout(LLM_PROBE_TIMEOUT_S):
                models = await self.services.llm.list_models()
        except TimeoutError:
            return f"**Model endpoint** {base}: no answer within {LLM_PROBE_TIMEOUT_S:.0f} s ❌"
        except UserFacingError as exc:
            return f"**Model endpoint** {base}: {exc.user_message} ❌"
        elapsed = (time.monotonic() - started) * 1000
        return f"**Model endpoint** {base}: reachable ({len(models)} models, {elapsed:.0f} ms) ✅"


async def setup(bot: commands.Bot) -> None:
    assert isinstance(bot, SwitchboardBot)
    await bot.add_cog(Owner(bot))
