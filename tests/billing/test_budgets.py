"""Budget and reservation repositories."""

from __future__ import annotations

from dataclasses import replace

from bot.storage.budgets import BudgetRepository, PeriodDays
from bot.storage.database import Database
from bot.storage.reservations import ReservationRepository
from tests.billing.ledger_rows import LedgerReader, append_row
from tests.billing.test_ledger import DAY_MS, ENTRY

DAYS: PeriodDays = {"day": (20_000, 20_001), "week": (19_998, 20_005), "month": (19_990, 20_020)}


async def test_budgets_set_replaces_and_clear_removes(budgets: BudgetRepository) -> None:
    server = await budgets.set(1, None, "day", 5_000_000, updated_by=9)
    member = await budgets.set(1, 42, "week", 1_000_000, updated_by=9)
    replaced = await budgets.set(1, None, "month", 7_000_000, updated_by=8)

    assert replaced.id == server.id and replaced.period == "month"
    assert replaced.amount_micros == 7_000_000 and replaced.updated_by == 8
    assert await budgets.get(1, None) == replaced
    assert await budgets.get(1, 42) == member
    assert await budgets.get(2, None) is None
    assert await budgets.clear(1, 42)
    assert not await budgets.clear(1, 42)
    assert await budgets.get(1, 42) is None


async def test_budgets_applicable_counts_spending_and_holds_per_scope(
    budgets: BudgetRepository, reservations: ReservationRepository, db: Database
) -> None:
    await budgets.set(1, None, "day", 5_000, updated_by=None)
    await budgets.set(1, 42, "week", 1_000, updated_by=None)
    await budgets.set(1, 43, "day", 1_000, updated_by=None)
    await budgets.set(2, None, "day", 1_000, updated_by=None)
    await append_row(db, ENTRY)  # day 20000, user 42, 140 µ$
    await append_row(db, replace(ENTRY, idempotency_key="x", user_id=43))
    # Two days earlier: inside the week, outside the day.
    await append_row(
        db, replace(ENTRY, idempotency_key="y", created_at=ENTRY.created_at - 2 * DAY_MS)
    )
    await reservations.hold("k1", 1, 42, 10, 0)
    await reservations.hold("k2", 1, 43, 20, 0)
    await reservations.hold("k3", 2, None, 40, 0)

    server, member = await budgets.applicable(1, 42, DAYS)

    assert server.budget.user_id is None
    assert (server.spent_micros, server.held_micros, server.left_micros) == (280, 30, 4_690)
    assert member.budget.user_id == 42
    assert (member.spent_micros, member.held_micros, member.left_micros) == (280, 10, 710)
    assert [s.budget.user_id for s in await budgets.applicable(1, None, DAYS)] == [None]
    assert [s.budget.user_id for s in await budgets.in_guild(1, DAYS)] == [None, 42, 43]
    assert await budgets.applicable(3, 42, DAYS) == []


async def test_reservations_hold_once_per_key_and_release(
    reservations: ReservationRepository,
) -> None:
    await reservations.hold("k", 1, 42, 10, 0)
    await reservations.hold("k", 1, 42, 25, 0)

    [held] = await reservations.all()
    assert held.amount_micros == 25
    assert await reservations.release("k")
    assert not await reservations.release("k")
    await reservations.hold("a", 1, None, 1, 0)
    await reservations.hold("b", 2, None, 1, 0)
    assert await reservations.release_orphaned(unowned=True) == 2
    assert await reservations.all() == []


async def test_settle_writes_the_whole_entry_and_reads_the_budgets_after_it(
    budgets: BudgetRepository, reservations: ReservationRepository, ledger: LedgerReader
) -> None:
    # Every column set to something other than its default (PostgreSQL's switchboard_settle
    # names each one), the hold dropped, and the budgets read with this entry's cost in.
    await budgets.set(1, None, "day", 5_000, updated_by=None)
    await budgets.set(1, 42, "week", 1_000, updated_by=None)
    await reservations.hold(ENTRY.idempotency_key, 1, 42, 900, 0)
    await reservations.hold("other", 1, 43, 50, 0)
    entry = replace(ENTRY, provider="anthropic", cache_write_tokens=20, cache_write_price=3)

    settled = await reservations.settle(entry, held=True, days=DAYS)

    assert settled.inserted and settled.entry == entry
    assert await ledger.by_key(entry.idempotency_key) == entry
    server, member = settled.statuses
    assert (server.budget.user_id, server.spent_micros, server.held_micros) == (None, 140, 50)
    assert (member.budget.user_id, member.spent_micros, member.held_micros) == (42, 140, 0)
    assert [r.call_key for r in await reservations.all()] == ["other"]

    # A replay writes nothing and answers with the first entry; without `days`, no budgets.
    again = await reservations.settle(replace(entry, prompt_tokens=999), held=True)
    assert not again.inserted and again.entry == entry and again.statuses == ()
    plain = await reservations.settle(
        replace(entry, idempotency_key="dm", guild_id=None), held=False
    )
    assert plain.inserted and plain.statuses == ()
    assert await ledger.count() == 2
