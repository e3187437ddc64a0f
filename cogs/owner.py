"""Owner commands (`OWNER_IDS`): `/status` — is the bot healthy, and if not, why — and
`/price set` · `/price list`: the owner's model prices (dollars per million tokens), which win
over the maintained price table."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import __version__
from bot.billing.report_text import price_list_lines, price_text
from bot.client import SwitchboardBot
from bot.discord_ui.checks import owner_command
from bot.discord_ui.replies import defer, fit_lines, reply
from bot.errors import UserFacingError
from bot.llm.providers import DEFAULT_PROVIDER
from bot.services.billing_service import MAX_PRICE_USD, BillingService
from bot.services.model_catalog import MODEL_NAME_MAX

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


class Owner(commands.Cog):
    price = app_commands.Group(
        name="price", description="Model prices in dollars per million tokens (owners only)."
    )

    def __init__(self, bot: SwitchboardBot) -> None:
        self.bot = bot
        self.services = bot.services
        services = bot.services
        self.billing = BillingService(services.db, services.meter, services.prices)

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
        size = await services.db.size_bytes()
        lines.append(f"**Database** {size / 1_000_000:.1f} MB")
        lines.append(await self._processes_line())
        lines.extend(await self._llm_lines())
        for server in services.catalog.mcp_status():
            mark = "✅" if server.state == "ready" else "❌" if server.state == "failed" else "⏳"
            lines.append(f"**MCP** {server.line()} {mark}")
        last = services.chat.last_llm_error
        if last is not None:
            ago = format_uptime((datetime.now(UTC) - last.at).total_seconds())
            lines.append(f"**Last model error** {ago} ago: {last.text}")
        embed = discord.Embed(title="Switchboard status", description="\n".join(lines))
        await reply(interaction, embed=embed)

    async def _processes_line(self) -> str:
        """How many processes share the database (live heartbeats), and which one this is."""
        heartbeats = self.services.heartbeats
        me = heartbeats.owner
        shards = ", ".join(map(str, self.bot.running_shards)) or "none yet"
        count = len(await heartbeats.live())
        running = f"{count} process{'' if count == 1 else 'es'}"
        return (
            f"**Processes** {running} on this database · this one: pid {me.pid} on "
            f"{me.host}, shards {shards}"
        )

    async def _llm_lines(self) -> list[str]:
        """One line per provider: reachable (how many models, how fast) or what is wrong."""
        router = self.services.router
        providers = list(router.directory)
        return list(await asyncio.gather(*(self._provider_line(p.name) for p in providers)))

    async def _provider_line(self, name: str) -> str:
        client = self.services.router.client(name)
        label = "Model endpoint" if name == DEFAULT_PROVIDER else f"Provider {name}"
        base = client.base_url
        started = time.monotonic()
        try:
            async with asyncio.timeout(LLM_PROBE_TIMEOUT_S):
                models = await client.list_models()
        except TimeoutError:
            return f"**{label}** {base}: no answer within {LLM_PROBE_TIMEOUT_S:.0f} s ❌"
        except UserFacingError as exc:
            return f"**{label}** {base}: {exc.user_message} ❌"
        elapsed = (time.monotonic() - started) * 1000
        return f"**{label}** {base}: reachable ({len(models)} models, {elapsed:.0f} ms) ✅"

    @owner_command
    @price.command(name="set", description="Set a model's price per million tokens (owners).")
    @app_commands.describe(
        model="Model name as the endpoint spells it",
        input="Dollars per million prompt tokens",
        output="Dollars per million completion tokens (reasoning included)",
        cached="Dollars per million cached prompt tokens (default: the input price)",
    )
    async def price_set(
        self,
        interaction: discord.Interaction[Any],
        model: app_commands.Range[str, 1, MODEL_NAME_MAX],
        input: app_commands.Range[float, 0, MAX_PRICE_USD],
        output: app_commands.Range[float, 0, MAX_PRICE_USD],
        cached: app_commands.Range[float, 0, MAX_PRICE_USD] | None = None,
    ) -> None:
        saved = await self.billing.set_price(model, input, output, cached, interaction.user.id)
        prices = price_text(saved.input_price, saved.output_price, saved.cached_price)
        await reply(
            interaction,
            f"✅ Price of `{saved.model}` per million tokens: {prices}.\n"
            "It applies to calls from now on (and wins over the price table).",
        )

    @price_set.autocomplete("model")
    async def _model_names(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        names = await self.services.models.suggest(current)
        return [app_commands.Choice(name=n, value=n) for n in names]

    @owner_command
    @price.command(name="list", description="Prices set by the owners, and this channel's model.")
    async def price_list(self, interaction: discord.Interaction[Any]) -> None:
        channel = interaction.channel
        parent_id = channel.parent_id if isinstance(channel, discord.Thread) else None
        effective = await self.services.effective_settings.for_channel(
            interaction.channel_id, parent_id
        )
        listing = await self.billing.price_list(effective.model)
        await reply(interaction, fit_lines(price_list_lines(listing), "prices"))


async def setup(bot: commands.Bot) -> None:
    assert isinstance(bot, SwitchboardBot)
    await bot.add_cog(Owner(bot))
