"""What the billing commands say, as plain Discord markdown: `/usage` (a member's usage and
budgets), `/budget show` (one line per budget), `/price list` (prices in use and the owners'
overrides) and the captions and file names of `/usage-report`'s CSV and chart.

The values these read (`MemberUsage`, `PriceListing`) are built by the billing service; the
cogs only hand the text to Discord. Lists that can grow (budgets, overrides) are returned as
lines, for the caller to fit into one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.billing.periods import ADJECTIVES, Period, describe_reset, period_of
from bot.billing.pricing import Price, format_price
from bot.billing.report_embed import calls_text
from bot.billing.reports import UsageReport
from bot.money import usd_precise
from bot.storage.budgets import BudgetStatus
from bot.storage.prices import PriceOverride
from bot.storage.usage_reports import UsageTotals

Basis = Literal["member", "server", "month"]


@dataclass(frozen=True, slots=True)
class MemberUsage:
    """`/usage`: a member's usage over `period` and the budgets that apply to them."""

    totals: UsageTotals
    period: Period
    basis: Basis  # whose budget decides the period ("month": no budget applies)
    budgets: tuple[BudgetStatus, ...]  # the server's first, then the member's
    now: datetime


@dataclass(frozen=True, slots=True)
class PriceListing:
    """`/price list`: the owner's overrides, and what the channel's model costs."""

    overrides: tuple[PriceOverride, ...]
    model: str
    effective: Price | None  # what the meter uses for `model`
    catalog: Price | None  # the maintained table's price, if it knows `model`


# --- /usage ------------------------------------------------------------------------------------


def tokens_line(totals: UsageTotals) -> str:
    return (
        f"**Tokens** {totals.prompt_tokens:,} in ({totals.cached_tokens:,} cached) · "
        f"{totals.completion_tokens:,} out ({totals.reasoning_tokens:,} reasoning) · "
        f"{calls_text(totals.calls)}"
    )


def cost_line(totals: UsageTotals) -> str:
    if totals.all_unpriced:
        return (
            "**Cost** unpriced: no price is known for the models you used, so no cost is counted."
        )
    line = f"**Cost** {usd_precise(totals.cost_micros)}"
    if totals.partly_unpriced:
        line += f" — plus {totals.unpriced_calls:,} unpriced "
        line += f"{'call' if totals.unpriced_calls == 1 else 'calls'} whose cost is unknown"
    return line


def member_budget_line(status: BudgetStatus, now: datetime) -> str:
    """One budget as the member it applies to sees it in `/usage`."""
    budget = status.budget
    adjective = ADJECTIVES[budget.period]
    whose = (
        f"Server {adjective} budget (shared by everyone)"
        if budget.user_id is None
        else f"Your {adjective} budget"
    )
    reset = describe_reset(period_of(budget.period, now).end, now)
    held = f" + {usd_precise(status.held_micros)} in progress" if status.held_micros else ""
    return (
        f"- {whose}: **{usd_precise(status.left_micros)} left** of "
        f"{usd_precise(budget.amount_micros)} ({usd_precise(status.spent_micros)} spent{held}); "
        f"resets {reset}"
    )


def usage_text(view: MemberUsage, guild_name: str) -> str:
    """`/usage`: the member's tokens and cost this period, and the budgets that apply."""
    period = view.period
    since = f"since {period.start:%Y-%m-%d} UTC"
    if view.basis == "member":
        span = f"this {period.name} ({since}, your budget's period)"
    elif view.basis == "server":
        span = f"this {period.name} ({since}, the server budget's period)"
    else:
        span = f"this month ({since})"
    lines = [f"**Your usage in {guild_name}** — {span}"]
    totals = view.totals
    if totals.calls == 0:
        lines.append("No usage yet in this period.")
    else:
        lines += [tokens_line(totals), cost_line(totals)]
    if view.budgets:
        lines.append("**Budgets that apply to you**")
        lines += [member_budget_line(s, view.now) for s in view.budgets]
    else:
        lines.append("No budget applies to you here: your usage is not limited.")
    return "\n".join(lines)


# --- /budget show ------------------------------------------------------------------------------


def budget_status_line(status: BudgetStatus, now: datetime) -> str:
    """One budget as admins see it in `/budget show`."""
    budget = status.budget
    whose = "Server" if budget.user_id is None else f"<@{budget.user_id}>"
    period = period_of(budget.period, now)
    held = f" · {usd_precise(status.held_micros)} held" if status.held_micros else ""
    return (
        f"**{whose}** — {usd_precise(budget.amount_micros)} {ADJECTIVES[budget.period]}: "
        f"{usd_precise(status.spent_micros)} spent{held} · **{usd_precise(status.left_micros)} "
        f"left** · resets {describe_reset(period.end, now)}"
    )


# --- /price list -------------------------------------------------------------------------------


def price_text(input_price: int, output_price: int, cached_price: int | None) -> str:
    cached = (
        "cached at the input price"
        if cached_price is None
        else f"cached {format_price(cached_price)}"
    )
    return f"input {format_price(input_price)} · output {format_price(output_price)} · {cached}"


def override_line(override: PriceOverride) -> str:
    by = f" · set by <@{override.updated_by}>" if override.updated_by else ""
    prices = price_text(override.input_price, override.output_price, override.cached_price)
    return f"- `{override.model}`: {prices}{by} on {override.updated_at:%Y-%m-%d}"


def _price(price: Price) -> str:
    text = price_text(price.input_price, price.output_price, price.cached_price)
    if price.tiers:
        text += " (more above a long prompt)"
    return text


def price_list_lines(listing: PriceListing) -> list[str]:
    """`/price list`: the channel's model first (the overrides may be cut to fit one
    message), then every override the owners set."""
    model = listing.model
    lines = [f"**This channel's model `{model}`**"]
    if listing.catalog is not None:
        lines.append(f"- price table: {_price(listing.catalog)}")
    else:
        lines.append("- price table: not listed")
    effective = listing.effective
    if effective is None:
        lines.append(
            "- in use: **unpriced** — its calls are recorded without a cost and refused where "
            f"a budget applies. Set one: `/price set model:{model} input:<$> output:<$>`."
        )
    else:
        source = "your price" if effective.source == "override" else "the price table's"
        lines.append(f"- in use: {source}")
    lines.append("**Prices set by the owners** (dollars per million tokens)")
    lines += [override_line(o) for o in listing.overrides] or ["- none: the price table applies"]
    return lines


# --- /usage-report files -----------------------------------------------------------------------


def report_filename(report: UsageReport, extension: str) -> str:
    return f"usage-{report.guild_id}-{report.period}-{report.group_by}.{extension}"


def csv_caption(report: UsageReport, guild_name: str) -> str:
    return (
        f"Usage of **{guild_name}** by {report.group_by}, {report.period_label}: "
        f"{len(report.rows):,} rows."
    )


def chart_caption(report: UsageReport, guild_name: str) -> str:
    return f"Cost per day in **{guild_name}**, {report.period_label}."


def csv_too_large(size: int) -> str:
    return (
        f"The CSV would be {size / 1_000_000:.1f} MB, more than Discord accepts here: "
        "pick a shorter `period`."
    )
