"""Budgets (per server, or per member in a server) and what counts against them.

A budget counts settled spending in its current period (from `budget_spend`) plus the open
reservations held against it (`bot.storage.reservations`, which holds and settles calls).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.storage.database import Database
from bot.storage.sql import Conn, Row
from bot.storage.timeutil import from_ms, now_ms

BudgetPeriod = Literal["day", "week", "month"]
# period name → (first day, end day) of the current period, in days since 1970-01-01 UTC
PeriodDays = Mapping[BudgetPeriod, tuple[int, int]]
PERIODS: tuple[BudgetPeriod, ...] = ("day", "week", "month")


@dataclass(frozen=True, slots=True)
class Budget:
    id: int
    guild_id: int
    user_id: int | None  # None: the whole server's budget
    period: BudgetPeriod
    amount_micros: int
    updated_by: int | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """A budget with what counts against it in its current period."""

    budget: Budget
    spent_micros: int  # settled, priced calls this period
    held_micros: int  # open reservations

    @property
    def left_micros(self) -> int:
        return max(self.budget.amount_micros - self.spent_micros - self.held_micros, 0)


_COLUMNS = "id, guild_id, user_id, period, amount_micros, updated_by, updated_at"
_B_COLUMNS = ", ".join(f"b.{c.strip()}" for c in _COLUMNS.split(","))


def _budget(row: Row) -> Budget:
    return Budget(
        id=row.id,
        guild_id=row.guild_id,
        user_id=row.user_id,
        period=row.period,
        amount_micros=row.amount_micros,
        updated_by=row.updated_by,
        updated_at=from_ms(row.updated_at),
    )


def budget_status_of(row: Row) -> BudgetStatus:
    return BudgetStatus(_budget(row), int(row.spent), int(row.held))


_FIRST = "CASE b.period WHEN 'day' THEN :day0 WHEN 'week' THEN :week0 ELSE :month0 END"
_END = "CASE b.period WHEN 'day' THEN :day1 WHEN 'week' THEN :week1 ELSE :month1 END"
# budget_spend's user_id 0 is the whole server, so one shape serves both kinds of budget.
_STATUS = f"""
    SELECT {_B_COLUMNS},
        (SELECT COALESCE(SUM(s.cost_micros), 0) FROM budget_spend s
         WHERE s.guild_id = b.guild_id AND s.user_id = COALESCE(b.user_id, 0)
           AND s.day >= {_FIRST} AND s.day < {_END}) AS spent,
        (SELECT COALESCE(SUM(r.amount_micros), 0) FROM reservations r
         WHERE r.guild_id = b.guild_id AND (b.user_id IS NULL OR r.user_id = b.user_id)) AS held
    FROM budgets b
"""
# Served by the budgets_scope index (guild_id, COALESCE(user_id, 0)); the server first.
APPLICABLE_BUDGETS = f"{_STATUS} WHERE b.guild_id = :guild AND COALESCE(b.user_id, 0) IN (0, :user)"
APPLICABLE_BUDGETS += " ORDER BY COALESCE(b.user_id, 0)"
_IN_GUILD = f"{_STATUS} WHERE b.guild_id = :guild ORDER BY COALESCE(b.user_id, 0)"


def budget_params(guild_id: int, user_id: int | None, days: PeriodDays) -> dict[str, object]:
    params: dict[str, object] = {"guild": guild_id, "user": user_id or 0}
    for name in PERIODS:
        first, end = days[name]
        params[f"{name}0"], params[f"{name}1"] = first, end
    return params


class BudgetRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def applicable(
        self,
        guild_id: int,
        user_id: int | None,
        days: PeriodDays,
        *,
        conn: Conn | None = None,
    ) -> list[BudgetStatus]:
        """The server's budget and this member's (those that exist), server first, each with
        its spending in its current period and its open reservations — one statement."""
        async with self._db.reading(conn) as c:
            rows = await c.execute_fetchall(
                APPLICABLE_BUDGETS, budget_params(guild_id, user_id, days)
            )
        return [budget_status_of(r) for r in rows]

    async def in_guild(
        self, guild_id: int, days: PeriodDays, *, conn: Conn | None = None
    ) -> list[BudgetStatus]:
        """Every budget of the server (server first, then members), with their status."""
        async with self._db.reading(conn) as c:
            rows = await c.execute_fetchall(_IN_GUILD, budget_params(guild_id, None, days))
        return [budget_status_of(r) for r in rows]

    # COALESCE(user_id, 0): what the budgets_scope index holds (and `IS ?` is SQLite only).
    _GET = f"SELECT {_COLUMNS} FROM budgets WHERE guild_id = ? AND COALESCE(user_id, 0) = ?"

    async def get(
        self, guild_id: int, user_id: int | None, *, conn: Conn | None = None
    ) -> Budget | None:
        async with (
            self._db.reading(conn) as c,
            c.execute(self._GET, (guild_id, user_id or 0)) as cur,
        ):
            row = cur.fetchone()
        return None if row is None else _budget(row)

    _SET = f"""
        INSERT INTO budgets (guild_id, user_id, period, amount_micros, updated_by, updated_at)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (guild_id, COALESCE(user_id, 0)) DO UPDATE SET
            period = excluded.period, amount_micros = excluded.amount_micros,
            updated_by = excluded.updated_by, updated_at = excluded.updated_at
        RETURNING {_COLUMNS}
    """

    async def set(
        self,
        guild_id: int,
        user_id: int | None,
        period: BudgetPeriod,
        amount_micros: int,
        updated_by: int | None,
        *,
        conn: Conn | None = None,
    ) -> Budget:
        """Create or replace the server's (user_id None) or a member's budget."""
        params = (guild_id, user_id, period, amount_micros, updated_by, now_ms())
        async with (
            self._db.maybe_transaction(conn) as c,
            c.execute(self._SET, params) as cursor,
        ):
            row = cursor.fetchone()
        assert row is not None
        return _budget(row)

    _CLEAR = "DELETE FROM budgets WHERE guild_id = ? AND COALESCE(user_id, 0) = ?"

    async def clear(self, guild_id: int, user_id: int | None, *, conn: Conn | None = None) -> bool:
        """Remove a budget; False if there was none."""
        async with self._db.maybe_transaction(conn) as c:
            cursor = await c.execute(self._CLEAR, (guild_id, user_id or 0))
            return cursor.rowcount > 0
