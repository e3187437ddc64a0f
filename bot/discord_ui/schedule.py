"""Which sends start now: the edit pacer's pick, from its queues and clocks (no I/O, no asyncio).

Each ready lane offers its best waiting target if the lane's clock allows a send now; the
offers are ranked, and lanes that count toward the global limit take tokens from the global
budget in rank order until it runs dry. Ranking, best first:
  0. updates that have waited longer than `promote_after_s` (so nothing starves),
  1. first visible text (an answer that shows nothing yet),
  2. final states,
  3. everything else;
ties go to the update that has waited longest, which makes the busy case a round robin.
First text and finals come once per message, so they cannot starve the rest at any sane
load; the promotion (30 s by default, far above the ~N/45 s a busy round takes) only guards
against a flood of new answers arriving faster than the budget for minutes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from bot.discord_ui.lanes import GlobalBudget
from bot.discord_ui.pacer_targets import LaneState, Target, Update


def rank(update: Update, now: float, promote_after_s: float) -> tuple[int, float]:
    if now - update.since >= promote_after_s:
        kind = 0
    elif update.first_visible:
        kind = 1
    elif update.final:
        kind = 2
    else:
        kind = 3
    return kind, update.since


def _rank_target(target: Target, now: float, promote_after_s: float) -> tuple[int, float]:
    assert target.pending is not None
    return rank(target.pending, now, promote_after_s)


def pick_in_lane(
    state: LaneState, now: float, promote_after_s: float
) -> tuple[Target | None, float]:
    """The lane's best waiting target if the lane may send now; else None and when it may."""
    normal_at = state.clock.earliest_start(urgent=False)
    if now >= normal_at:
        best = min(state.waiting.values(), key=lambda t: _rank_target(t, now, promote_after_s))
        return best, now
    urgent = [t for t in state.waiting.values() if t.pending is not None and t.pending.urgent]
    urgent_at = state.clock.earliest_start(urgent=True)
    if urgent and now >= urgent_at:
        return min(urgent, key=lambda t: _rank_target(t, now, promote_after_s)), now
    return None, urgent_at if urgent else normal_at


def choose(
    ready: Iterable[LaneState], budget: GlobalBudget, now: float, promote_after_s: float
) -> tuple[list[tuple[LaneState, Target]], float]:
    """Sends to start now (global tokens already taken), and when to look again (inf: only
    when something changes)."""
    wake_at = math.inf
    offers: list[tuple[tuple[int, float], LaneState, Target]] = []
    for state in ready:
        if state.clock.busy:
            continue  # its send finishing wakes the scheduler
        best, at = pick_in_lane(state, now, promote_after_s)
        if best is None:
            wake_at = min(wake_at, at)
        else:
            offers.append((_rank_target(best, now, promote_after_s), state, best))
    offers.sort(key=lambda offer: offer[0])
    chosen: list[tuple[LaneState, Target]] = []
    starved = False
    for _, state, target in offers:
        if state.clock.lane.uses_global and (starved or not budget.try_take(now)):
            starved = True
            continue
        chosen.append((state, target))
    if starved:
        wake_at = min(wake_at, budget.next_available(now))
    return chosen, wake_at
