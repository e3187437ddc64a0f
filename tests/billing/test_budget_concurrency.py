"""Budgets across processes, on the throwaway PostgreSQL: reservations from several processes
at once never hold more than a budget allows, and without the row lock they would.

PostgreSQL alone: SQLite has one writer at a time by construction (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import asyncio
import os
import sys
from asyncio.subprocess import PIPE
from datetime import UTC, datetime
from pathlib import Path

from bot.billing.meter import period_days
from bot.storage import reservations as reservations_module
from bot.storage.budgets import APPLICABLE_BUDGETS, BudgetRepository, budget_params
from bot.storage.database import Database

ROOT = Path(__file__).resolve().parents[2]
GUILD = 1
AMOUNT = 1_000
CAPACITY = 30  # reservations the budget can take
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


async def held_total(db: Database) -> tuple[int, int]:
    async with db.reading() as conn:
        row = await conn.fetchone(
            "SELECT COUNT(*), COALESCE(SUM(amount_micros), 0) FROM reservations"
        )
    assert row is not None
    return int(row[0]), int(row[1])


async def test_reservations_from_four_processes_never_overspend(postgres_url: str) -> None:
    async with Database.open(postgres_url) as db:
        await BudgetRepository(db).set(GUILD, None, "day", CAPACITY * AMOUNT, updated_by=1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tests.billing.reserve_worker", postgres_url]
    workers = [
        await asyncio.create_subprocess_exec(
            *command, str(process), "25", str(AMOUNT), cwd=ROOT, env=env, stdin=PIPE, stdout=PIPE
        )
        for process in range(4)
    ]
    for worker in workers:  # every process connected before the race starts
        assert worker.stdout is not None
        assert await asyncio.wait_for(worker.stdout.readline(), 120) == b"ready\n"
    outputs = [await asyncio.wait_for(w.communicate(b"go\n"), 120) for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0, 0]
    held_by_processes = sum(int(out.decode()) for out, _ in outputs)

    async with Database.open(postgres_url) as db:
        count, total = await held_total(db)
    # 100 calls against room for 30: exactly 30 held, never a micro-dollar more.
    assert held_by_processes == count == CAPACITY
    assert total == CAPACITY * AMOUNT


# What switchboard_reserve (PostgreSQL migration 0006) does first.
_LOCK_BUDGETS = """
    SELECT id FROM budgets
    WHERE guild_id = :guild AND COALESCE(user_id, 0) IN (0, :user)
    ORDER BY id FOR UPDATE
"""


async def _reserve_slowly(
    db: Database, call_key: str, user_id: int, *, lock: bool, together: asyncio.Barrier | None
) -> bool:
    """The reserve as separate statements, with a pause between the check and the hold (a
    busy server): `lock` False is the plain port to READ COMMITTED. `together`: every task
    has read before any writes (the worst interleaving, made certain)."""
    params = budget_params(GUILD, user_id, period_days(NOW))
    async with db.transaction() as conn:
        if lock:
            await conn.execute(_LOCK_BUDGETS, {"guild": GUILD, "user": user_id})
        rows = await conn.execute_fetchall(APPLICABLE_BUDGETS, params)
        if together is not None:
            await together.wait()
        await asyncio.sleep(0.05)
        for row in rows:
            if int(row.spent) + int(row.held) + AMOUNT > int(row.amount_micros):
                return False
        await conn.execute(reservations_module._HOLD, (call_key, GUILD, user_id, AMOUNT, 0, None))
    return True


async def test_without_the_row_lock_read_committed_overspends(postgres_url: str) -> None:
    async with Database.open(postgres_url) as db:
        await BudgetRepository(db).set(GUILD, None, "day", 5 * AMOUNT, updated_by=1)

        everyone = asyncio.Barrier(20)
        naive = await asyncio.gather(
            *(
                _reserve_slowly(db, f"naive-{n}", 100 + n, lock=False, together=everyone)
                for n in range(20)
            )
        )
        _, overspent = await held_total(db)
        await reservations_module.ReservationRepository(db).release_orphaned(unowned=True)

        locked = await asyncio.gather(
            *(
                _reserve_slowly(db, f"locked-{n}", 100 + n, lock=True, together=None)
                for n in range(20)
            )
        )
        _, kept = await held_total(db)

    # Every naive reservation read the same empty budget and held: 4x the budget.
    assert sum(naive) == 20 and overspent == 20 * AMOUNT
    assert sum(locked) == 5 and kept == 5 * AMOUNT
