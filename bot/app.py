"""Wires and runs the bot: resources opened with `async with`, shut down in a fixed order.

Order of shutdown (the reverse of dependency): the chat service (answers in flight get a
bounded grace period, then are recorded and shown as interrupted), the edit pacer (final
states land), Discord, the HTTP sessions, and last the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiohttp
import discord

from bot import __version__
from bot.billing.meter import Meter
from bot.billing.pricing import PriceBook
from bot.client import SwitchboardBot, point_discord_at, shard_claims
from bot.config_file import load_directory, load_mcp_servers
from bot.deps import Services
from bot.discord_ui.lanes import Lane
from bot.discord_ui.pacer import EditPacer
from bot.errors import ConfigurationError, DatabaseUnavailableError
from bot.llm.context_windows import ContextWindows
from bot.llm.providers import ModelDirectory
from bot.llm.router import build_router
from bot.logs import setup_logging
from bot.services.chat import ChatService
from bot.services.effective_settings import EffectiveSettingsCache
from bot.services.model_catalog import ModelCatalog
from bot.services.model_request import EngineLimits
from bot.services.titles import ThreadTitles
from bot.services.tool_catalog import ToolCatalog
from bot.settings import Settings, run_shards
from bot.sharding.claims import FileShardClaims, ShardClaims, ShardTakenError
from bot.storage.channel_settings import ChannelSettingsRepository
from bot.storage.conversations import ConversationRepository
from bot.storage.database import Database
from bot.storage.messages import MessageRepository
from bot.storage.owners import Heartbeats, ProcessOwner
from bot.storage.postgres_url import database_secrets
from bot.storage.prices import PriceRepository
from bot.storage.retention import retention_if_due
from bot.storage.stream_log import StreamLog
from bot.tasks import spawn
from bot.tools import DEFAULT_ENABLED, build_builtin_tools
from bot.tools.fetch_url import new_fetch_session
from bot.tools.mcp.config import McpServerConfig
from bot.tools.web_search import SearchConfig

if TYPE_CHECKING:  # imported when servers are configured (`_mcp_manager`)
    from bot.tools.mcp.manager import McpManager

log = logging.getLogger(__name__)

EXIT_CONFIG = 2
# Every process asks this often whether retention is due; it runs once per
# RETENTION_EVERY_MS across all processes on the database (bot.storage.retention).
RETENTION_ASK_EVERY_S = 600.0


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    directory: ModelDirectory | None = None,
    channel_lane: Callable[[int], Lane] = Lane.channel,
    create_lane: Callable[[int], Lane] = Lane.channel_creates,
) -> AsyncIterator[Services]:
    # The configuration file is read before anything is opened: a bad file stops start-up
    # with its problems listed, having touched nothing.
    if directory is None:
        directory = load_directory(settings)
    mcp_servers = load_mcp_servers(settings)
    # This run of the process: its answers and budget holds carry the id, and its heartbeat
    # tells other processes on the database that they are not to be recovered.
    owner = ProcessOwner.new(_known_shards(settings))
    async with (
        Database.open(settings.database_target) as db,
        # Registered before anything is written; deregistered after everything else closed.
        Heartbeats.running(db, owner) as heartbeats,
        # Closed after the chat service (its answers end first), before the database.
        StreamLog.running(db, interval_s=settings.stream_save_seconds) as drafts,
        aiohttp.ClientSession(
            headers={"User-Agent": f"Switchboard/{__version__}"},
            # aiohttp's default cap of 100 connections would silently queue the 101st
            # concurrent answer behind the others; each stream needs its own connection.
            connector=aiohttp.TCPConnector(limit=0),
        ) as http,
        new_fetch_session() as fetch_http,
        # This process's share of Discord's global limit (DISCORD_GLOBAL_RATE).
        EditPacer(global_per_second=settings.discord_global_rate) as pacer,
    ):
        messages = MessageRepository(db, owner=owner.id)
        channel_settings = ChannelSettingsRepository(db)
        tools = build_builtin_tools(
            http=fetch_http,
            search=messages,
            fetch_allowlist=settings.fetch_url_allowlist,
            fetch_max_bytes=settings.fetch_url_max_bytes,
            fetch_timeout_s=settings.fetch_url_timeout_seconds,
            timeout_s=settings.tool_timeout_seconds,
            web_search=SearchConfig.from_settings(settings),
        )
        mcp = _mcp_manager(mcp_servers, settings) if mcp_servers else None
        # Servers start in the background: the bot answers at once, and each server's tools
        # are offered as soon as it is ready (a slow one holds up nobody).
        mcp_start = spawn(mcp.start(), name="mcp-start") if mcp is not None else None
        catalog = ToolCatalog(tools, mcp)
        router = build_router(
            http,
            directory,
            connect_timeout=settings.llm_connect_timeout,
            first_byte_timeout=settings.llm_first_byte_timeout,
            idle_timeout=settings.llm_idle_timeout,
            max_retries=settings.llm_max_retries,
        )
        effective_settings = EffectiveSettingsCache(
            channel_settings,
            default_model=settings.llm_model,
            available_tools=tuple(tools),
            default_enabled=DEFAULT_ENABLED,
        )
        prices = PriceBook(PriceRepository(db), directory=directory)
        meter = Meter(
            db,
            prices,
            default_max_output_tokens=settings.llm_max_output_tokens,
            owner=owner.id,
        )
        # Taken for dead after a pause, this run's budget holds were freed: write them again.
        heartbeats.on_revived(meter.hold_again)
        conversations = ConversationRepository(db)
        titles = ThreadTitles(
            router,
            conversations,
            messages,
            meter.record_call,
            model="" if settings.title_model == "off" else settings.title_model,
        )
        chat = ChatService(
            messages=messages,
            effective_settings=effective_settings,
            client=router,
            tools=catalog,
            limits=EngineLimits(
                max_tool_rounds=settings.max_tool_rounds,
                context_tokens=settings.llm_context_tokens,
                max_output_tokens=settings.llm_max_output_tokens,
            ),
            meter=meter,
            context_windows=ContextWindows(http, directory, settings.llm_context_tokens),
            drafts=drafts,
            follow_ups=() if settings.title_model == "off" else (titles,),
            outage=db.outage,
        )
        services = Services(
            settings=settings,
            db=db,
            http=http,
            conversations=conversations,
            messages=messages,
            channel_settings=channel_settings,
            effective_settings=effective_settings,
            router=router,
            tools=tools,
            catalog=catalog,
            chat=chat,
            titles=titles,
            pacer=pacer,
            meter=meter,
            prices=prices,
            models=ModelCatalog(router, settings.llm_model),
            heartbeats=heartbeats,
            channel_lane=channel_lane,
            create_lane=create_lane,
        )
        retention = (
            spawn(_retention_loop(db, settings.retention_days, owner.id), name="retention")
            if settings.retention_days
            else None
        )
        try:
            yield services
        finally:
            if retention is not None:
                retention.cancel()
            await chat.close(grace_s=0)
            if mcp is not None:
                if mcp_start is not None:
                    mcp_start.cancel()
                # Every session closed and every child process ended before the bot exits.
                await mcp.stop()


def _known_shards(settings: Settings) -> list[int] | None:
    """The shards this process is set to run, for people reading the heartbeats; None when
    Discord's recommendation decides (every shard)."""
    count, ids = run_shards(settings)
    if count is None:
        return None
    return ids if ids is not None else list(range(count))


