"""The meter against a real SQLite file: reserve → settle, refusals, holds, warnings."""

from __future__ import annotations

import asyncio

import pytest

from bot.billing.estimate import worst_case_tokens
from bot.billing.meter import CallHold, Meter
from bot.billing.pricing import PriceBook, worst_case_micros
from bot.billing.types import CallCost
from bot.errors import BudgetExceededError, UnpricedModelError
from bot.llm.types import RoundStarted, Usage, UsageReported
from bot.services.ports import CallMeter
from bot.storage.budgets import BudgetRepository
from bot.storage.database import Database
from bot.storage.reservations import ReservationRepository
from tests.billing.conftest import GUILD, MODEL, UNPRICED, USER, Clock, request, turn
from tests.billing.ledger_rows import LedgerReader


def usage_event(
    round_no: int = 1,
    prompt: int = 100,
    completion: int = 50,
    *,
    model: str = MODEL,
    estimated: bool = False,
    status: str = "completed",
) -> UsageReported:
    usage = Usage(prompt_tokens=prompt, completion_tokens=completion, estimated=estimated)
    return UsageReported(round_no, model, usage, status)  # type: ignore[arg-type]


async def test_meter_satisfies_the_call_meter_protocol(meter: Meter) -> None:
    as_protocol: CallMeter = meter
    hold = await as_protocol.before_call(turn(1), RoundStarted(1, request()))
    cost = await as_protocol.after_call(hold, usage_event())
    assert cost == CallCost(100 * 1 + 50 * 2, estimated=False)


async def test_meter_concurrent_calls_never_overspend_the_budget(
    meter: Meter, budgets: BudgetRepository, reservations: ReservationRepository, db: Database
) -> None:
    req = request(max_tokens=1000)
    prompt, output = worst_case_tokens(req)
    price = await meter._prices.price_for(MODEL)
    assert price is not None
    worst = worst_case_micros(prompt, output, price)
    amount = 5 * worst + worst // 2  # covers 5 worst cases, not 6
    await budgets.set(GUILD, None, "day", amount, updated_by=1)

    async def call(n: int) -> int:
        hold = await meter.before_call(turn(n, user_id=100 + n), RoundStarted(1, req))
        await asyncio.sleep(0)  # let the other calls in while this one is "streaming"
        # The real cost is the worst case: every prompt and output token used.
        cost = await meter.after_call(hold, usage_event(1, prompt, output))
        assert cost.cost_micros == worst
        return worst

    results = await asyncio.gather(*(call(n) for n in range(20)), return_exceptions=True)

    settled = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(settled) >= 5
    assert sum(settled) <= amount
    assert len(settled) + len(refused) == 20 and refused
    for error in refused:
        assert isinstance(error, BudgetExceededError)
        assert error.user_message.startswith("This server's daily budget")
        assert "resets at 2026-11-19 00:00 UTC (in 12 hours)" in error.user_message
    assert await reservations.all() == []
    [status] = await meter.budget_status(GUILD, None)
    assert status.spent_micros == sum(settled) and status.held_micros == 0


async def test_meter_concurrent_reservations_hold_exactly_what_fits(
    meter: Meter, budgets: BudgetRepository, reservations: ReservationRepository
) -> None:
    req = request(max_tokens=1000)
    prompt, output = worst_case_tokens(req)
    price = await meter._prices.price_for(MODEL)
    assert price is not None
    worst = worst_case_micros(prompt, output, price)
    await budgets.set(GUILD, USER, "week", 5 * worst, updated_by=1)

    results = await asyncio.gather(
        *(meter.before_call(turn(n), RoundStarted(1, req)) for n in range(20)),
        return_exceptions=True,
    )

    holds = [r for r in results if isinstance(r, CallHold)]
    assert len(holds) == 5
    assert all(isinstance(r, BudgetExceededError) for r in results if r not in holds)
    refused = next(r for r in results if isinstance(r, BudgetExceededError))
    assert refused.user_message.startswith("Your weekly budget in this server")
    assert "is used up" in refused.user_message
    assert "resets at 2026-11-23 00:00 UTC (in 4 days)" in refused.user_message
    assert len(await reservations.all()) == 5
    for hold in holds:
        await meter.after_call(hold, usage_event(1, 10, 10))
    assert await reservations.all() == []


