"""What the billing commands (`/usage`, `/usage-report`, `/budget`, `/price`) call.

The cogs stay thin: this module checks the numbers people type (amounts and prices in
dollars, model names), picks which period `/usage` covers, reads budgets and reports through
the billing layer, and says whose names a report shows (`ids_to_name`). What the commands
say is written in `bot.billing.report_text`.

Amounts are checked here rather than by Discord: a `number` option's min/max are only
enforced by Discord's own clients, and a budget amount must also fit whole micro-dollars.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from bot.billing.meter import Meter
from bot.billing.periods import PeriodName, period_of
from bot.billing.pricing import (
    PriceBook,
    budget_amount_micros,
)
from bot.billing.report_embed import TOP_ROWS
from bot.billing.report_text import Basis, MemberUsage, PriceListing
from bot.billing.reports import (
    CHART_TOP_GROUPS,
    ReportPeriod,
    UsageReport,
    build_report,
    member_usage,
    report_chart,
)
from bot.errors import InvalidInputError
from bot.services.model_catalog import validate_model_name
from bot.storage.budgets import BudgetRepository, BudgetStatus
from bot.storage.database import Database
from bot.storage.prices import PriceOverride
from bot.storage.usage_reports import GroupBy, UsageReportRepository

log = logging.getLogger(__name__)

MAX_BUDGET_USD = 1_000_000
MAX_PRICE_USD = 10_000  # per million tokens; the dearest real models cost a few hundred
MAX_DECIMALS = 6  # one micro-dollar: what the ledger and budgets store

Format = Literal["table", "csv", "chart"]


def _decimal(value: float | str | Decimal, what: str) -> Decimal:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInputError(f"The {what} must be a number, not {value!r}.")
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise InvalidInputError(f"The {what} must be a number, not {value!r}.") from None
    if not number.is_finite():
        raise InvalidInputError(f"The {what} must be a number, not {value!r}.")
    exponent = number.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > MAX_DECIMALS:
        raise InvalidInputError(
            f"The {what} has more than {MAX_DECIMALS} decimal places "
            "(the smallest amount is $0.000001)."
        )
    return number


def parse_budget_amount(value: float | str | Decimal) -> int:
    """A budget amount in dollars → micro-dollars: more than $0, at most $1,000,000."""
    amount = _decimal(value, "amount")
    if amount <= 0:
        raise InvalidInputError("A budget must be more than $0 (use `/budget clear` to remove it).")
    if amount > MAX_BUDGET_USD:
        raise InvalidInputError(f"A budget can be at most ${MAX_BUDGET_USD:,}.")
    return budget_amount_micros(amount)


def parse_price(value: float | str | Decimal, what: str) -> Decimal:
    """A price in dollars per million tokens: from $0 (free) to $10,000."""
    price = _decimal(value, f"{what} price")
    if price < 0:
        raise InvalidInputError(f"The {what} price can't be negative.")
    if price > MAX_PRICE_USD:
        raise InvalidInputError(
            f"The {what} price is over ${MAX_PRICE_USD:,} per million tokens: prices are "
            "dollars per *million* tokens (e.g. `0.15` for $0.15/M)."
        )
    return price


class BillingService:
    def __init__(
        self,
        db: Database,
        meter: Meter,
        prices: PriceBook,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._meter = meter
        self.prices = prices
        self._budgets = BudgetRepository(db)
        self._reports = UsageReportRepository(db)
        self._clock = clock

    # --- /usage ----------------------------------------------------------------------------

    async def member_usage(self, guild_id: int, user_id: int) -> MemberUsage:
        """The member's usage in the period of their own budget if they have one, else the
        server's budget's, else the current calendar month (UTC)."""
        now = self._clock()
        budgets = tuple(await self._meter.budget_status(guild_id, user_id))
        mine = next((s for s in budgets if s.budget.user_id == user_id), None)
        server = next((s for s in budgets if s.budget.user_id is None), None)
        basis: Basis = "month"
        name: PeriodName = "month"
        if mine is not None:
            basis, name = "member", mine.budget.period
        elif server is not None:
            basis, name = "server", server.budget.period
        period = period_of(name, now)
        totals = await member_usage(self._reports, guild_id, user_id, period.start)
        return MemberUsage(totals, period, basis, budgets, now)

    # --- /usage-report ---------------------------------------------------------------------

    async def report(self, guild_id: int, period: ReportPeriod, group_by: GroupBy) -> UsageReport:
        return await build_report(
            self._reports, guild_id, period=period, group_by=group_by, now=self._clock()
        )

    async def chart(
        self, report: UsageReport, names: dict[int, str], guild_name: str | None
    ) -> bytes:
        return await report_chart(self._reports, report, names, guild_name)

    # --- /budget ---------------------------------------------------------------------------

    async def set_budget(
        self,
        guild_id: int,
        user_id: int | None,
        period: PeriodName,
        amount: float | str | Decimal,
        updated_by: int,
    ) -> BudgetStatus:
        """Create or replace a budget; returns it with what counts against it already."""
        micros = parse_budget_amount(amount)
        budget = await self._budgets.set(guild_id, user_id, period, micros, updated_by)
        log.info(
            "budget set in guild %s for user %s: %s µ$ per %s by %s",
            guild_id,
            user_id,
            micros,
            period,
            updated_by,
        )
        for status in await self._meter.guild_budgets(guild_id):
            if status.budget.id == budget.id:
                return status
        return BudgetStatus(budget, 0, 0)

    async def budgets(self, guild_id: int) -> list[BudgetStatus]:
        return await self._meter.guild_budgets(guild_id)

    async def clear_budget(self, guild_id: int, user_id: int | None) -> bool:
        removed = await self._budgets.clear(guild_id, user_id)
        if removed:
            log.info("budget cleared in guild %s for user %s", guild_id, user_id)
        return removed

    def now(self) -> datetime:
        return self._clock()

    # --- /price ----------------------------------------------------------------------------

    async def set_price(
        self,
        model: str,
        input_usd: float | str | Decimal,
        output_usd: float | str | Decimal,
        cached_usd: float | str | Decimal | None,
        updated_by: int,
    ) -> PriceOverride:
        name = validate_model_name(model)
        prices = (
            parse_price(input_usd, "input"),
            parse_price(output_usd, "output"),
            None if cached_usd is None else parse_price(cached_usd, "cached"),
        )
        return await self.prices.set_override(name, *prices, updated_by=updated_by)

    async def price_list(self, model: str) -> PriceListing:
        overrides = tuple(await self.prices.overrides())
        effective = await self.prices.price_for(model)
        # The catalog loads its data on first use (~0.2 s): off the event loop.
        catalog = await asyncio.to_thread(self.prices.catalog_price, model)
        return PriceListing(overrides, model, effective, catalog)


# --- names for reports -------------------------------------------------------------------


def ids_to_name(report: UsageReport, fmt: Format) -> list[int]:
    """The user or channel ids whose names the chosen format shows, most important first."""
    if report.group_by not in ("user", "channel"):
        return []
    rows = list(report.rows)
    if fmt == "table":
        rows = rows[:TOP_ROWS]
    elif fmt == "chart":
        rows = rows[: CHART_TOP_GROUPS + 1]
    ids = [r.user_id if report.group_by == "user" else r.channel_id for r in rows]
    return [i for i in ids if i is not None]
