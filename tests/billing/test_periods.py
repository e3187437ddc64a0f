"""UTC calendar periods, and spending that resets at each boundary (with an injected clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.billing.meter import Meter
from bot.billing.periods import PeriodName, day_number, describe_reset, period_of
from bot.errors import BudgetExceededError
from bot.llm.types import RoundStarted, Usage
from bot.storage.budgets import BudgetRepository
from tests.billing.conftest import GUILD, MODEL, USER, Clock, request, turn


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "now", "start", "end"),
    [
        ("day", utc(2026, 11, 21, 23, 59, 59), utc(2026, 11, 21), utc(2026, 11, 22)),
        ("week", utc(2026, 11, 21, 8), utc(2026, 11, 16), utc(2026, 11, 23)),  # Sat → Mon
        ("week", utc(2026, 11, 23), utc(2026, 11, 23), utc(2026, 11, 30)),  # Monday 00:00
        ("week", utc(2026, 12, 31, 12), utc(2026, 12, 28), utc(2027, 1, 4)),  # across New Year
        ("month", utc(2026, 12, 31, 23, 59), utc(2026, 12, 1), utc(2027, 1, 1)),
        ("month", utc(2028, 2, 29, 6), utc(2028, 2, 1), utc(2028, 3, 1)),  # leap year
        ("day", utc(2028, 2, 29, 6), utc(2028, 2, 29), utc(2028, 3, 1)),
    ],
)
def test_period_of_uses_utc_calendar_periods(
    name: PeriodName, now: datetime, start: datetime, end: datetime
) -> None:
    period = period_of(name, now)

    assert (period.start, period.end) == (start, end)
    assert period.end_day - period.first_day == (end - start).days


def test_period_of_converts_other_timezones_to_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    # 2026-12-01 08:00 in Tokyo is still November 30th in UTC.
    assert period_of("month", datetime(2026, 12, 1, 8, tzinfo=tokyo)).start == utc(2026, 11, 1)
    with pytest.raises(ValueError, match="naive"):
        period_of("day", datetime(2026, 1, 1))


def test_day_number_counts_utc_days_like_the_rollup() -> None:
    moment = utc(2026, 11, 21, 23, 59, 59)
    ms = int(moment.timestamp() * 1000)

    assert day_number(moment) == ms // 86_400_000


@pytest.mark.parametrize(
    ("end", "now", "text"),
    [
        (utc(2026, 12, 1), utc(2026, 11, 18, 12), "2026-12-01 00:00 UTC (in 12 days)"),
        (utc(2026, 11, 19), utc(2026, 11, 18, 12), "2026-11-19 00:00 UTC (in 12 hours)"),
        (utc(2026, 11, 19), utc(2026, 11, 18, 22, 30), "2026-11-19 00:00 UTC (in 90 minutes)"),
        (utc(2026, 11, 19), utc(2026, 11, 18, 23, 59), "2026-11-19 00:00 UTC (in 1 minute)"),
        (
            utc(2026, 11, 19),
            utc(2026, 11, 18, 23, 59, 30),
            "2026-11-19 00:00 UTC (in less than a minute)",
        ),
    ],
)
def test_describe_reset_is_absolute_and_relative(end: datetime, now: datetime, text: str) -> None:
    assert describe_reset(end, now) == text


LAST_MS = timedelta(milliseconds=1)


@pytest.mark.parametrize(
    ("period", "spend_at", "new_period"),
    [
        ("day", utc(2026, 11, 21, 0, 0), utc(2026, 11, 22)),
        ("week", utc(2026, 11, 16, 0, 0), utc(2026, 11, 23)),
        ("month", utc(2026, 11, 1, 0, 0), utc(2026, 12, 1)),
        ("day", utc(2026, 12, 31, 0, 0), utc(2027, 1, 1)),  # year end
        ("week", utc(2026, 12, 31, 9, 0), utc(2027, 1, 4)),  # a week across the year end
        ("month", utc(2026, 12, 1, 0, 0), utc(2027, 1, 1)),
        ("day", utc(2028, 2, 29, 0, 0), utc(2028, 3, 1)),  # leap day
        ("month", utc(2028, 2, 1, 0, 0), utc(2028, 3, 1)),  # a leap February
    ],
)
async def test_meter_spending_resets_at_the_period_boundary(
    meter: Meter,
    budgets: BudgetRepository,
    clock: Clock,
    period: PeriodName,
    spend_at: datetime,
    new_period: datetime,
) -> None:
    await budgets.set(GUILD, USER, period, 1_000_000, updated_by=1)
    clock.now = spend_at
    await meter.record_call(
        key="big",
        model=MODEL,
        usage=Usage(prompt_tokens=999_000),
        guild_id=GUILD,
        channel_id=1,
        user_id=USER,
    )

    clock.now = new_period - LAST_MS  # the last millisecond of the same period
    with pytest.raises(BudgetExceededError):
        await meter.before_call(turn(1), RoundStarted(1, request()))

    clock.now = new_period
    hold = await meter.before_call(turn(2), RoundStarted(1, request()))
    assert hold.held
    [status] = await meter.budget_status(GUILD, USER)
    assert status.spent_micros == 0 and status.held_micros == hold.amount_micros
