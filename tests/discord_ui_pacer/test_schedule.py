"""The pick itself, on hand-built queues and clocks: no event loop, no waiting."""

from __future__ import annotations

import math

import pytest

from bot.discord_ui.lanes import GlobalBudget, Lane, LaneClock
from bot.discord_ui.pacer_targets import LaneState, Target, Update
from bot.discord_ui.schedule import choose

PROMOTE_AFTER_S = 10.0


async def _noop() -> None:
    return None


def _lane(key: str, *, uses_global: bool = True) -> LaneState:
    return LaneState(LaneClock(Lane(key, 5, 5.0, uses_global)))


def _wait(
    state: LaneState,
    key: str,
    since: float,
    *,
    final: bool = False,
    first: bool = False,
    sign: bool = False,
) -> Target:
    target = Target(key, state, pending=Update(1, _noop, final, first, since, sign))
    state.waiting[key] = target
    return target


def _picked(
    lanes: list[LaneState], budget: GlobalBudget, now: float, round_s: float = 0.0
) -> list[str]:
    chosen, _ = choose(lanes, budget, now, PROMOTE_AFTER_S, round_s)
    return [str(target.key) for _, target in chosen]


def test_choose_ranks_late_edits_then_first_words_then_first_signs_then_finals() -> None:
    names = ("old", "first", "final", "older", "late", "thread")
    lanes = [_lane(name) for name in names]
    _wait(lanes[0], "old", since=99.5)
    _wait(lanes[1], "first", since=99.8, first=True)
    _wait(lanes[2], "final", since=99.2, final=True)
    _wait(lanes[3], "older", since=99.0)
    # Waited longer than its lane's pace (1.25 s) plus the margin: it goes first of all.
    _wait(lanes[4], "late", since=97.0)
    _wait(lanes[5], "thread", since=99.9, final=True, sign=True)  # a thread being opened
    budget = GlobalBudget(per_second=1000.0, burst=6, now=100.0)
    assert _picked(lanes, budget, 100.0) == ["late", "first", "thread", "final", "older", "old"]


def test_choose_lets_edits_wait_one_round_of_the_budget_before_they_go_first() -> None:
    edit, thread = _lane("edit"), _lane("threads")
    _wait(edit, "edit", since=96.0)
    _wait(thread, "thread", since=0.0, final=True, sign=True)  # first signs never age
    budget = GlobalBudget(per_second=1000.0, burst=6, now=100.0)
    # 200 messages on screen: a round of the budget takes 4.4 s; the edit waited 4 s.
    assert _picked([edit, thread], budget, 100.0, round_s=200 / 45) == ["thread", "edit"]
    assert _picked([edit, thread], budget, 101.5, round_s=200 / 45) == ["edit", "thread"]


def test_choose_stops_at_the_global_budget_but_not_for_interaction_lanes() -> None:
    lanes = [_lane(f"chan{i}") for i in range(3)] + [_lane("hook", uses_global=False)]
    for i, state in enumerate(lanes):
        _wait(state, f"t{i}", since=float(i))
    budget = GlobalBudget(per_second=10.0, burst=1, now=100.0)
    chosen, wake_at = choose(lanes, budget, 100.0, PROMOTE_AFTER_S)
    assert [str(t.key) for _, t in chosen] == ["t0", "t3"]
    assert wake_at == pytest.approx(100.1)  # the next global token


def test_choose_lets_urgent_updates_skip_the_streaming_pace() -> None:
    state = _lane("chan")
    state.clock.record_start(99.5)  # spacing 1.25 s: the next normal send waits until 100.75
    _wait(state, "normal", since=99.6)
    chosen, wake_at = choose([state], GlobalBudget(45.0, 2, 100.0), 100.0, PROMOTE_AFTER_S)
    assert chosen == []
    assert wake_at == 100.75
    _wait(state, "final", since=99.9, final=True)
    assert _picked([state], GlobalBudget(45.0, 2, 100.0), 100.0) == ["final"]


def test_choose_skips_busy_lanes_and_sleeps_when_nothing_waits() -> None:
    state = _lane("chan")
    _wait(state, "t", since=0.0)
    state.clock.begin(0.5)
    chosen, wake_at = choose([state], GlobalBudget(45.0, 2, 0.0), 1.0, PROMOTE_AFTER_S)
    assert (chosen, wake_at) == ([], math.inf)


def test_choose_never_picks_a_target_whose_send_is_in_flight() -> None:
    state = LaneState(LaneClock(Lane.threads(1)))
    busy = _wait(state, "busy", since=0.0, sign=True)
    busy.in_flight = busy.pending
    state.clock.begin(0.5)  # its send; the lane could run four more
    assert _picked([state], GlobalBudget(45.0, 2, 1.0), 1.0) == []
    _wait(state, "next", since=0.9, sign=True)
    assert _picked([state], GlobalBudget(45.0, 2, 1.0), 1.0) == ["next"]
