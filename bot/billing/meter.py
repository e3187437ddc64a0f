"""The meter around every LLM call: reserve the worst case → settle to the real cost.

`before_call` holds the most a call can cost against every budget that applies (the server's
and the member's) in one `BEGIN IMMEDIATE` transaction, refusing with `BudgetExceededError`
when any of them can't cover it. `after_call` deletes the hold and appends the ledger row in
one transaction; the row's idempotency key ("answer:<id>:round:<n>") makes a replayed
settle a no-op that returns the first result. `release` frees the hold of a call that never
reported usage; `release_orphaned` frees the holds of dead owners (processes whose heartbeat
is stale, `bot.storage.owners`), never a live sibling's.

Direct messages have no budgets: their calls are recorded without holding anything.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Protocol

from bot.billing.estimate import worst_case_tokens
from bot.billing.periods import (
    ADJECTIVES,
    EPOCH,
    PERIODS,
    PeriodName,
    day_number,
    describe_reset,
    period_of,
)
from bot.billing.pricing import (
    Price,
    PriceBook,
    cost_micros,
    how_to_set_price,
    worst_case_micros,
)
from bot.billing.types import CallCost
from bot.errors import BudgetExceededError, UnpricedModelError
from bot.llm.tokens import DEFAULT_MAX_OUTPUT_TOKENS
from bot.llm.types import RoundStarted, Usage, UsageReported
from bot.money import usd_precise
from bot.storage.budgets import BudgetRepository, BudgetStatus, PeriodDays
from bot.storage.database import Database
from bot.storage.models import Conversation, StoredMessage
from bot.storage.reservations import ReservationRepository
from bot.storage.timeutil import to_ms
from bot.storage.usage import CallStatus, LedgerEntry, Purpose

log = logging.getLogger(__name__)

WARN_AT_PERCENT = 80


class MeteredTurn(Protocol):
    """What the meter reads of the chat service's `TurnContext` (billing can't import it)."""

    @property
    def conversation(self) -> Conversation: ...
    @property
    def user_message(self) -> StoredMessage: ...
    @property
    def answer_id(self) -> int: ...
    @property
    def model(self) -> str: ...


@dataclass(slots=True)
class CallHold:
    """One metered call, from `before_call` until it is settled or released."""

    key: str
    model: str  # the model reference (canonical)
    provider: str
    guild_id: int | None
    channel_id: int | None
    user_id: int | None
    conversation_id: int | None
    answer_id: int | None
    purpose: Purpose
    price: Price | None
    amount_micros: int  # what is held in `reservations` (0 when nothing is)
    held: bool  # a reservation row exists for `key`
    budgeted: bool  # a budget applied when the call was reserved: check the 80 % warning
    finished: bool = False


class Meter:
    """Implements the chat service's `CallMeter`, plus `record_call` for other calls."""

    def __init__(
        self,
        db: Database,
        prices: PriceBook,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        default_max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS,
        owner: str | None = None,
    ) -> None:
        """`owner`: this process run's id, written on every hold it makes."""
        self._db = db
        self._prices = prices
        self._clock = clock
        self._default_max_output = default_max_output_tokens
        self._budgets = BudgetRepository(db)
        self._reservations = ReservationRepository(db, owner=owner)
        # The calls in flight with a hold, by key: what `hold_again` restores.
        self._open: dict[str, CallHold] = {}

    # --- the CallMeter protocol ------------------------------------------------------------

    async def before_call(self, turn: MeteredTurn, started: RoundStarted) -> CallHold:
        """Hold the worst case of this call against every applicable budget, or refuse.

        The round's number comes from the loop's event: the ledger key of a call is
        "answer:<id>:round:<n>", the round the loop and the answer's steps know it by."""
        conversation = turn.conversation
        request = started.request
        model = self._prices.canonical(request.model or turn.model)
        hold = CallHold(
            key=f"answer:{turn.answer_id}:round:{started.round}",
            model=model,
            provider=self._prices.provider_of(model),
            guild_id=conversation.guild_id,
            channel_id=conversation.channel_id,
            user_id=turn.user_message.author_id,
            conversation_id=conversation.id,
            answer_id=turn.answer_id,
            purpose="answer",
            price=await self._prices.price_for(model),
            amount_micros=0,
            held=False,
            budgeted=False,
        )
        if hold.guild_id is None:
            return hold
        prompt, output = worst_case_tokens(request, self._default_max_output)
        worst = None if hold.price is None else worst_case_micros(prompt, output, hold.price)
        now = self._clock()
        # Cancelled while waiting, nothing is left held: a reservation still queued is never
        # made, and one already in flight is released before the cancellation reaches us.
        outcome = await self._reservations.reserve(
            hold.key, hold.guild_id, hold.user_id, worst, to_ms(now), period_days(now)
        )
        if not outcome.statuses:
            return hold
        if worst is None:
            raise UnpricedModelError(how_to_set_price(model), detail=f"unpriced {model}")
        if outcome.refused_by is not None:
            raise BudgetExceededError(
                refusal_message(outcome.refused_by, worst, now),
                detail=f"budget {outcome.refused_by.budget.id}: worst case {worst} µ$ refused",
            )
        hold.amount_micros, hold.held, hold.budgeted = worst, True, True
        self._open[hold.key] = hold
        return hold

    async def after_call(self, reservation: object, event: UsageReported) -> CallCost:
        """Settle the call to what it used: drop its hold and append its ledger row."""
        hold = _hold(reservation)
        # Before its hold is dropped, so `hold_again` can't bring it back afterwards.
        self._open.pop(hold.key, None)
        if hold.finished:
            log.warning("call %s settled after it was finished", hold.key)
        price = hold.price
        answered_by = self._prices.canonical(event.model) if event.model else hold.model
        if answered_by != hold.model:
            # A fallback model answered: the call is billed to it, at its provider's price.
            hold.model, hold.provider = answered_by, self._prices.provider_of(answered_by)
            price = await self._prices.price_for(answered_by)
        # Shielded: the call happened and must be recorded (and its hold dropped) even if the
        # answer is cancelled while waiting for the database.
        return await asyncio.shield(self._settle(hold, event.usage, event.status, price))

    async def release(self, reservation: object) -> None:
        """Drop the hold of a call that never reported usage (nothing is recorded)."""
        hold = _hold(reservation)
        if hold.finished:
            return
        self._open.pop(hold.key, None)
        if hold.held:
            await self._reservations.release(hold.key)
        # Only once released: a release that failed (the database gone) is tried again.
        hold.finished = True

    # --- everything else -------------------------------------------------------------------

    async def record_call(
        self,
        *,
        key: str,
        model: str,
        usage: Usage,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int | None,
        conversation_id: int | None = None,
        answer_id: int | None = None,
        purpose: Purpose = "title",
        status: CallStatus = "completed",
    ) -> CallCost:
        """Record a call made outside the tool loop (title generation, …) with no hold.

        `key` must be unique per call and stable across a replay, e.g. f"title:{conv_id}".
        """
        model = self._prices.canonical(model)
        hold = CallHold(
            key=key,
            model=model,
            provider=self._prices.provider_of(model),
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            conversation_id=conversation_id,
            answer_id=answer_id,
            purpose=purpose,
            price=await self._prices.price_for(model),
            amount_micros=0,
            held=False,
            budgeted=guild_id is not None,
        )
        return await self._settle(hold, usage, status, hold.price)

    async def release_orphaned(self, *, unowned: bool = False) -> int:
        """Free the holds of dead owners, whose calls can't be in flight any more; at
        start-up (`unowned`) also holds from before owners existed."""
        released = await self._reservations.release_orphaned(unowned=unowned)
        if released:
            log.info("released %d budget reservations of processes that stopped", released)
        return released

    async def hold_again(self) -> int:
        """Write the holds of this process's calls in flight again: another process took
        this one for dead (it was paused past the heartbeat's stale threshold) and freed
        them, yet the calls go on and will be settled. Returns how many were written."""
        calls = list(self._open.values())
        now = to_ms(self._clock())
        for hold in calls:
            assert hold.guild_id is not None  # only calls in a server are held
            await self._reservations.hold(
                hold.key, hold.guild_id, hold.user_id, hold.amount_micros, now
            )
        # A call settled or released meanwhile may have dropped its hold before this wrote
        # it again: it is no longer open, so its hold goes (again).
        for hold in calls:
            if hold.key not in self._open:
                await self._reservations.release(hold.key)
        if calls:
            log.warning("held again %d budget reservations of calls still in flight", len(calls))
        return len(calls)

    async def budget_status(self, guild_id: int, user_id: int | None) -> list[BudgetStatus]:
        """The server's budget and this member's, with this period's spending (for /usage)."""
        days = period_days(self._clock())
        return await self._budgets.applicable(guild_id, user_id, days)

    async def guild_budgets(self, guild_id: int) -> list[BudgetStatus]:
        """Every budget of the server with its spending (for /budget show)."""
        return await self._budgets.in_guild(guild_id, period_days(self._clock()))

    # --- internals -------------------------------------------------------------------------

    async def _settle(
        self, hold: CallHold, usage: Usage, status: CallStatus, price: Price | None
    ) -> CallCost:
        now = self._clock()
        entry = _entry(hold, usage, status, price, to_ms(now))
        check = hold.budgeted and hold.guild_id is not None and bool(entry.cost_micros)
        outcome = await self._reservations.settle(
            entry, held=hold.held, days=period_days(now) if check else None
        )
        hold.finished = True
        recorded = outcome.entry
        if not outcome.inserted:
            log.info("call %s was already recorded; settle ignored", hold.key)
            return CallCost(recorded.cost_micros, recorded.usage_source == "estimated")
        warning = None
        if outcome.statuses and recorded.cost_micros:
            warning = crossing_warning(outcome.statuses, recorded.cost_micros)
        return CallCost(recorded.cost_micros, usage.estimated, warning)


