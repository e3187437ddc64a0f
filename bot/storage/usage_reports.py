"""Read-only usage queries for reports and `/usage`: sums over the `usage_daily` rollup.

Every query takes the guild id as a required argument and filters on it first, so a report
can only ever show one guild's usage (guild 0 is the rollup's name for DMs). Day ranges are
inclusive and counted in days since 1970-01-01 UTC, the rollup's `day` column; the range
filter and the guild are the leading columns of the rollup's primary key, so a report reads
one contiguous slice of it instead of the ledger.

The rollup stores "none" as 0 for user and channel; rows here turn that back into None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, get_args

from bot.storage.database import Database
from bot.storage.sql import Conn, Row
from bot.storage.timeutil import MS_PER_DAY

GroupBy = Literal["user", "model", "day", "channel"]
GROUP_BYS: tuple[GroupBy, ...] = get_args(GroupBy)

_EPOCH_DAY = date(1970, 1, 1)

# Column per grouping; fixed strings only, never user input, so f-string SQL is safe.
_KEY_COLUMN: dict[GroupBy, str] = {
    "user": "user_id",
    "model": "model",
    "day": "day",
    "channel": "channel_id",
}

_SUMS = (
    "SUM(calls) AS calls, SUM(prompt_tokens) AS prompt_tokens,"
    " SUM(cached_tokens) AS cached_tokens, SUM(completion_tokens) AS completion_tokens,"
    " SUM(reasoning_tokens) AS reasoning_tokens, SUM(cost_micros) AS cost_micros,"
    " SUM(unpriced_calls) AS unpriced_calls"
)


def day_to_date(day: int) -> date:
    return _EPOCH_DAY + timedelta(days=day)


def date_to_day(value: date) -> int:
    return (value - _EPOCH_DAY).days


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """Summed usage. `cost_micros` covers only the priced calls; `unpriced_calls` of `calls`
    had no known price and add tokens but no cost."""

    calls: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cost_micros: int = 0
    unpriced_calls: int = 0

    @property
    def total_tokens(self) -> int:
        # Inclusive convention: cached ⊂ prompt and reasoning ⊂ completion.
        return self.prompt_tokens + self.completion_tokens

    @property
    def all_unpriced(self) -> bool:
        """Every call (at least one) lacked a price, so there is no cost to show."""
        return self.calls > 0 and self.unpriced_calls == self.calls

    @property
    def partly_unpriced(self) -> bool:
        return 0 < self.unpriced_calls < self.calls

    def __add__(self, other: UsageTotals) -> UsageTotals:
        return UsageTotals(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            cost_micros=self.cost_micros + other.cost_micros,
            unpriced_calls=self.unpriced_calls + other.unpriced_calls,
        )


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One group of a report. Only the key field of the report's grouping is set (a None
    user or channel in a user/channel report means calls made without one)."""

    group_by: GroupBy
    usage: UsageTotals
    user_id: int | None = None
    channel_id: int | None = None
    model: str | None = None
    day: date | None = None

    @property
    def key(self) -> int | str | date | None:
        if self.group_by == "user":
            return self.user_id
        if self.group_by == "channel":
            return self.channel_id
        if self.group_by == "model":
            return self.model
        return self.day

    # The counts, flat, for callers that don't care about the totals type.
    @property
    def calls(self) -> int:
        return self.usage.calls

    @property
    def cost_micros(self) -> int:
        return self.usage.cost_micros

    @property
    def unpriced_calls(self) -> int:
        return self.usage.unpriced_calls


@dataclass(frozen=True, slots=True)
class DailyCost:
    """A group's priced cost on one day (what the chart stacks)."""

    day: date
    key: int | str | None  # user/channel id, model name; None for "no user/channel"
    cost_micros: int
    calls: int
    unpriced_calls: int


def _totals(row: Row) -> UsageTotals:
    # int(): PostgreSQL sums BIGINT columns as NUMERIC (Decimal in Python).
    return UsageTotals(
        calls=int(row.calls or 0),
        prompt_tokens=int(row.prompt_tokens or 0),
        cached_tokens=int(row.cached_tokens or 0),
        completion_tokens=int(row.completion_tokens or 0),
        reasoning_tokens=int(row.reasoning_tokens or 0),
        cost_micros=int(row.cost_micros or 0),
        unpriced_calls=int(row.unpriced_calls or 0),
    )


def _key_value(group_by: GroupBy, raw: object) -> int | str | None:
    if group_by in ("user", "channel"):
        assert isinstance(raw, int)
        return raw or None  # 0 is the rollup's "none"
    assert isinstance(raw, int | str)
    return raw


def _row(group_by: GroupBy, row: Row) -> UsageRow:
    usage = _totals(row)
    raw = row.k
    if group_by == "user":
        return UsageRow(group_by, usage, user_id=raw or None)
    if group_by == "channel":
        return UsageRow(group_by, usage, channel_id=raw or None)
    if group_by == "model":
        return UsageRow(group_by, usage, model=raw)
    return UsageRow(group_by, usage, day=day_to_date(raw))


