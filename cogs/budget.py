"""/budget set · show · clear: spending limits for the whole server or one member (admins).

Thin: read the options, check permissions (`admin_command` on the whole group), call
`BillingService`, reply ephemerally through `reply`. Members are named by mention: replies
send no pings (`allowed_mentions` none), and Discord shows the name.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.billing.periods import PeriodName, describe_reset, period_of
from bot.billing.report_text import budget_status_line
from bot.client import SwitchboardBot
from bot.discord_ui.checks import admin_command
from bot.discord_ui.replies import fit_lines, reply
from bot.errors import InvalidInputError
from bot.money import usd_precise
from bot.services.billing_service import MAX_BUDGET_USD, BillingService

log = logging.getLogger(__name__)

SCOPE_CHOICES = [
    app_commands.Choice(name="server — everyone's usage together", value="server"),
    app_commands.Choice(name="member — one member's usage", value="member"),
]
PERIOD_CHOICES = [
    app_commands.Choice(name="day (resets 00:00 UTC)", value="day"),
    app_commands.Choice(name="week (resets Monday 00:00 UTC)", value="week"),
    app_commands.Choice(name="month (resets on the 1st, 00:00 UTC)", value="month"),
]


def _period(value: str) -> PeriodName:
    if value == "day":
        return "day"
    if value == "week":
        return "week"
    return "month"


def target_user(scope: str, user: discord.Member | discord.User | None) -> int | None:
    """The member a budget belongs to (None: the server's), or a plain refusal."""
    if scope == "member":
        if user is None:
            raise InvalidInputError("Pick the member with the `user` option (`scope:member`).")
        if user.bot:
            raise InvalidInputError("Bots don't use the model: pick a member.")
        return user.id
    if user is not None:
        raise InvalidInputError(
            "`user` is only for `scope:member`; a server budget covers everyone."
        )
    return None


@admin_command
class BudgetCog(
    commands.GroupCog,
    group_name="budget",
    group_description="Spending limits for this server or a member (needs Manage Server).",
):
    def __init__(self, bot: SwitchboardBot) -> None:
        self.bot = bot
        services = bot.services
        self.billing = BillingService(services.db, services.meter, services.prices)

    @app_commands.command(name="set", description="Set the server's or a member's budget.")
    @app_commands.describe(
        scope="server (everyone together) or member",
        amount="Dollars per period, more than 0 and at most 1,000,000",
        period="day, week or month (UTC)",
        user="The member (only with scope:member)",
    )
    @app_commands.choices(scope=SCOPE_CHOICES, period=PERIOD_CHOICES)
    async def set_(
        self,
        interaction: discord.Interaction[Any],
        scope: str,
        # Discord's clients enforce the maximum; the service checks every bound again.
        amount: app_commands.Range[float, None, MAX_BUDGET_USD],
        period: str,
        user: discord.Member | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        user_id = target_user(scope, user)
        status = await self.billing.set_budget(
            interaction.guild_id, user_id, _period(period), amount, interaction.user.id
        )
        now = self.billing.now()
        budget = status.budget
        what = "Server budget" if user_id is None else f"Budget of <@{user_id}>"
        covers = " (everyone's usage together)" if user_id is None else ""
        held = f" (+ {usd_precise(status.held_micros)} held)" if status.held_micros else ""
        end = period_of(budget.period, now).end
        text = (
            f"✅ {what} set: {usd_precise(budget.amount_micros)} per {budget.period}{covers}.\n"
            f"Spent this {budget.period} so far: {usd_precise(status.spent_micros)}{held} · "
            f"left: {usd_precise(status.left_micros)} · resets {describe_reset(end, now)}."
        )
        await reply(interaction, text)

    @app_commands.command(name="show", description="Every budget in this server and what's left.")
    async def show(self, interaction: discord.Interaction[Any]) -> None:
        assert interaction.guild_id is not None
        statuses = await self.billing.budgets(interaction.guild_id)
        if not statuses:
            await reply(
                interaction,
                "No budgets in this server: usage is not limited. Set one with `/budget set`.",
            )
            return
        now = self.billing.now()
        lines = ["**Budgets in this server**", *(budget_status_line(s, now) for s in statuses)]
        await reply(interaction, fit_lines(lines, "budgets"))

    @app_commands.command(name="clear", description="Remove the server's or a member's budget.")
    @app_commands.describe(scope="server or member", user="The member (only with scope:member)")
    @app_commands.choices(scope=SCOPE_CHOICES)
    async def clear(
        self,
        interaction: discord.Interaction[Any],
        scope: str,
        user: discord.Member | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        user_id = target_user(scope, user)
        removed = await self.billing.clear_budget(interaction.guild_id, user_id)
        what = "server budget" if user_id is None else f"budget of <@{user_id}>"
        if removed:
            text = f"✅ The {what} is removed; it no longer limits usage."
        else:
            text = f"There was no {what} to remove."
        await reply(interaction, text)


async def setup(bot: commands.Bot) -> None:
    assert isinstance(bot, SwitchboardBot)
    await bot.add_cog(BudgetCog(bot))