def _hold(reservation: object) -> CallHold:
    if not isinstance(reservation, CallHold):
        raise TypeError(f"not a reservation of this meter: {reservation!r}")
    return reservation


def _entry(
    hold: CallHold, usage: Usage, status: CallStatus, price: Price | None, created_at: int
) -> LedgerEntry:
    prompt = usage.prompt_tokens
    cached = min(usage.cached_tokens, prompt)
    written = min(usage.cache_write_tokens, prompt - cached)
    completion = usage.completion_tokens
    reasoning = min(usage.reasoning_tokens, completion)
    flat = None if price is None else price.for_prompt(prompt)
    return LedgerEntry(
        idempotency_key=hold.key,
        created_at=created_at,
        guild_id=hold.guild_id,
        channel_id=hold.channel_id,
        user_id=hold.user_id,
        conversation_id=hold.conversation_id,
        answer_id=hold.answer_id,
        purpose=hold.purpose,
        model=hold.model,
        prompt_tokens=prompt,
        cached_tokens=cached,
        completion_tokens=completion,
        reasoning_tokens=reasoning,
        input_price=None if flat is None else flat.input_price,
        cached_price=None if flat is None else flat.effective_cached_price,
        output_price=None if flat is None else flat.output_price,
        price_source=None if flat is None else flat.source,
        cost_micros=None if flat is None else cost_micros(usage, flat),
        status=status,
        usage_source="estimated" if usage.estimated else "provider",
        provider=hold.provider,
        cache_write_tokens=written,
        cache_write_price=None if flat is None else flat.effective_cache_write_price,
    )