def _check_range(guild_id: int, first_day: int, last_day: int) -> None:
    # bool is an int; a stray True/None must not become guild 1 or "every guild".
    if not isinstance(guild_id, int) or isinstance(guild_id, bool) or guild_id < 0:
        raise ValueError(f"a report needs one guild id (0 for DMs), not {guild_id!r}")
    if first_day > last_day:
        raise ValueError(f"empty day range {first_day}..{last_day}")


class UsageReportRepository:
    """Report reads over `usage_daily`; never writes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def groups(
        self,
        guild_id: int,
        group_by: GroupBy,
        first_day: int,
        last_day: int,
        *,
        conn: Conn | None = None,
    ) -> list[UsageRow]:
        """One row per group over the days `first_day..last_day` (inclusive) in the guild;
        by cost then calls, descending (ties by key), or by day for `day`."""
        _check_range(guild_id, first_day, last_day)
        column = _KEY_COLUMN[group_by]
        order = "k" if group_by == "day" else "cost_micros DESC, calls DESC, k"
        sql = (
            f"SELECT {column} AS k, {_SUMS} FROM usage_daily"
            f" WHERE guild_id = ? AND day BETWEEN ? AND ? GROUP BY {column} ORDER BY {order}"
        )
        async with self._db.reading(conn) as c:
            rows = await c.execute_fetchall(sql, (guild_id, first_day, last_day))
        return [_row(group_by, r) for r in rows]

    async def daily_costs(
        self,
        guild_id: int,
        group_by: GroupBy,
        first_day: int,
        last_day: int,
        *,
        conn: Conn | None = None,
    ) -> list[DailyCost]:
        """Cost per day and group (for charts), by day then key."""
        _check_range(guild_id, first_day, last_day)
        column = _KEY_COLUMN[group_by]
        sql = (
            f"SELECT day, {column} AS k, SUM(cost_micros) AS cost_micros, SUM(calls) AS calls,"
            " SUM(unpriced_calls) AS unpriced_calls FROM usage_daily"
            f" WHERE guild_id = ? AND day BETWEEN ? AND ? GROUP BY day, {column} ORDER BY day, k"
        )
        async with self._db.reading(conn) as c:
            rows = await c.execute_fetchall(sql, (guild_id, first_day, last_day))
        return [
            DailyCost(
                day=day_to_date(r.day),
                key=_key_value(group_by, r.k),
                cost_micros=int(r.cost_micros),
                calls=int(r.calls),
                unpriced_calls=int(r.unpriced_calls),
            )
            for r in rows
        ]

    _FIRST_DAY = "SELECT MIN(day) FROM usage_daily WHERE guild_id = ?"

    async def first_day(self, guild_id: int, *, conn: Conn | None = None) -> int | None:
        """The guild's earliest day with usage, or None if it has none."""
        _check_range(guild_id, 0, 0)
        async with self._db.reading(conn) as c, c.execute(self._FIRST_DAY, (guild_id,)) as cur:
            row = cur.fetchone()
        return None if row is None or row[0] is None else int(row[0])

    _MEMBER_DAYS = (
        f"SELECT {_SUMS} FROM usage_daily WHERE guild_id = ? AND user_id = ? AND day >= ?"
    )
    # The ledger's own columns under the same names, for the part of a day before `since`.
    _MEMBER_PARTIAL = (
        "SELECT COUNT(*) AS calls, SUM(prompt_tokens) AS prompt_tokens,"
        " SUM(cached_tokens) AS cached_tokens, SUM(completion_tokens) AS completion_tokens,"
        " SUM(reasoning_tokens) AS reasoning_tokens, SUM(cost_micros) AS cost_micros,"
        " SUM(CASE WHEN cost_micros IS NULL THEN 1 ELSE 0 END) AS unpriced_calls FROM usage_ledger"
        " WHERE COALESCE(guild_id, 0) = ? AND created_at >= ? AND created_at < ?"
        " AND COALESCE(user_id, 0) = ?"
    )

    async def member_totals(
        self,
        guild_id: int,
        user_id: int,
        since_ms: int,
        *,
        conn: Conn | None = None,
    ) -> UsageTotals:
        """A member's usage in the guild from `since_ms` (unix ms, inclusive) until now.

        Whole days come from the rollup; when `since_ms` is not midnight UTC, the rest of
        its day is summed from the ledger (through its guild/time index), so any start works.
        """
        _check_range(guild_id, 0, 0)
        first_full_day = -(-since_ms // MS_PER_DAY)  # ceiling: the first day wholly inside
        async with self._db.reading(conn) as c:
            async with c.execute(self._MEMBER_DAYS, (guild_id, user_id, first_full_day)) as cur:
                row = cur.fetchone()
            assert row is not None
            totals = _totals(row)
            partial_end = first_full_day * MS_PER_DAY
            if since_ms < partial_end:
                params = (guild_id, since_ms, partial_end, user_id)
                async with c.execute(self._MEMBER_PARTIAL, params) as cur:
                    partial = cur.fetchone()
                assert partial is not None
                totals += _totals(partial)
        return totals