async def test_meter_refusal_says_what_is_left(meter: Meter, budgets: BudgetRepository) -> None:
    await budgets.set(GUILD, None, "month", 1_500, updated_by=1)
    await meter.record_call(
        key="title:1",
        model=MODEL,
        usage=Usage(prompt_tokens=1000),
        guild_id=GUILD,
        channel_id=1,
        user_id=USER,
    )

    with pytest.raises(BudgetExceededError) as refused:
        await meter.before_call(turn(1), RoundStarted(1, request(max_tokens=1000)))

    assert refused.value.user_message == (
        "This server's monthly budget has $0.0005 of $0.0015 left, not enough for this request "
        "(it may cost up to $0.002012). It resets at 2026-12-01 00:00 UTC (in 12 days)."
    )


async def test_meter_settling_twice_writes_one_row(meter: Meter, ledger: LedgerReader) -> None:
    hold = await meter.before_call(turn(5), RoundStarted(1, request()))
    first = await meter.after_call(hold, usage_event(1, 100, 50))
    again = await meter.after_call(hold, usage_event(1, 999, 999))

    assert again == CallCost(first.cost_micros, estimated=False)
    assert await ledger.count() == 1
    entry = await ledger.by_key("answer:5:round:1")
    assert entry is not None and entry.prompt_tokens == 100


async def test_meter_replay_after_restart_writes_one_row(
    db: Database, prices: PriceBook, clock: Clock, ledger: LedgerReader
) -> None:
    for _ in range(2):  # a fresh meter per "run"; the loop numbers the rounds from 1 again
        meter = Meter(db, prices, clock=clock)
        await meter.release_orphaned(unowned=True)
        for round_no in (1, 2):
            hold = await meter.before_call(turn(9), RoundStarted(round_no, request()))
            await meter.after_call(hold, usage_event(round_no))

    assert await ledger.count() == 2
    assert await ledger.by_key("answer:9:round:2") is not None


async def test_meter_record_call_is_idempotent(meter: Meter, ledger: LedgerReader) -> None:
    for _ in range(2):
        cost = await meter.record_call(
            key="title:3",
            model=MODEL,
            usage=Usage(prompt_tokens=10, completion_tokens=5),
            guild_id=GUILD,
            channel_id=1,
            user_id=USER,
            conversation_id=3,
        )
        assert cost.cost_micros == 20
    entry = await ledger.by_key("title:3")
    assert entry is not None and entry.purpose == "title"
    assert await ledger.count() == 1


async def test_meter_unpriced_model_without_budget_is_recorded_without_cost(
    meter: Meter, ledger: LedgerReader
) -> None:
    hold = await meter.before_call(turn(1, model=UNPRICED), RoundStarted(1, request(UNPRICED)))
    cost = await meter.after_call(hold, usage_event(model=UNPRICED))

    assert cost == CallCost(None, estimated=False)
    entry = await ledger.by_key("answer:1:round:1")
    assert entry is not None
    assert (entry.prompt_tokens, entry.completion_tokens) == (100, 50)
    assert entry.cost_micros is None and entry.price_source is None and entry.input_price is None


async def test_meter_unpriced_model_with_budget_is_refused(
    meter: Meter, budgets: BudgetRepository, reservations: ReservationRepository
) -> None:
    await budgets.set(GUILD, USER, "day", 1_000_000, updated_by=1)

    with pytest.raises(UnpricedModelError) as refused:
        await meter.before_call(turn(1, model=UNPRICED), RoundStarted(1, request(UNPRICED)))

    assert isinstance(refused.value, BudgetExceededError)
    assert f"/price set model:{UNPRICED} input:" in refused.value.user_message
    assert await reservations.all() == []
    # Members without a budget in the same server may still use it.
    hold = await meter.before_call(
        turn(2, user_id=7, model=UNPRICED), RoundStarted(1, request(UNPRICED))
    )
    assert not hold.held


async def test_meter_dm_calls_are_recorded_without_budgets(
    meter: Meter, budgets: BudgetRepository, ledger: LedgerReader, db: Database
) -> None:
    await budgets.set(GUILD, None, "day", 1, updated_by=1)
    hold = await meter.before_call(turn(1, guild_id=None), RoundStarted(1, request()))
    cost = await meter.after_call(hold, usage_event(estimated=True, status="stopped"))

    assert cost == CallCost(200, estimated=True)
    entry = await ledger.by_key("answer:1:round:1")
    assert entry is not None and entry.guild_id is None
    assert (entry.status, entry.usage_source) == ("stopped", "estimated")
    async with db.reading() as conn:
        rows = await conn.execute_fetchall("SELECT guild_id, calls FROM usage_daily")
    assert [tuple(r) for r in rows] == [(0, 1)]