def period_days(now: datetime) -> PeriodDays:
    """The current period of each kind as (first day, end day) for the budget queries."""
    return _period_days(day_number(now))


@functools.lru_cache(maxsize=8)
def _period_days(day: int) -> PeriodDays:
    # Runs before and after every call; the answer only changes at midnight UTC.
    midday = EPOCH + timedelta(days=day, hours=12)
    days: dict[PeriodName, tuple[int, int]] = {}
    for name in PERIODS:
        period = period_of(name, midday)
        days[name] = (period.first_day, period.end_day)
    return MappingProxyType(days)


def _whose(status: BudgetStatus) -> str:
    period = ADJECTIVES[status.budget.period]
    if status.budget.user_id is None:
        return f"This server's {period} budget"
    return f"Your {period} budget in this server"


def refusal_message(status: BudgetStatus, worst_micros: int, now: datetime) -> str:
    """Which budget refused, what is left of it, and when it resets."""
    budget = status.budget
    whose = _whose(status)
    reset = describe_reset(period_of(budget.period, now).end, now)
    left = status.left_micros
    if left <= 0:
        head = f"{whose} ({usd_precise(budget.amount_micros)}) is used up."
    else:
        head = (
            f"{whose} has {usd_precise(left)} of {usd_precise(budget.amount_micros)} left, "
            f"not enough for this request (it may cost up to {usd_precise(worst_micros)})."
        )
    return f"{head} It resets at {reset}."


def crossing_warning(statuses: Sequence[BudgetStatus], cost: int) -> str | None:
    """A warning for each budget this settled cost just took across 80 % of its amount.

    `spent_micros` already includes `cost`, so "before" is spent - cost; settlements are
    serialised by the database, so exactly one call crosses the line in a period.
    """
    lines = []
    for status in statuses:
        amount = status.budget.amount_micros
        after = status.spent_micros
        before = after - cost
        if before * 100 < amount * WARN_AT_PERCENT <= after * 100:
            percent = after * 100 // amount
            lines.append(f"{_whose(status)} is {percent}% used.")
    return " ".join(lines) or None
