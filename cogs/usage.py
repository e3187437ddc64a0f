"""/usage (members: their own usage and budgets here) and /usage-report (admins: the server's).

Thin: read the options, check who may ask (`admin_command` on `/usage-report`), call
`BillingService`, reply ephemerally through `reply`. Both only ever read the interaction's
own server: its id is the one guild id handed to the billing layer.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.billing.report_embed import EmbedSpec
from bot.billing.report_text import (
    chart_caption,
    csv_caption,
    csv_too_large,
    report_filename,
    usage_text,
)
from bot.billing.reports import ReportPeriod, report_csv, report_embed
from bot.client import SwitchboardBot
from bot.discord_ui.checks import admin_command
from bot.discord_ui.replies import defer, reply
from bot.errors import UserFacingError
from bot.frontend.names import resolve_names
from bot.services.billing_service import BillingService, Format, ids_to_name
from bot.storage.usage_reports import GroupBy

log = logging.getLogger(__name__)

PERIOD_CHOICES = [
    app_commands.Choice(name="today (UTC)", value="today"),
    app_commands.Choice(name="last 7 days", value="7d"),
    app_commands.Choice(name="last 30 days (default)", value="30d"),
    app_commands.Choice(name="this month", value="month"),
    app_commands.Choice(name="all time", value="all"),
]
GROUP_CHOICES = [
    app_commands.Choice(name="member (default)", value="user"),
    app_commands.Choice(name="model", value="model"),
    app_commands.Choice(name="day", value="day"),
    app_commands.Choice(name="channel", value="channel"),
]
FORMAT_CHOICES = [
    app_commands.Choice(name="table (default)", value="table"),
    app_commands.Choice(name="csv — every row, as a file", value="csv"),
    app_commands.Choice(name="chart — cost per day, as a picture", value="chart"),
]


def to_embed(spec: EmbedSpec) -> discord.Embed:
    embed = discord.Embed(title=spec.title, description=spec.description)
    for field in spec.fields:
        embed.add_field(name=field.name, value=field.value, inline=field.inline)
    embed.set_footer(text=spec.footer)
    return embed


def _period(value: str) -> ReportPeriod:
    for choice in ("today", "7d", "30d", "month", "all"):
        if value == choice:
            return choice
    return "30d"


def _group(value: str) -> GroupBy:
    for choice in ("user", "model", "day", "channel"):
        if value == choice:
            return choice
    return "user"


def _format(value: str) -> Format:
    if value == "csv":
        return "csv"
    if value == "chart":
        return "chart"
    return "table"


class Usage(commands.Cog):
    def __init__(self, bot: SwitchboardBot) -> None:
        self.bot = bot
        services = bot.services
        self.billing = BillingService(services.db, services.meter, services.prices)

    @app_commands.command(
        name="usage", description="Your tokens, cost and remaining budget in this server."
    )
    @app_commands.guild_only()
    async def usage(self, interaction: discord.Interaction[Any]) -> None:
        if interaction.guild_id is None:  # `guild_only` only hides the command from DMs
            raise app_commands.NoPrivateMessage()
        view = await self.billing.member_usage(interaction.guild_id, interaction.user.id)
        guild_name = interaction.guild.name if interaction.guild else "this server"
        await reply(interaction, usage_text(view, guild_name))

    @admin_command
    @app_commands.command(
        name="usage-report", description="This server's usage and cost (needs Manage Server)."
    )
    @app_commands.describe(
        period="Which days (UTC); default the last 30 days",
        group_by="One row per member (default), model, day or channel",
        format_="table (default), csv file or chart picture",
    )
    @app_commands.rename(format_="format")
    @app_commands.choices(period=PERIOD_CHOICES, group_by=GROUP_CHOICES, format_=FORMAT_CHOICES)
    async def usage_report(
        self,
        interaction: discord.Interaction[Any],
        period: str = "30d",
        group_by: str = "user",
        format_: str = "table",
    ) -> None:
        await defer(interaction)  # a report over a large ledger can take a moment
        guild = interaction.guild
        assert interaction.guild_id is not None and guild is not None
        fmt = _format(format_)
        report = await self.billing.report(interaction.guild_id, _period(period), _group(group_by))
        names: dict[int, str] = {}
        wanted = ids_to_name(report, fmt)
        if wanted:
            names = await resolve_names(self.bot, guild, report.group_by, wanted)
        if fmt == "csv":
            data = report_csv(report, names).encode("utf-8")
            if len(data) > guild.filesize_limit:
                raise UserFacingError(csv_too_large(len(data)))
            file = discord.File(io.BytesIO(data), filename=report_filename(report, "csv"))
            await reply(interaction, csv_caption(report, guild.name), file=file)
        elif fmt == "chart":
            png = await self.billing.chart(report, names, guild.name)
            file = discord.File(io.BytesIO(png), filename=report_filename(report, "png"))
            await reply(interaction, chart_caption(report, guild.name), file=file)
        else:
            await reply(interaction, embed=to_embed(report_embed(report, names, guild.name)))


async def setup(bot: commands.Bot) -> None:
    assert isinstance(bot, SwitchboardBot)
    await bot.add_cog(Usage(bot))