async def test_meter_release_frees_the_hold(
    meter: Meter,
    budgets: BudgetRepository,
    reservations: ReservationRepository,
    ledger: LedgerReader,
) -> None:
    await budgets.set(GUILD, None, "day", 1_000_000, updated_by=1)
    hold = await meter.before_call(turn(1), RoundStarted(1, request()))
    [held] = await reservations.all()
    assert held.call_key == "answer:1:round:1" and held.amount_micros == hold.amount_micros

    await meter.release(hold)
    await meter.release(hold)  # twice is harmless

    assert await reservations.all() == []
    assert await ledger.count() == 0
    [status] = await meter.budget_status(GUILD, USER)
    assert status.left_micros == 1_000_000


async def test_meter_release_orphaned_frees_holds_without_owner(
    meter: Meter, budgets: BudgetRepository, reservations: ReservationRepository
) -> None:
    await budgets.set(GUILD, None, "day", 1_000_000, updated_by=1)
    for n in range(3):
        await meter.before_call(turn(n), RoundStarted(1, request()))
    assert len(await reservations.all()) == 3

    assert await meter.release_orphaned(unowned=True) == 3

    assert await reservations.all() == []
    [status] = await meter.budget_status(GUILD, None)
    assert status.held_micros == 0 and status.left_micros == 1_000_000


async def test_meter_warns_once_when_a_budget_crosses_80_percent(
    meter: Meter, budgets: BudgetRepository
) -> None:
    await budgets.set(GUILD, None, "day", 1_000_000, updated_by=1)
    await budgets.set(GUILD, USER, "week", 2_000_000, updated_by=1)
    warnings = []
    for n in range(1, 5):  # 300,000 µ$ a call: 30 %, 60 %, 90 %, 120 % of the server's
        cost = await meter.record_call(
            key=f"title:{n}",
            model=MODEL,
            usage=Usage(prompt_tokens=300_000),
            guild_id=GUILD,
            channel_id=1,
            user_id=USER,
        )
        warnings.append(cost.warning)

    # The member's weekly budget reaches 60 % only: no warning for it.
    assert warnings == [None, None, "This server's daily budget is 90% used.", None]


async def test_meter_concurrent_settlements_warn_exactly_once(
    meter: Meter, budgets: BudgetRepository, ledger: LedgerReader
) -> None:
    # Settlements of one server take turns on its roll-up row (on PostgreSQL, from as many
    # connections as the pool has), so exactly one of them sees the line crossed.
    await budgets.set(GUILD, None, "day", 1_000_000, updated_by=1)

    async def call(n: int) -> str | None:
        cost = await meter.record_call(
            key=f"title:{n}",
            model=MODEL,
            usage=Usage(prompt_tokens=25_000),  # 2.5 % of the budget each
            guild_id=GUILD,
            channel_id=1,
            user_id=100 + n,
        )
        return cost.warning

    warnings = await asyncio.gather(*(call(n) for n in range(40)))

    assert [w for w in warnings if w] == ["This server's daily budget is 80% used."]
    [status] = await meter.budget_status(GUILD, None)
    assert status.spent_micros == 1_000_000 and await ledger.count() == 40


async def test_meter_member_warning_names_your_budget(
    meter: Meter, budgets: BudgetRepository
) -> None:
    await budgets.set(GUILD, USER, "month", 1_000_000, updated_by=1)
    warnings = []
    for n, prompt in enumerate((700_000, 150_000, 10_000)):
        hold = await meter.before_call(turn(n), RoundStarted(1, request(max_tokens=10)))
        cost = await meter.after_call(hold, usage_event(1, prompt, 0))
        warnings.append(cost.warning)

    assert warnings == [None, "Your monthly budget in this server is 85% used.", None]


async def test_meter_settlement_bills_the_model_that_answered(
    meter: Meter, ledger: LedgerReader
) -> None:
    # The call was reserved for one model and another answered (a fallback): the ledger row
    # names the model that answered, at its price.
    hold = await meter.before_call(turn(1, model=UNPRICED), RoundStarted(1, request(UNPRICED)))
    cost = await meter.after_call(hold, usage_event(1, 100, 50, model=MODEL))

    assert cost.cost_micros == 200
    entry = await ledger.by_key("answer:1:round:1")
    assert entry is not None and entry.model == MODEL and entry.price_source == "override"
