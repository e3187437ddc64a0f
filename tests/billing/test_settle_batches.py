"""Settlements made at once read as the same calls settled one after another, in the order
they came, on both engines: each sees the spending up to and including its own (so the 80 %
warning fires for exactly one call), a replayed key writes nothing and returns the first
entry. They travel as batches (one transaction; on PostgreSQL one statement,
switchboard_settle_many), a settlement the ledger refuses fails alone, and batches from
several connections, across servers and members, neither deadlock nor miscount a roll-up."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa

from bot.storage.budgets import BudgetRepository, PeriodDays
from bot.storage.database import Database
from bot.storage.reservations import ReservationRepository, SettleOutcome
from tests.billing.ledger_rows import LedgerReader
from tests.billing.test_ledger import ENTRY

DAYS: PeriodDays = {"day": (20_000, 20_001), "week": (19_998, 20_005), "month": (19_990, 20_020)}


def _entry(n: int, *, guild: int = 1, user: int = 42, cost: int = 100, day: int = 20_000):
    return replace(
        ENTRY,
        idempotency_key=f"call-{n}",
        guild_id=guild,
        user_id=user,
        cost_micros=cost,
        created_at=day * 86_400_000 + n,
    )


def _spent(outcome: SettleOutcome) -> list[tuple[int | None, int]]:
    return [(s.budget.user_id, s.spent_micros) for s in outcome.statuses]


async def test_settlements_made_at_once_each_see_the_spending_up_to_their_own(
    budgets: BudgetRepository, reservations: ReservationRepository, ledger: LedgerReader
) -> None:
    await budgets.set(1, None, "day", 10_000, updated_by=None)
    await budgets.set(1, 43, "week", 10_000, updated_by=None)
    await budgets.set(2, None, "month", 10_000, updated_by=None)
    first = await reservations.settle(_entry(0), held=False, days=DAYS)
    entries = [
        _entry(1),
        _entry(2, user=43),
        _entry(3, guild=2),
        _entry(0, cost=999),  # a replay of the first call: nothing written
        _entry(4, user=43, cost=50, day=19_999),  # yesterday: in 43's week, not today
        _entry(5, cost=None),  # unpriced
        _entry(6, user=43),
    ]
    entries[5] = replace(entries[5], price_source=None)
    outcomes = await asyncio.gather(
        *(reservations.settle(e, held=False, days=DAYS) for e in entries)
    )

    assert _spent(first) == [(None, 100)]
    assert [o.inserted for o in outcomes] == [True, True, True, False, True, True, True]
    assert outcomes[3].entry == first.entry  # the replay returns what the ledger holds
    assert [_spent(o) for o in outcomes] == [
        [(None, 200)],
        [(None, 300), (43, 100)],
        [(None, 100)],
        [],
        [(None, 300), (43, 150)],
        [(None, 300)],  # an unpriced call adds nothing
        [(None, 400), (43, 250)],
    ]
    assert await ledger.count() == 7


async def test_the_80_percent_warning_line_is_crossed_by_exactly_one_of_many(
    budgets: BudgetRepository, reservations: ReservationRepository
) -> None:
    await budgets.set(1, None, "day", 1_000, updated_by=None)
    outcomes = await asyncio.gather(
        *(reservations.settle(_entry(n), held=False, days=DAYS) for n in range(12))
    )
    spent = sorted(o.statuses[0].spent_micros for o in outcomes)
    assert spent == [100 * (n + 1) for n in range(12)]  # each call's own total, none shared
    assert sum(1 for s in spent if s - 100 < 800 <= s) == 1


async def test_settlements_from_two_pools_across_servers_and_members_add_up(
    database_target: Path | str,
) -> None:
    # On PostgreSQL: two processes' batches lock roll-up rows of several servers and
    # members at once; every insert takes them in one order, so none deadlocks.
    async with Database.open(database_target) as one, Database.open(database_target) as two:
        await BudgetRepository(one).set(1, None, "day", 10**9, updated_by=None)
        sides = [ReservationRepository(one), ReservationRepository(two)]
        calls = [
            sides[n % 2].settle(
                _entry(n, guild=1 + n % 3, user=40 + (n * 7) % 5, cost=n), held=False, days=DAYS
            )
            for n in range(120)
        ]
        outcomes = await asyncio.gather(*calls)
        assert all(o.inserted for o in outcomes)
        async with one.reading() as conn:
            daily = await conn.fetchone(
                "SELECT SUM(calls), SUM(cost_micros) FROM usage_daily WHERE guild_id = 1"
            )
            server = await conn.scalar(
                "SELECT SUM(cost_micros) FROM budget_spend WHERE guild_id = 1 AND user_id = 0"
            )
            members = await conn.scalar(
                "SELECT SUM(cost_micros) FROM budget_spend WHERE guild_id = 1 AND user_id <> 0"
            )
    expected = sum(n for n in range(120) if n % 3 == 0)
    assert daily is not None and (int(daily[0]), int(daily[1])) == (40, expected)
    assert int(server) == int(members) == expected


async def test_a_settlement_the_ledger_refuses_fails_alone(
    reservations: ReservationRepository, ledger: LedgerReader
) -> None:
    await reservations.settle(_entry(0), held=False)  # the next ones travel as one batch
    bad = replace(_entry(2), cached_tokens=ENTRY.prompt_tokens + 1)  # more cached than sent
    outcomes = await asyncio.gather(
        *(reservations.settle(e, held=False) for e in (_entry(1), bad, _entry(3))),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], sa.exc.IntegrityError)
    assert [o.inserted for o in (outcomes[0], outcomes[2])] == [True, True]  # type: ignore[union-attr]
    assert await ledger.count() == 3