async def _retention_loop(db: Database, days: int, owner: str) -> None:
    while True:
        try:
            await retention_if_due(db, days, datetime.now(UTC), owner=owner)
        except DatabaseUnavailableError:
            pass  # PostgreSQL is gone: the reconnecting says so; asked again later
        except Exception:
            log.exception("retention run failed; trying again later")
        await asyncio.sleep(RETENTION_ASK_EVERY_S)


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    grace_s: float | None = None,
    directory: ModelDirectory | None = None,
    guild_ready_timeout: float = 2.0,
    on_bot: Callable[[SwitchboardBot], None] | None = None,
    channel_lane: Callable[[int], Lane] = Lane.channel,
    create_lane: Callable[[int], Lane] = Lane.channel_creates,
) -> None:
    """Run until `stop` is set (or Discord fails for good), then shut down in order."""
    point_discord_at(settings)
    token = settings.discord_token.get_secret_value()
    claims = shard_claims(settings)
    if settings.shard_count is not None:
        # Known shards are claimed before anything is opened: a second process on the same
        # shards stops here, having touched nothing. Otherwise the bot claims them once
        # Discord said how many there are.
        claims.claim(settings.shard_ids or range(settings.shard_count))
    lost: list[ShardTakenError] = []
    watch = None
    if not isinstance(claims, FileShardClaims):
        # Claims on PostgreSQL end with their connection: claimed again after an outage,
        # and if another process took a shard meanwhile, this one stops (exit 2).
        def refused(error: ShardTakenError) -> None:
            lost.append(error)
            stop.set()

        watch = spawn(claims.watch(refused), name="shard-claims")
    try:
        await _serve_shards(
            settings,
            stop,
            token,
            claims,
            grace_s=grace_s,
            directory=directory,
            guild_ready_timeout=guild_ready_timeout,
            on_bot=on_bot,
            channel_lane=channel_lane,
            create_lane=create_lane,
        )
    finally:
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        claims.release()
    if lost:
        raise lost[0]


