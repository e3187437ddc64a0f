"""Reservations made at once travel as batches (one transaction; on PostgreSQL one statement,
switchboard_reserve_many) and are decided as if made one after another, in the order they
came, on both engines; a caller that goes away while its batch is in flight leaves no hold
behind."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.storage.budgets import BudgetRepository, PeriodDays
from bot.storage.database import Database
from bot.storage.reservations import ReservationRepository, ReserveOutcome

DAYS: PeriodDays = {"day": (20_000, 20_001), "week": (19_998, 20_005), "month": (19_990, 20_020)}
AMOUNT = 100
# (key, guild, member): the server budget of guild 1 has room for three, member 43's own
# budget for one, guild 2's budget for one.
REQUESTS = [
    ("k0", 1, 42),
    ("k1", 1, 43),
    ("k2", 1, 43),  # member 43's budget is full
    ("k3", 2, None),
    ("k4", 1, 42),
    ("k5", 1, 42),  # the server's budget is full
    ("k6", 2, None),  # guild 2's is full
]


async def _budgets(budgets: BudgetRepository) -> None:
    await budgets.set(1, None, "day", 3 * AMOUNT, updated_by=None)
    await budgets.set(1, 43, "day", AMOUNT, updated_by=None)
    await budgets.set(2, None, "month", AMOUNT, updated_by=None)


def _reserve(
    reservations: ReservationRepository, key: str, guild: int, member: int | None
) -> Awaitable[ReserveOutcome]:
    return reservations.reserve(key, guild, member, AMOUNT, 0, DAYS)


def _summary(outcome: ReserveOutcome) -> tuple[bool, int | None, list[int]]:
    refused = outcome.refused_by.budget.user_id if outcome.refused_by else None
    return outcome.held, refused, [s.held_micros for s in outcome.statuses]


async def test_reservations_made_at_once_are_decided_in_the_order_they_came(
    budgets: BudgetRepository, reservations: ReservationRepository
) -> None:
    await _budgets(budgets)
    outcomes = await asyncio.gather(*(_reserve(reservations, *r) for r in REQUESTS))

    assert [_summary(o) for o in outcomes] == [
        (True, None, [0]),
        (True, None, [100, 0]),
        (False, 43, [200, 100]),
        (True, None, [0]),
        (True, None, [200]),
        (False, None, [300]),
        (False, None, [100]),
    ]
    assert sorted(r.call_key for r in await reservations.all()) == ["k0", "k1", "k3", "k4"]


async def test_one_batch_in_the_server_decides_each_call_after_the_ones_before_it(
    db: Database, budgets: BudgetRepository
) -> None:
    if not db.is_postgresql:
        pytest.skip("switchboard_reserve_many is PostgreSQL's")
    await _budgets(budgets)
    arrays = {
        "keys": [k for k, _, _ in REQUESTS],
        "guilds": [g for _, g, _ in REQUESTS],
        "users": [u for _, _, u in REQUESTS],
        "amounts": [AMOUNT] * len(REQUESTS),
        "created": [0] * len(REQUESTS),
    }
    for name, (first, end) in DAYS.items():
        arrays[f"{name}0"], arrays[f"{name}1"] = [first] * 7, [end] * 7
    async with db.transaction() as conn:
        rows = await conn.execute_fetchall(
            "SELECT o_item AS item, o_user_id AS user_id, o_held AS held FROM"
            " switchboard_reserve_many(CAST(:keys AS TEXT[]), CAST(:guilds AS BIGINT[]),"
            " CAST(:users AS BIGINT[]), CAST(:amounts AS BIGINT[]), CAST(:created AS BIGINT[]),"
            " CAST(:day0 AS BIGINT[]), CAST(:day1 AS BIGINT[]), CAST(:week0 AS BIGINT[]),"
            " CAST(:week1 AS BIGINT[]), CAST(:month0 AS BIGINT[]), CAST(:month1 AS BIGINT[]),"
            " 'owner-1')",
            arrays,
        )
        holds = await conn.execute_fetchall(
            "SELECT call_key, owner FROM reservations ORDER BY call_key"
        )
    assert [(r.item, r.user_id, r.held) for r in rows] == [
        (1, None, 0),
        (2, None, 100), (2, 43, 0),
        (3, None, 200), (3, 43, 100),
        (4, None, 0),
        (5, None, 200),
        (6, None, 300),
        (7, None, 100),
    ]  # fmt: skip
    assert [tuple(h) for h in holds] == [(k, "owner-1") for k in ("k0", "k1", "k3", "k4")]


async def test_a_caller_gone_while_its_batch_waits_in_the_server_leaves_no_hold(
    db: Database,
    database_target: Path | str,
    budgets: BudgetRepository,
    reservations: ReservationRepository,
) -> None:
    await _budgets(budgets)
    async with _another_process_reserving(db, database_target):
        gone = asyncio.create_task(_reserve(reservations, "gone", 1, 42))
        await asyncio.sleep(0.3)  # the batch is sent and waits for the lock
        gone.cancel()
        await asyncio.sleep(0.1)
        assert not gone.done()  # its cancellation waits for the batch it is in
    # The lock is free: the batch holds "gone", and takes it back before the caller is told.
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert await reservations.all() == []
    assert (await _reserve(reservations, "kept", 1, 42)).held


@asynccontextmanager
async def _another_process_reserving(db: Database, target: Path | str) -> AsyncIterator[None]:
    """Another process mid-reservation: on PostgreSQL the server's budget row is locked, on
    SQLite the file's write lock is taken."""
    if db.is_postgresql:
        async with Database.open(target) as other, other.transaction() as blocker:
            await blocker.execute("SELECT id FROM budgets WHERE guild_id = 1 FOR UPDATE")
            yield
        return
    writer = sqlite3.connect(target, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        yield
        writer.execute("COMMIT")
    finally:
        writer.close()
