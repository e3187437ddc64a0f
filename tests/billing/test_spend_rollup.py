"""Migration 0003: the per-day spend rollup that budget checks read."""

from __future__ import annotations

import asyncio
from dataclasses import fields, replace
from pathlib import Path

from bot.billing.meter import Meter
from bot.llm.types import RoundStarted
from bot.storage.budgets import BudgetRepository
from bot.storage.database import Database, load_migrations
from bot.storage.reservations import ReservationRepository
from bot.storage.usage import LedgerEntry
from tests.billing.conftest import GUILD, USER, request, turn
from tests.billing.ledger_rows import append_row
from tests.billing.test_ledger import DAY_MS, ENTRY

# LedgerEntry's first fields are the columns of the ledger before migration 0004.
_V2_COLUMNS = 20


async def _spend_rows(db: Database) -> list[tuple[int, int, int, int]]:
    async with db.reading() as conn:
        rows = await conn.execute_fetchall(
            "SELECT guild_id, user_id, day, cost_micros FROM budget_spend ORDER BY 1, 2, 3"
        )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


ROWS = [
    ENTRY,  # guild 1, user 42, day 20000, 140
    replace(ENTRY, idempotency_key="b", user_id=43, cost_micros=60),
    replace(ENTRY, idempotency_key="c", created_at=ENTRY.created_at + DAY_MS),
    replace(ENTRY, idempotency_key="d", user_id=None, cost_micros=5),  # no user: server only
    replace(ENTRY, idempotency_key="e", guild_id=None),  # a DM: no budgets
    replace(
        ENTRY, idempotency_key="f", cost_micros=None, price_source=None, input_price=None,
        cached_price=None, output_price=None,
    ),  # unpriced: nothing to count
]  # fmt: skip
# (guild, user (0: the whole server), day, cost)
EXPECTED = [
    (1, 0, 20_000, 205),
    (1, 0, 20_001, 140),
    (1, 42, 20_000, 140),
    (1, 42, 20_001, 140),
    (1, 43, 20_000, 60),
]


async def test_spend_rollup_follows_every_ledger_insert(db: Database) -> None:
    for entry in ROWS:
        await append_row(db, entry)

    assert await _spend_rows(db) == EXPECTED


async def test_spend_rollup_migration_backfills_an_existing_ledger(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    plan = load_migrations()
    async with Database.open(path, migrations=plan[:2]) as old, old.transaction() as conn:
        # The ledger as version 2 had it: without the columns later migrations added.
        columns = [f.name for f in fields(LedgerEntry)][:_V2_COLUMNS]
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO usage_ledger ({', '.join(columns)}) VALUES ({marks})"
        for entry in ROWS:
            await conn.execute(sql, [getattr(entry, c) for c in columns])

    async with Database.open(path) as db:
        assert await _spend_rows(db) == EXPECTED
        # …and the trigger keeps it from there on.
        await append_row(db, replace(ENTRY, idempotency_key="g", cost_micros=1))
        assert (1, 42, 20_000, 141) in await _spend_rows(db)


async def test_meter_cancelled_reservation_leaves_no_hold(
    meter: Meter, budgets: BudgetRepository, reservations: ReservationRepository
) -> None:
    await budgets.set(GUILD, USER, "day", 1_000_000, updated_by=1)
    for spins in range(6):  # cancel at different points of the trip to the database thread
        task = asyncio.create_task(meter.before_call(turn(100 + spins), RoundStarted(1, request())))
        for _ in range(spins):
            await asyncio.sleep(0)
        task.cancel()
        try:
            hold = await task
        except asyncio.CancelledError:
            continue
        await meter.release(hold)  # it finished before the cancel: the caller releases it

    assert await reservations.all() == []
