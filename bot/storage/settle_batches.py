"""Settling calls on PostgreSQL in batches: what goes to switchboard_settle_many (migration
0010) and how its answer becomes one outcome per call.

Every settlement in a server adds to the same roll-up rows, and a row stays locked until its
transaction ends, so settlements in one server take turns; `ReservationRepository` sends the
ones that arrive while its previous batch is in flight as one batch (`Coalescer`), one turn
for all of them. The batch must still read as the same calls settled one after another, in
order: the function reads each call's budgets after the whole batch, and `settled_in_turn`
takes the spending of the calls after it back out, so each call sees the spending up to and
including its own (the 80 % warning fires for exactly the call that crosses the line).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.storage.budgets import PERIODS, BudgetStatus, PeriodDays, budget_status_of
from bot.storage.sql import Row
from bot.storage.timeutil import MS_PER_DAY
from bot.storage.usage import ENTRY_FIELDS, LedgerEntry, entry_params

SETTLE_MANY = """
    SELECT o_item AS item, o_inserted AS inserted, o_id AS id, o_guild_id AS guild_id,
           o_user_id AS user_id, o_period AS period, o_amount_micros AS amount_micros,
           o_updated_by AS updated_by, o_updated_at AS updated_at, o_spent AS spent,
           o_held AS held
    FROM switchboard_settle_many(CAST(:batch AS JSONB))
"""


@dataclass(frozen=True, slots=True)
class SettleRequest:
    entry: LedgerEntry
    held: bool  # drop the call's hold
    days: PeriodDays | None  # return its budgets, for these periods


@dataclass(frozen=True, slots=True)
class Settled:
    """One call of a batch as the server saw it, in the batch's order."""

    inserted: bool  # False: its key was already in the ledger, nothing was written
    statuses: tuple[BudgetStatus, ...]  # in turn (see `settled_in_turn`)


def batch_json(batch: Sequence[SettleRequest]) -> str:
    calls = []
    for request in batch:
        call: dict[str, object] = dict(zip(ENTRY_FIELDS, entry_params(request.entry), strict=True))
        call["release"], call["statuses"] = request.held, request.days is not None
        for name in PERIODS:
            first, end = request.days[name] if request.days is not None else (None, None)
            call[f"{name}0"], call[f"{name}1"] = first, end
        calls.append(call)
    return json.dumps(calls, separators=(",", ":"))


def settled_in_turn(batch: Sequence[SettleRequest], rows: Sequence[Row]) -> list[Settled]:
    """One `Settled` per request from the function's rows (grouped by item, from 1)."""
    inserted = [False] * len(batch)
    read: list[list[BudgetStatus]] = [[] for _ in batch]
    for row in rows:
        inserted[row.item - 1] = bool(row.inserted)
        if row.id is not None:
            read[row.item - 1].append(budget_status_of(row))
    outcome = []
    for i, request in enumerate(batch):
        later, later_inserted = batch[i + 1 :], inserted[i + 1 :]
        statuses = (_without_later(s, request, later, later_inserted) for s in read[i])
        outcome.append(Settled(inserted[i], tuple(statuses)))
    return outcome


def _without_later(
    status: BudgetStatus,
    request: SettleRequest,
    later: Sequence[SettleRequest],
    later_inserted: Sequence[bool],
) -> BudgetStatus:
    """`status` as read after the batch, less the spending of the calls settled after
    `request` that count against the same budget in the same period."""
    budget = status.budget
    assert request.days is not None  # statuses are only read for requests that ask
    first, end = request.days[budget.period]
    after = 0
    for other, was_inserted in zip(later, later_inserted, strict=True):
        entry = other.entry
        if (
            was_inserted
            and entry.cost_micros is not None
            and entry.guild_id == budget.guild_id
            and (budget.user_id is None or entry.user_id == budget.user_id)
            and first <= entry.created_at // MS_PER_DAY < end
        ):
            after += entry.cost_micros
    return replace(status, spent_micros=status.spent_micros - after) if after else status
