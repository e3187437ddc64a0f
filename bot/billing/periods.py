"""Budget periods: UTC calendar days, weeks (starting Monday) and months.

A period is [start, end) in UTC. The ledger's daily rollup counts days since 1970-01-01 UTC,
so spending in a period is the sum over the days `first_day <= day < end_day`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

PeriodName = Literal["day", "week", "month"]
PERIODS: tuple[PeriodName, ...] = get_args(PeriodName)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = timedelta(days=1)

ADJECTIVES: dict[PeriodName, str] = {"day": "daily", "week": "weekly", "month": "monthly"}


@dataclass(frozen=True, slots=True)
class Period:
    """One concrete calendar period, e.g. the week of 2026-11-16."""

    name: PeriodName
    start: datetime
    end: datetime  # exclusive: the moment the budget resets

    @property
    def first_day(self) -> int:
        return day_number(self.start)

    @property
    def end_day(self) -> int:
        return day_number(self.end)

    @property
    def adjective(self) -> str:
        return ADJECTIVES[self.name]


def day_number(moment: datetime) -> int:
    """Days since 1970-01-01 UTC (the `day` column of `usage_daily`)."""
    return (_utc(moment) - EPOCH) // _DAY


def period_of(name: PeriodName, now: datetime) -> Period:
    """The period of kind `name` that contains `now`."""
    now = _utc(now)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if name == "day":
        return Period(name, day, day + _DAY)
    if name == "week":
        start = day - timedelta(days=day.weekday())  # Monday is 0
        return Period(name, start, start + 7 * _DAY)
    if name == "month":
        start = day.replace(day=1)
        if start.month == 12:
            end = start.replace(year=start.year + 1, month=1)
        else:
            end = start.replace(month=start.month + 1)
        return Period(name, start, end)
    raise ValueError(f"unknown budget period {name!r}")


def describe_reset(end: datetime, now: datetime) -> str:
    """When a budget resets, absolute and relative: "2026-12-01 00:00 UTC (in 9 days)"."""
    return f"{_utc(end):%Y-%m-%d %H:%M} UTC (in {_relative(_utc(end) - _utc(now))})"


def _relative(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds >= 2 * 86_400:
        return _plural(seconds // 86_400, "day")
    if seconds >= 2 * 3600:
        return _plural(seconds // 3600, "hour")
    if seconds >= 60:
        return _plural(seconds // 60, "minute")
    return "less than a minute"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: billing periods are computed in aware UTC")
    return moment.astimezone(UTC)
