"""A process paused past the heartbeat's stale threshold is taken for dead by a sibling, which
frees its budget holds; its calls go on when it wakes, so its next beat writes their holds
again (the budget keeps counting them until they are settled), and a call settled meanwhile
does not come back as a hold nobody will drop."""

from __future__ import annotations

import asyncio

from bot.billing.meter import CallHold, Meter
from bot.billing.pricing import PriceBook
from bot.llm.types import RoundStarted, Usage, UsageReported
from bot.storage.budgets import BudgetRepository
from bot.storage.database import Database
from bot.storage.owners import Heartbeats, ProcessOwner
from bot.storage.reservations import ReservationRepository
from tests.billing.conftest import GUILD, MODEL, USER, Clock, request, turn


async def _held(db: Database) -> dict[str, tuple[int, str | None]]:
    return {r.call_key: (r.amount_micros, r.owner) for r in await ReservationRepository(db).all()}


async def test_a_run_taken_for_dead_holds_its_calls_in_flight_again(
    db: Database, prices: PriceBook, clock: Clock, budgets: BudgetRepository
) -> None:
    await budgets.set(GUILD, None, "day", 10_000_000, updated_by=1)
    owner = ProcessOwner.new(None)
    beats = Heartbeats(db, owner)
    await beats.register()
    meter = Meter(db, prices, clock=clock, owner=owner.id)
    beats.on_revived(meter.hold_again)
    calls: list[CallHold] = [
        await meter.before_call(turn(n, user_id=USER), RoundStarted(1, request()))
        for n in (1, 2, 3)
    ]
    before = await _held(db)
    assert len(before) == 3 and {o for _, o in before.values()} == {owner.id}

    # A sibling's sweep while this process was paused: its row and its holds are gone.
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM process_heartbeats WHERE owner = ?", (owner.id,))
    assert await ReservationRepository(db).release_orphaned(unowned=False) == 3
    # One call ends before the process notices; one is settled while it writes them again.
    await meter.release(calls[0])
    done = UsageReported(1, MODEL, Usage(prompt_tokens=10, completion_tokens=5), "completed")
    await asyncio.gather(beats.beat_and_revive(), meter.after_call(calls[1], done))

    assert await _held(db) == {calls[2].key: before[calls[2].key]}
    await meter.after_call(calls[2], done)
    assert await _held(db) == {}
    assert await beats.beat()  # registered again by the beat that noticed


async def test_a_call_settled_while_its_hold_is_written_again_leaves_no_hold(
    db: Database, prices: PriceBook, clock: Clock, budgets: BudgetRepository
) -> None:
    await budgets.set(GUILD, None, "day", 10_000_000, updated_by=1)
    meter = Meter(db, prices, clock=clock, owner="paused-run")
    call = await meter.before_call(turn(7, user_id=USER), RoundStarted(1, request()))
    await ReservationRepository(db).release_orphaned(unowned=False)  # taken for dead
    assert await _held(db) == {}

    # The worst interleaving, made certain: the call is settled (its hold dropped) just
    # before its hold is written again.
    reservations = meter._reservations
    write_hold = reservations.hold
    done = UsageReported(1, MODEL, Usage(prompt_tokens=10, completion_tokens=5), "completed")

    async def settled_first(*args: object, **kwargs: object) -> None:
        await meter.after_call(call, done)
        await write_hold(*args, **kwargs)  # type: ignore[arg-type]

    reservations.hold = settled_first  # type: ignore[method-assign]
    assert await meter.hold_again() == 1
    assert await _held(db) == {}
