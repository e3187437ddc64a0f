"""Reservations held against budgets, and settling a reservation into the usage ledger.

A reservation is the worst-case cost of one call in flight; it counts against every budget
that applies (`bot.storage.budgets`) until the call is settled. On PostgreSQL a reservation
locks the budget rows it checks, so reservations from any number of processes never
overspend. `reserve` and `settle` run before and after every LLM call, where a transaction
(a trip to the SQLite connection's thread, a turn on PostgreSQL's budget lock) costs more
than the SQL in it: the ones a process makes while its previous batch is in flight go
together as the next batch (`Coalescer`), one transaction for all, each call decided or
settled after the ones before it exactly as if they came one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bot.storage.budgets import (
    APPLICABLE_BUDGETS,
    PERIODS,
    BudgetStatus,
    PeriodDays,
    budget_params,
    budget_status_of,
)
from bot.storage.coalescer import Coalescer
from bot.storage.database import Database
from bot.storage.owners import STALE_AFTER_MS, orphan_params, orphaned
from bot.storage.settle_batches import SETTLE_MANY, SettleRequest, batch_json, settled_in_turn
from bot.storage.sql import Conn, Row, SyncConn
from bot.storage.timeutil import from_ms
from bot.storage.usage import (
    ENTRY_BY_KEY,
    LedgerEntry,
    append_entry,
    entry_from_row,
)


@dataclass(frozen=True, slots=True)
class Reservation:
    call_key: str
    guild_id: int
    user_id: int | None
    amount_micros: int
    created_at: datetime
    owner: str | None = None  # the process run whose call holds it


@dataclass(frozen=True, slots=True)
class ReserveOutcome:
    statuses: tuple[BudgetStatus, ...]  # the budgets that apply, before this call's hold
    held: bool  # the hold was written
    refused_by: BudgetStatus | None = None  # the first budget that can't cover the call


@dataclass(frozen=True, slots=True)
class SettleOutcome:
    entry: LedgerEntry  # what the ledger holds for the key (the first write on a replay)
    inserted: bool  # False: the key was already recorded and nothing was written
    statuses: tuple[BudgetStatus, ...]  # the budgets after the settlement, when asked for


# A second hold under the same key replaces the first: one call, one hold.
_HOLD = """
    INSERT INTO reservations (call_key, guild_id, user_id, amount_micros, created_at, owner)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (call_key) DO UPDATE SET
        guild_id = excluded.guild_id, user_id = excluded.user_id,
        amount_micros = excluded.amount_micros, created_at = excluded.created_at,
        owner = excluded.owner
"""
_RELEASE = "DELETE FROM reservations WHERE call_key = ?"
# PostgreSQL runs reservations from many connections and processes at once, and READ
# COMMITTED lets two of them read the same spending and both hold the last of a budget (a
# plain port overspends several times over under load). switchboard_reserve_many (migration
# 0009) locks the budget rows that apply, in id order, then decides each call of a batch in
# turn, reading and holding as below, all inside the server in one statement that is its own
# transaction. Reservations against one budget take turns, and a process sends the ones that
# arrive while its previous batch is in flight as the next batch (`Coalescer`): under load a
# turn serves a batch, not one call. SQLite needs no lock: BEGIN IMMEDIATE admits one writer
# at a time.
_RESERVE_PG = """
    SELECT o_item AS item, o_id AS id, o_guild_id AS guild_id, o_user_id AS user_id,
           o_period AS period, o_amount_micros AS amount_micros, o_updated_by AS updated_by,
           o_updated_at AS updated_at, o_spent AS spent, o_held AS held
    FROM switchboard_reserve_many(
        CAST(:keys AS TEXT[]), CAST(:guilds AS BIGINT[]), CAST(:users AS BIGINT[]),
        CAST(:amounts AS BIGINT[]), CAST(:created AS BIGINT[]),
        CAST(:day0 AS BIGINT[]), CAST(:day1 AS BIGINT[]), CAST(:week0 AS BIGINT[]),
        CAST(:week1 AS BIGINT[]), CAST(:month0 AS BIGINT[]), CAST(:month1 AS BIGINT[]),
        CAST(:owner AS TEXT))
