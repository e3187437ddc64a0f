"""The Discord client: extensions, intents, command sync, restart recovery.

I/O happens in `setup_hook` (after login, before the gateway), never in `__init__`.

Intents: Message Content is privileged. With it, the bot reads follow-ups in its threads,
inline channels and mentions; without it (not enabled in the Developer Portal), Discord blanks
those messages, and only slash commands, DMs and messages that mention the bot still work.
`bot.app` first connects with it and, if Discord refuses (close code 4014), says so plainly
and reconnects without it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import discord
import yarl
from discord.ext import commands

from bot.deps import Services
from bot.discord_ui.views import DYNAMIC_ITEMS, AnswerActions
from bot.frontend.approvals import ApprovalPrompts
from bot.frontend.questions import Questions
from bot.frontend.recovery import recover_interrupted_answers
from bot.frontend.renamer import DiscordThreadRenamer
from bot.settings import DEFAULT_DISCORD_API_BASE, Settings

log = logging.getLogger(__name__)

EXTENSIONS: tuple[str, ...] = (
    "cogs.errors",
    "cogs.chat",
    "cogs.settings",
    "cogs.owner",
    "cogs.usage",
    "cogs.budget",
)


def point_discord_at(settings: Settings) -> None:
    """Send REST and gateway traffic where the settings say (proxies, the test fake).

    discord.py reads both from class attributes, so this is process-wide and must run
    before login (`discord.http.Route.BASE` and `DiscordWebSocket.DEFAULT_GATEWAY` are class
    attributes; a non-sharded client never asks for the gateway URL).
    """
    if settings.discord_api_base != DEFAULT_DISCORD_API_BASE:
        discord.http.Route.BASE = settings.discord_api_base
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def build_intents(*, message_content: bool) -> discord.Intents:
    intents = discord.Intents.default()
    intents.message_content = message_content
    # Presences and the member list are not needed: display names come with each message.
    intents.presences = False
    intents.members = False
    return intents


class SwitchboardBot(commands.Bot):
    def __init__(
        self,
        services: Services,
        *,
        message_content: bool = True,
        guild_ready_timeout: float = 2.0,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=build_intents(message_content=message_content),
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            guild_ready_timeout=guild_ready_timeout,
            max_messages=2000,
            # The owner check reads these (bot.discord_ui.checks); they are OWNER_IDS.
            owner_ids=set(services.settings.owner_ids),
        )
        self.services = services
        self.message_content = message_content
        self.started_at = time.monotonic()
        self._event_tasks: set[asyncio.Task[Any]] = set()
        # Set by the chat cog: what Stop and Retry buttons do (bot.discord_ui.views).
        self.answer_actions: AnswerActions | None = None
        # Yes/no questions to members and the clicks on their buttons (tool approvals, the
        # cost of large attachments): bot.frontend.questions.
        self.question_actions = Questions(self)

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        self.services.titles.renamer = DiscordThreadRenamer(self)
        mcp = self.services.catalog.mcp
        if mcp is not None:
            timeout_s = self.services.settings.approval_timeout_seconds
            mcp.set_approver(ApprovalPrompts(self.question_actions, timeout_s))
        await recover_interrupted_answers(self, self.services)
        await self._sync_commands()

    async def _sync_commands(self) -> None:
        guild_id = self.services.settings.dev_guild_id
        try:
            if guild_id is not None:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                log.info("synced %d slash commands to guild %s", len(synced), guild_id)
            else:
                synced = await self.tree.sync()
                log.info("synced %d slash commands globally (may take up to an hour)", len(synced))
        except discord.HTTPException as exc:
            log.error("could not sync slash commands: %s", exc)

    async def on_ready(self) -> None:
        assert self.user is not None
        log.info(
            "connected as %s (%s) to %d servers; message content intent %s",
            self.user,
            self.user.id,
            len(self.guilds),
            "on" if self.message_content else "OFF (follow-ups need a mention or /chat)",
        )

    async def on_message(self, message: discord.Message, /) -> None:
        # No prefix commands: conversations are handled by the chat cog's listener.
        return

    def _schedule_event(
        self,
        coro: Callable[..., Coroutine[Any, Any, Any]],
        event_name: str,
        *args: Any,
        **kwargs: Any,
    ) -> asyncio.Task[Any]:
        # discord.py starts a task per event handler and keeps no reference: at shutdown a
        # handler still running (reading a member's attachments, say) would be destroyed
        # mid-await when the loop closes. Kept here, they are cancelled and awaited in close().
        task = super()._schedule_event(coro, event_name, *args, **kwargs)
        self._event_tasks.add(task)
        task.add_done_callback(self._event_tasks.discard)
        return task

    async def close(self) -> None:
        await super().close()
        pending = [task for task in self._event_tasks if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        log.exception("unhandled error in %s", event_method)
