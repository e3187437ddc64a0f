"""Which sends start now: the edit pacer's pick, from its queues and clocks (no I/O, no asyncio).

Each ready lane offers its best waiting target if the lane's clock allows a send now; the
offers are ranked, and lanes that count toward the global limit take tokens from the global
budget in rank order until it runs dry. Ranking, best first:
  0. final states and streaming edits that waited too long (see below),
  1. first words: an answer's first message or first edit that shows its text,
  2. other first signs: a thread being opened, an answer's placeholder (it becomes first
     words, and moves up, as soon as the answer has text to show),
  3. final states,
  4. streaming edits of answers already on screen;
ties go to the update that has waited longest, which makes the busy case a round robin.

Why this order: a member who sees nothing waits for the first signs, so they come before
everything already on screen; an answer whose thread is open gets its text before more
threads are opened, so under a burst of commands answers get their text in the order they
started (instead of every thread first and every text last). But answers on screen keep
streaming meanwhile, and their edits must not starve: an edit or final state that waited
longer than one round of the global budget (every tracked message getting its turn:
`round_s`) or its lane's pace, whichever is longer, plus `PROMOTE_MARGIN_S`, goes first of
all (never later than `promote_after_s`). With N answers on screen each is then refreshed
about every N/45 s plus that margin, and first signs take whatever the refreshes leave,
which is always a share: the refreshes alone can never use the whole budget.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from bot.discord_ui.lanes import GlobalBudget
from bot.discord_ui.pacer_targets import LaneState, Target, Update

# How much longer than its fair turn a message on screen may wait behind first signs.
PROMOTE_MARGIN_S = 1.0


def promote_after(state: LaneState, round_s: float, limit_s: float) -> float:
    """How long an edit or final state in this lane may wait before it goes first."""
    lane = state.clock.lane
    turn = max(lane.spacing_s, round_s if lane.uses_global else 0.0)
    return min(limit_s, turn + PROMOTE_MARGIN_S)


def rank(update: Update, now: float, promote_s: float) -> tuple[int, float]:
    if update.first_visible:
        kind = 1
    elif update.first_sign:
        kind = 2
    elif now - update.since >= promote_s:
        kind = 0
    elif update.final:
        kind = 3
    else:
        kind = 4
    return kind, update.since


def _rank_target(target: Target, now: float, promote_s: float) -> tuple[int, float]:
    assert target.pending is not None
    return rank(target.pending, now, promote_s)


def pick_in_lane(state: LaneState, now: float, promote_s: float) -> tuple[Target | None, float]:
    """The lane's best waiting target if the lane may send now; else None and when it may
    (inf: only when a send in flight finishes)."""
    if len(state.waiting) == 1:  # the usual case (one message per lane): no lists to build
        (only,) = state.waiting.values()
        if only.in_flight is not None or only.pending is None:
            return None, math.inf
        at = state.clock.earliest_start(urgent=only.pending.urgent)
        return (only, now) if now >= at else (None, at)
    # A target whose previous send is still in flight waits for it (one send per target).
    idle = [t for t in state.waiting.values() if t.in_flight is None]
    if not idle:
        return None, math.inf
    normal_at = state.clock.earliest_start(urgent=False)
    if now >= normal_at:
        return min(idle, key=lambda t: _rank_target(t, now, promote_s)), now
    urgent = [t for t in idle if t.pending is not None and t.pending.urgent]
    urgent_at = state.clock.earliest_start(urgent=True)
    if urgent and now >= urgent_at:
        return min(urgent, key=lambda t: _rank_target(t, now, promote_s)), now
    return None, urgent_at if urgent else normal_at


def choose(
    ready: Iterable[LaneState],
    budget: GlobalBudget,
    now: float,
    promote_after_s: float,
    round_s: float = 0.0,
) -> tuple[list[tuple[LaneState, Target]], float]:
    """Sends to start now (global tokens already taken), and when to look again (inf: only
    when something changes). `round_s`: how long one turn of every tracked message under
    the global budget takes; `promote_after_s`: the longest any update waits behind others."""
    wake_at = math.inf
    offers: list[tuple[tuple[int, float], LaneState, Target]] = []
    # Most looks happen between two global tokens: then no global lane can send, and ranking
    # hundreds of them (every wake, while hundreds of answers stream) would be wasted work.
    next_token = now if budget.can_take(now) else budget.next_available(now)
    for state in ready:
        if state.clock.busy:
            continue  # its send finishing wakes the scheduler
        if next_token > now and state.clock.lane.uses_global:
            wake_at = min(wake_at, next_token)
            continue
        promote_s = promote_after(state, round_s, promote_after_s)
        best, at = pick_in_lane(state, now, promote_s)
        if best is None:
            wake_at = min(wake_at, at)
        else:
            offers.append((_rank_target(best, now, promote_s), state, best))
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
