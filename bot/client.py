"""The Discord client: extensions, intents, command sync, restart recovery.

I/O happens in `setup_hook` (after login, before the gateway), never in `__init__`.

Intents: Message Content is privileged. With it, the bot reads follow-ups in its threads,
inline channels and mentions; without it (not enabled in the Developer Portal), Discord blanks
those messages, and only slash commands, DMs and messages that mention the bot still work.
`bot.app` first connects with it and, if Discord refuses (close code 4014), says so plainly
and reconnects without it.

Shards: the bot is an `AutoShardedBot` running SHARD_IDS of SHARD_COUNT, or every shard Discord
recommends. Before the gateway it claims its shard ids (a second live process on the same
shards is refused), and each IDENTIFY waits for its turn under Discord's `max_concurrency`
across processes (`bot.sharding`). Only the process running shard 0 syncs slash commands,
and only when they changed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord
import yarl
from discord.ext import commands

from bot.deps import Services
from bot.discord_ui import rest_proxy
from bot.discord_ui.views import DYNAMIC_ITEMS, AnswerActions
from bot.frontend.approvals import ApprovalPrompts
from bot.frontend.questions import Questions
from bot.frontend.recovery import recover_at_start, sweep_orphans
from bot.frontend.renamer import DiscordThreadRenamer
from bot.settings import DEFAULT_DISCORD_API_BASE, Settings, run_shards
from bot.sharding.claims import FileShardClaims, ShardClaims
from bot.sharding.commands_sync import sync_if_changed
from bot.sharding.identify import FileIdentifyGate, IdentifyGate
from bot.tasks import spawn

if TYPE_CHECKING:
    # psycopg is imported only with DATABASE_URL set: a bot on SQLite never loads it.
    from bot.sharding.pg_claims import PgShardClaims

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
    attributes). The bot asks Discord for its shard count itself (`setup_hook`), so discord.py
    connects to DEFAULT_GATEWAY rather than the URL in GET /gateway/bot.
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


def lock_folder(settings: Settings) -> Path:
    """Where shard claims and identify turns are kept: beside the SQLite database."""
    return settings.database_path.parent


def shard_claims(settings: Settings) -> FileShardClaims | PgShardClaims:
    """Advisory locks on PostgreSQL (processes on any host) with DATABASE_URL, else file
    locks beside the SQLite database (processes on this host)."""
    url = settings.database_url.get_secret_value()
    if not url:
        return FileShardClaims(lock_folder(settings))
    from bot.sharding.pg_claims import PgShardClaims

    return PgShardClaims(url)


class SwitchboardBot(commands.AutoShardedBot):
    def __init__(
        self,
        services: Services,
        *,
        message_content: bool = True,
        guild_ready_timeout: float = 2.0,
        claims: ShardClaims | None = None,
        identify_gate: IdentifyGate | None = None,
    ) -> None:
        settings = services.settings
        shard_count, shard_ids = run_shards(settings)
        shards: dict[str, Any] = {"shard_count": shard_count}
        if shard_ids is not None:
            shards["shard_ids"] = shard_ids
        super().__init__(
            **shards,
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
        # Claims normally belong to bot.app.serve (they outlive a reconnect without the
        # Message Content intent); a bot made without them holds and drops its own.
        self._owns_claims = claims is None
        self.claims = claims if claims is not None else shard_claims(settings)
        # Replaced in setup_hook once Discord said its max_concurrency.
        self.identify_gate = identify_gate
        # The shards this process runs, once claimed (setup_hook).
        self.running_shards: list[int] = []
        # Recovers what sibling processes that died left behind (started in setup_hook).
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def runs_shard_zero(self) -> bool:
        return self.shard_ids is None or 0 in self.shard_ids

    async def _plan_shards(self) -> None:
        """Ask Discord for the recommended shard count and identify concurrency, then claim
        this process's shards (ShardTakenError, a ConfigurationError, if another has one)."""
        recommended, _url, limits = await self.http.get_bot_gateway()
        count: int | None = self.shard_count
        if count is None:
            self.shard_count = count = recommended
        if self.identify_gate is None and count > 1:
            # One shard has nothing to pace but its own restarts, which discord.py leaves to
            # Discord too (a too-fast IDENTIFY is refused and tried again 5 s later).
            settings = self.services.settings
            url = settings.database_url.get_secret_value()
            concurrency = limits["max_concurrency"]
            # PostgreSQL reaches every process, on any host; the file locks one host.
            if url:
                from bot.sharding.pg_identify import PgIdentifyGate

                self.identify_gate = PgIdentifyGate(url, concurrency)
            else:
                self.identify_gate = FileIdentifyGate(lock_folder(settings), concurrency)
        ids = self.shard_ids if self.shard_ids is not None else list(range(count))
        self.claims.claim(ids)
        self.running_shards = list(ids)
        log.info(
            "running shard%s %s of %d",
            "s" if len(ids) > 1 else "",
            ", ".join(str(i) for i in ids),
            self.shard_count,
        )

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # Replaces discord.py's fixed 5 s sleep before every IDENTIFY but the first.
        if self.identify_gate is None:
            await super().before_identify_hook(shard_id, initial=initial)
        else:
            await self.identify_gate.wait_turn(shard_id or 0)

    async def setup_hook(self) -> None:
        # discord.py's session (REST and interaction webhooks alike) is private to its
        # HTTPClient; tests/sharding/test_rest_proxy_answer.py fails if this stops working.
        session = getattr(self.http, "_HTTPClient__session", None)
        if session is not None:
            rest_proxy.install(session)
        else:
            log.warning("a REST proxy's own 429s will not be waited out: no discord.py session")
        await self._plan_shards()
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        self.services.titles.renamer = DiscordThreadRenamer(self)
        mcp = self.services.catalog.mcp
        if mcp is not None:
            timeout_s = self.services.settings.approval_timeout_seconds
            mcp.set_approver(ApprovalPrompts(self.question_actions, timeout_s))
        await recover_at_start(self, self.services, self.running_shards)
        self._sweeper = spawn(sweep_orphans(self, self.services), name="sweep-orphans")
        if self.runs_shard_zero:
            await self._sync_commands()

    async def _sync_commands(self) -> None:
        guild_id = self.services.settings.dev_guild_id
        guild = discord.Object(id=guild_id) if guild_id is not None else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        try:
            await sync_if_changed(self, self.tree, guild)
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
        if not hasattr(self, "_AutoShardedClient__queue"):
            # Never started (`async with bot` / start() set this up): AutoShardedClient.close
            # would fail on the event queue it makes there.
            await self._async_setup_hook()
        if self._sweeper is not None:
            self._sweeper.cancel()
        await super().close()
        if self.identify_gate is not None:
            await self.identify_gate.close()
        if self._owns_claims:
            self.claims.release()
        pending = [task for task in self._event_tasks if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        log.exception("unhandled error in %s", event_method)