"""


@dataclass(frozen=True, slots=True)
class _ReserveRequest:
    call_key: str
    guild_id: int
    user_id: int | None
    amount_micros: int | None
    created_at_ms: int
    days: PeriodDays


def _batch_params(batch: Sequence[_ReserveRequest], owner: str | None) -> dict[str, object]:
    call: dict[str, object] = {
        "keys": [r.call_key for r in batch],
        "guilds": [r.guild_id for r in batch],
        "users": [r.user_id for r in batch],
        "amounts": [r.amount_micros for r in batch],
        "created": [r.created_at_ms for r in batch],
        "owner": owner,
    }
    for name in PERIODS:
        call[f"{name}0"] = [r.days[name][0] for r in batch]
        call[f"{name}1"] = [r.days[name][1] for r in batch]
    return call


def _replayed(conn: SyncConn, key: str) -> SettleOutcome:
    first = conn.execute(ENTRY_BY_KEY, (key,)).fetchone()
    assert first is not None
    return SettleOutcome(entry_from_row(first), inserted=False, statuses=())


def _settle_one(conn: SyncConn, request: SettleRequest) -> SettleOutcome:
    entry, key = request.entry, request.entry.idempotency_key
    if request.held:
        conn.execute(_RELEASE, (key,))
    if not append_entry(conn, entry):
        return _replayed(conn, key)
    statuses: tuple[BudgetStatus, ...] = ()
    if request.days is not None and entry.guild_id is not None:
        params = budget_params(entry.guild_id, entry.user_id, request.days)
        rows = conn.execute(APPLICABLE_BUDGETS, params).fetchall()
        statuses = tuple(budget_status_of(r) for r in rows)
    return SettleOutcome(entry, inserted=True, statuses=statuses)


def _decide(statuses: tuple[BudgetStatus, ...], amount_micros: int | None) -> ReserveOutcome:
    """Hold when some budget applies, the call is priced and every budget can take it."""
    if not statuses or amount_micros is None:
        return ReserveOutcome(statuses, held=False)
    for status in statuses:
        total = status.spent_micros + status.held_micros + amount_micros
        if total > status.budget.amount_micros:
            return ReserveOutcome(statuses, held=False, refused_by=status)
    return ReserveOutcome(statuses, held=True)


def _refused_data(error: Exception) -> bool:
    """The database refused a request's data (a constraint, a value out of range): the
    others in its batch may be fine. A lost server, a lock held too long or a bug would fail
    each of them alike."""
    return isinstance(error, sa.exc.IntegrityError | sa.exc.DataError)


class ReservationRepository:
    def __init__(self, db: Database, *, owner: str | None = None) -> None:
        """`owner`: this process run's id (`bot.storage.owners`), written on its holds."""
        self._db = db
        self._owner = owner
        self._reservations = Coalescer(
            self._reserve_batch, abandoned=self._undo_abandoned, alone_after=_refused_data
        )
        # A settlement is never undone: the call happened, its caller or not.
        self._settlements = Coalescer(self._settle_batch, alone_after=_refused_data)

    async def reserve(
        self,
        call_key: str,
        guild_id: int,
        user_id: int | None,
        amount_micros: int | None,
        created_at_ms: int,
        days: PeriodDays,
    ) -> ReserveOutcome:
        """In one transaction: read the budgets that apply to (guild, user) and, when there
        are some and every one can take `amount_micros` on top of its spending and open holds,
        hold it. Nothing is held when no budget applies or `amount_micros` is None (unpriced);
        the caller decides what that means."""
        request = _ReserveRequest(call_key, guild_id, user_id, amount_micros, created_at_ms, days)
        return await self._reservations.submit(request)

    async def _reserve_batch(self, batch: Sequence[_ReserveRequest]) -> list[ReserveOutcome]:
        """A batch of reservations in one transaction, each decided after the ones before
        it: on PostgreSQL one statement (see _RESERVE_PG), on SQLite the same rule here."""
        if not self._db.is_postgresql:
            return await self._db.run_in_transaction(
                lambda conn: [self._reserve_one(conn, request) for request in batch]
            )
        call = _batch_params(batch, self._owner)

        def work(conn: SyncConn) -> list[Row]:
            return conn.execute(_RESERVE_PG, call).fetchall()

        rows = await self._db.run_in_transaction(work, single_statement=True)
        statuses: list[list[BudgetStatus]] = [[] for _ in batch]
        for row in rows:
            statuses[row.item - 1].append(budget_status_of(row))
        # The function held exactly when _decide says so (the same rule).
        return [
            _decide(tuple(found), request.amount_micros)
            for found, request in zip(statuses, batch, strict=True)
        ]

    def _reserve_one(self, conn: SyncConn, request: _ReserveRequest) -> ReserveOutcome:
        params = budget_params(request.guild_id, request.user_id, request.days)
        rows = conn.execute(APPLICABLE_BUDGETS, params).fetchall()
        outcome = _decide(tuple(budget_status_of(r) for r in rows), request.amount_micros)
        if outcome.held:
            conn.execute(
                _HOLD,
                (request.call_key, request.guild_id, request.user_id, request.amount_micros,
                 request.created_at_ms, self._owner),
            )  # fmt: skip
        return outcome

    async def _undo_abandoned(self, request: _ReserveRequest, outcome: ReserveOutcome) -> None:
        """A caller cancelled while its batch was in flight never learns of its hold."""
        if outcome.held:
            await self.release(request.call_key)

    async def settle(
        self, entry: LedgerEntry, *, held: bool, days: PeriodDays | None = None
    ) -> SettleOutcome:
        """In one transaction: drop the hold of `entry`'s call (if `held`) and append `entry`
        to the ledger unless its key is already there. With `days`, also return the budgets
        of the entry's guild and user as they stand afterwards."""
        return await self._settlements.submit(SettleRequest(entry, held, days))

    async def _settle_batch(self, batch: Sequence[SettleRequest]) -> list[SettleOutcome]:
        """PostgreSQL: a batch of settlements in one statement, switchboard_settle_many
        (`bot.storage.settle_batches`). Settling from the client took four round trips with
        the server's roll-up row locked from the append to the commit, so every settlement in
        a server queued behind the slowest client; inside the server the lock is held for the
        rest of one statement, once for the whole batch. SQLite: one transaction, each
        settlement done (and its budgets read) after the ones before it."""
        if not self._db.is_postgresql:
            return await self._db.run_in_transaction(
                lambda conn: [_settle_one(conn, request) for request in batch]
            )
        call = {"batch": batch_json(batch)}

        def work(conn: SyncConn) -> list[SettleOutcome]:
            rows = conn.execute(SETTLE_MANY, call).fetchall()
            outcomes = []
            for request, settled in zip(batch, settled_in_turn(batch, rows), strict=True):
                if settled.inserted:
                    outcomes.append(SettleOutcome(request.entry, True, settled.statuses))
                else:
                    # A replay (rare): the first entry is read in a trip of its own. Ledger
                    # rows never change, so reading it after the settlement is the same.
                    outcomes.append(_replayed(conn, request.entry.idempotency_key))
            return outcomes

        return await self._db.run_in_transaction(work, single_statement=True)

    async def hold(
        self,
        call_key: str,
        guild_id: int,
        user_id: int | None,
        amount_micros: int,
        created_at_ms: int,
        *,
        conn: Conn | None = None,
    ) -> None:
        """Hold without checking any budget (`reserve` checks)."""
        params = (call_key, guild_id, user_id, amount_micros, created_at_ms, self._owner)
        async with self._db.maybe_transaction(conn) as c:
            await c.execute(_HOLD, params)

    async def release(self, call_key: str, *, conn: Conn | None = None) -> bool:
        """Drop the hold of one call; False if it had none (already settled or released)."""
        async with self._db.maybe_transaction(conn) as c:
            cursor = await c.execute(_RELEASE, (call_key,))
            return cursor.rowcount > 0

    async def release_orphaned(
        self, *, unowned: bool, stale_ms: int = STALE_AFTER_MS, conn: Conn | None = None
    ) -> int:
        """Drop the holds of dead owners (`bot.storage.owners`; with `unowned`, also holds
        with no owner, written before owners existed): their calls can't be in flight any
        more. A live sibling's holds stay. Returns how many were dropped."""
        params = orphan_params(unowned=unowned, stale_ms=stale_ms)
        async with self._db.maybe_transaction(conn) as c:
            sql = f"DELETE FROM reservations WHERE {orphaned('reservations.owner', c.dialect)}"
            cursor = await c.execute(sql, params)
            return cursor.rowcount

    _ALL = (
        "SELECT call_key, guild_id, user_id, amount_micros, created_at, owner FROM reservations"
        " ORDER BY id"
    )

    async def all(self, *, conn: Conn | None = None) -> list[Reservation]:
        async with self._db.reading(conn) as c:
            rows = await c.execute_fetchall(self._ALL)
        return [
            Reservation(
                r.call_key,
                r.guild_id,
                r.user_id,
                r.amount_micros,
                from_ms(r.created_at),
                r.owner,
            )
            for r in rows
        ]
