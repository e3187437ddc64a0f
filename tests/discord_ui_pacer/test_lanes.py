"""Lane timing, the global token bucket and error classification, as plain arithmetic."""

from __future__ import annotations

import math
from types import SimpleNamespace

import discord
import pytest

from bot.discord_ui.lanes import GlobalBudget, Lane, LaneClock
from bot.discord_ui.send_errors import Action, Failure, RetryPolicy, Verdict, classify


def test_lane_defaults_keep_one_request_in_reserve() -> None:
    channel = Lane.channel(1)
    interaction = Lane.interaction(2)
    assert (channel.cap, channel.spacing_s, channel.uses_global) == (4, 1.25, True)
    assert (interaction.cap, interaction.spacing_s, interaction.uses_global) == (4, 0.5, False)
    with pytest.raises(ValueError):
        Lane("x", limit=1)


def test_lane_clock_paces_streaming_and_keeps_the_last_request_for_urgent_sends() -> None:
    clock = LaneClock(Lane("x", limit=5, window_s=5.0))
    assert clock.earliest_start(urgent=False) == -math.inf  # idle: go at once
    clock.record_start(0.0)
    assert clock.earliest_start(urgent=False) == 1.25  # streaming keeps the bucket's pace
    assert clock.earliest_start(urgent=True) == -math.inf  # urgent: the bucket has room
    for at in (0.1, 0.2, 0.3):
        clock.record_start(at)
    # Four of five started within the window: streaming waits for the oldest to leave it,
    # while a final state still goes at once with the request kept free for it.
    assert clock.earliest_start(urgent=False) == 5.0
    assert clock.earliest_start(urgent=True) == -math.inf
    clock.record_start(0.4)
    # The bucket is empty: everyone waits, the last request a hair beyond the window.
    assert clock.earliest_start(urgent=True) == pytest.approx(5.0 + 0.02 * 5.0)
    clock.block(7.0)
    assert clock.earliest_start(urgent=True) == 7.0


def test_lane_clock_runs_several_sends_only_in_a_large_bucket() -> None:
    channel, threads = LaneClock(Lane.channel(1)), LaneClock(Lane.threads(2))
    channel.begin(0.0)
    assert channel.busy
    for at in range(4):
        assert not threads.busy
        threads.begin(float(at))
    threads.begin(4.0)
    assert threads.busy  # five thread creations at once, at most
    threads.end()
    assert not threads.busy


def test_global_budget_refills_at_its_rate_and_pauses() -> None:
    budget = GlobalBudget(per_second=10.0, burst=2, now=0.0)
    assert budget.try_take(0.0)
    assert budget.try_take(0.0)
    assert not budget.try_take(0.0)
    assert budget.next_available(0.0) == pytest.approx(0.1)
    assert budget.try_take(0.1)
    budget.pause(5.0)
    assert not budget.try_take(4.9)
    assert budget.next_available(4.9) == 5.0


def _response(status: int, headers: dict[str, str] | None = None) -> SimpleNamespace:
    return SimpleNamespace(status=status, reason="", headers=headers or {})


def test_classify_reads_discord_exceptions() -> None:
    limited = classify(discord.RateLimited(2.5))
    assert (limited.verdict, limited.retry_after) == (Verdict.RATE_LIMITED, 2.5)

    body = {"message": "You are being rate limited.", "retry_after": 1.0, "global": True}
    too_many = discord.HTTPException(
        _response(429, {"Retry-After": "3", "X-RateLimit-Global": "true"}), body
    )
    failure = classify(too_many)
    assert (failure.verdict, failure.retry_after, failure.is_global) == (
        Verdict.RATE_LIMITED,
        3.0,
        True,
    )
    assert classify(discord.NotFound(_response(404), "Unknown Message")).verdict is (
        Verdict.PERMANENT
    )
    assert classify(discord.DiscordServerError(_response(503), "")).verdict is Verdict.TRANSIENT
    assert classify(ConnectionResetError()).verdict is Verdict.TRANSIENT
    assert classify(ValueError()).verdict is Verdict.PERMANENT


def test_retry_policy_backs_off_and_tries_finals_harder() -> None:
    policy = RetryPolicy(base_s=0.5, max_s=2.0, max_attempts=3, final_max_attempts=5)
    server_error = Failure(Verdict.TRANSIENT, status=503)
    delays = [policy.decide(server_error, attempts=n, final=True, window_s=5.0) for n in (1, 2, 3)]
    assert [d.delay_s for d in delays] == [0.5, 1.0, 2.0]
    assert policy.decide(server_error, attempts=3, final=False, window_s=5.0).action is (
        Action.DROP_UPDATE
    )
    assert policy.decide(server_error, attempts=4, final=True, window_s=5.0).action is Action.RETRY
    assert policy.decide(server_error, attempts=5, final=True, window_s=5.0).action is (
        Action.GIVE_UP
    )
    limited = Failure(Verdict.RATE_LIMITED, retry_after=None, is_global=True)
    decision = policy.decide(limited, attempts=99, final=False, window_s=5.0)
    assert (decision.action, decision.delay_s, decision.pause_global) == (Action.RETRY, 5.0, True)
    gone = Failure(Verdict.PERMANENT, status=404)
    assert policy.decide(gone, attempts=0, final=True, window_s=5.0).action is Action.GIVE_UP
