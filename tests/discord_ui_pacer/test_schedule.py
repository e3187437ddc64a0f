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
    state: LaneState, key: str, since: float, *, final: bool = False, first: bool = False
) -> Target:
    target = Target(key, state, pending=Update(1, _noop, final, first, since))
    state.waiting[key] = target
    return target


def _picked(lanes: list[LaneState], budget: GlobalBudget, now: float) -> list[str]:
    chosen, _ = choose(lanes, budget, now, PROMOTE_AFTER_S)
    return [str(target.key) for _, target in chosen]


def test_choose_ranks_starving_then_first_text_then_finals_then_oldest() -> None:
    lanes = [_lane(name) for name in ("old", "first", "final", "older", "starving")]
    _wait(lanes[0], "old", since=95.0)
    _wait(lanes[1], "first", since=99.0, first=True)
    _wait(lanes[2], "final", since=98.0, final=True)
    _wait(lanes[3], "older", since=94.0)
    _wait(lanes[4], "starving", since=80.0)  # waited past PROMOTE_AFTER_S
    budget = GlobalBudget(per_second=1000.0, burst=5, now=100.0)
    assert _picked(lanes, budget, 100.0) == ["starving", "first", "final", "older", "old"]


def test_choose_stops_at_the_global_budget_but_not_for_interaction_lanes() -> None:
    lanes = [_lane(f"chan{i}") for i in range(3)] + [_lane("hook", uses_global=False)]
    for i, state in enumerate(lanes):
        _wait(state, f"t{i}", since=float(i))
    budget = GlobalBudget(per_second=10.0, burst=1, now=100.0)
    chosen, wake_at = choose(lanes, budget, 100.0, PROMOTE_AFTER_S)
    assert [str(t.key) for _, t in chosen] == ["t0", "t3"]
    assert wake_at == pytest.approx(100.1)  # the next global token


def test_choose_lets_urgent_updates_skip_the_spacing_only() -> None:
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
    state.clock.busy = True
    chosen, wake_at = choose([state], GlobalBudget(45.0, 2, 0.0), 1.0, PROMOTE_AFTER_S)
    assert (chosen, wake_at) == ([], math.inf)