async def _serve_shards(
    settings: Settings,
    stop: asyncio.Event,
    token: str,
    claims: ShardClaims,
    *,
    grace_s: float | None,
    directory: ModelDirectory | None,
    guild_ready_timeout: float,
    on_bot: Callable[[SwitchboardBot], None] | None,
    channel_lane: Callable[[int], Lane],
    create_lane: Callable[[int], Lane],
) -> None:
    async with open_services(
        settings, directory=directory, channel_lane=channel_lane, create_lane=create_lane
    ) as services:
        message_content = True
        while True:
            bot = SwitchboardBot(
                services,
                message_content=message_content,
                guild_ready_timeout=guild_ready_timeout,
                claims=claims,
            )
            if on_bot is not None:
                on_bot(bot)
            try:
                grace = settings.shutdown_grace_seconds if grace_s is None else grace_s
                await _run_until_stopped(bot, token, stop, services, grace)
                return
            except discord.PrivilegedIntentsRequired:
                if not message_content:
                    raise
                log.warning(
                    "The Message Content intent is not enabled for this bot in the Developer "
                    "Portal (Bot → Privileged Gateway Intents). Reconnecting without it: /chat, "
                    "mentions and DMs work; follow-ups in threads and inline channels need a "
                    "mention until it is enabled."
                )
                message_content = False


async def _run_until_stopped(
    bot: SwitchboardBot, token: str, stop: asyncio.Event, services: Services, grace_s: float
) -> None:
    async with bot:
        runner = asyncio.ensure_future(bot.start(token))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if runner.done():
            runner.result()  # Discord ended on its own: raise what it ended with
            return
        log.info("shutting down: finishing answers in flight (up to %.0f s)", grace_s)
        await services.chat.close(grace_s=grace_s)
        await services.pacer.close(flush_timeout=10.0)
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


def run(settings: Settings) -> None:
    try:
        directory = load_directory(settings)
    except ConfigurationError as exc:
        for problem in exc.problems:
            _fail(problem, exit_now=False)
        raise SystemExit(EXIT_CONFIG) from None
    secrets = [settings.discord_token.get_secret_value(), settings.llm_api_key.get_secret_value()]
    secrets.extend(provider.api_key for provider in directory if provider.api_key)
    secrets.append(settings.search_api_key.get_secret_value())
    secrets.extend(database_secrets(settings.database_url.get_secret_value()))
    for server in load_mcp_servers(settings):
        secrets.extend(server.secrets())
    setup_logging(settings.log_level, settings.log_format, secrets)
    try:
        asyncio.run(_main(settings, directory))
    except discord.LoginFailure:
        _fail("Discord refused DISCORD_TOKEN: check it in the Developer Portal (Bot → Token).")
    except ConfigurationError as exc:
        for problem in exc.problems:
            _fail(problem, exit_now=False)
        raise SystemExit(EXIT_CONFIG) from None
    except (aiohttp.ClientConnectionError, OSError) as exc:
        _fail(
            f"Can't reach Discord ({exc.__class__.__name__}); "
            "check the network and DISCORD_API_BASE."
        )


def _fail(line: str, *, exit_now: bool = True) -> None:
    print(f"Switchboard: {line}", file=sys.stderr)
    if exit_now:
        raise SystemExit(EXIT_CONFIG)


async def _main(settings: Settings, directory: ModelDirectory) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop, directory=directory)
    log.info("stopped cleanly")


def _mcp_manager(servers: Sequence[McpServerConfig], settings: Settings) -> McpManager:
    # Imported only when servers are configured: the MCP SDK takes most of a second to load,
    # which every start (and every `python -m bot` command) would otherwise pay.
    from bot.tools.mcp.manager import McpManager

    return McpManager(
        servers,
        default_timeout_s=settings.tool_timeout_seconds,
        # The prompt's own timeout (it says so in Discord) runs out first.
        approval_timeout_s=settings.approval_timeout_seconds + 5,
    )
