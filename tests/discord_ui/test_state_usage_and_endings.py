"""AnswerState: usage and cost accounting, and how an answer ends.

Covers token usage summed over rounds, the meter's billed cost (including
unpriced calls and the sticky estimated flag), the model name, and the
terminal states: done notes per finish reason, loop errors (user-facing versus
generic text), stopping (keeping partial text, cancelling tools, closing
reasoning), events arriving after a stop, and ``mark_interrupted`` /
``mark_error``. Streamed text, reasoning and tool lines live in
``test_state.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.discord_ui.state import AnswerState
from bot.errors import GENERIC_MESSAGE, BudgetExceededError
from bot.llm.types import (
    LoopDone,
    LoopError,
    ReasoningDelta,
    RoundStarted,
    TextDelta,
    ToolCallProgress,
    ToolStarted,
    Usage,
    UsageReported,
)
from tests.discord_ui.builders import MODEL, CallBilled, call, feed, request


def _usage(round_: int, prompt: int, completion: int, *, estimated: bool = False) -> UsageReported:
    usage = Usage(prompt_tokens=prompt, completion_tokens=completion, estimated=estimated)
    return UsageReported(round_, MODEL, usage, "completed")


def test_state_usage_summed_over_rounds_cost_from_the_meter() -> None:
    state = AnswerState()
    feed(
        state,
        [
            (0, _usage(1, 100, 10)),
            (0, CallBilled(120)),
            (1, _usage(2, 200, 20)),
            (1, CallBilled(480)),
        ],
    )
    assert (state.tokens_in, state.tokens_out) == (300, 30)
    assert state.cost_micros == 600
    assert state.model == MODEL
    assert not state.estimated


def test_state_unpriced_call_makes_cost_unknown_for_good() -> None:
    state = AnswerState()
    feed(state, [(0, CallBilled(5)), (1, CallBilled(None)), (2, CallBilled(7))])
    assert state.cost_micros is None


def test_state_usage_alone_leaves_cost_unknown() -> None:
    # Usage is counted as it is reported; the cost is the meter's billed figure only.
    state = AnswerState()
    state.apply(_usage(1, 10, 10), 0)
    assert state.cost_micros is None
    state.add_cost(40, estimated=True)
    assert (state.cost_micros, state.estimated) == (40, True)


def test_state_estimated_flag_sticks() -> None:
    state = AnswerState()
    feed(state, [(0, _usage(1, 1, 1, estimated=True)), (1, _usage(2, 1, 1))])
    assert state.estimated


def test_state_model_from_round_request_before_usage() -> None:
    state = AnswerState()
    state.apply(RoundStarted(1, request("other-model")), 0)
    assert state.model == "other-model"


@pytest.mark.parametrize(
    ("reason", "note", "expected"),
    [
        ("complete", None, []),
        ("max_rounds", None, ["Stopped after the maximum number of tool rounds."]),
        ("max_rounds", "Stopped after 8 tool rounds.", ["Stopped after 8 tool rounds."]),
        ("length", None, ["The answer was cut off at the model's length limit."]),
        ("content_filter", None, ["The provider's content filter stopped the answer."]),
    ],
)
def test_state_done_notes(reason: Any, note: str | None, expected: list[str]) -> None:
    state = AnswerState()
    state.apply(LoopDone(reason, "x", note=note), 0)
    assert state.status == "complete"
    assert state.notes == expected


def test_state_done_reason_stopped_marks_stopped() -> None:
    state = AnswerState()
    state.apply(LoopDone("stopped", "x"), 0)
    assert state.status == "stopped"


def test_state_loop_error_user_facing_text() -> None:
    state = AnswerState()
    state.apply(LoopError(BudgetExceededError(), partial=False), 0)
    assert state.status == "error"
    assert state.error_text == BudgetExceededError.default_message


def test_state_loop_error_internal_is_generic() -> None:
    state = AnswerState()
    state.apply(LoopError(RuntimeError("secret internals"), partial=True), 0)
    assert state.error_text == GENERIC_MESSAGE


def test_state_loop_error_cancels_running_tools_and_closes_reasoning() -> None:
    state = AnswerState()
    feed(state, [(0, ReasoningDelta("hm")), (2, ToolStarted(1, call()))])
    state.apply(LoopError(RuntimeError(), partial=True), 5)
    assert state.tools[0].status == "cancelled"
    assert state.tools[0].duration_s == 3
    assert state.reasoning_seconds(now=99) == 2


def test_state_stop_keeps_text_and_cancels_tools() -> None:
    state = AnswerState()
    feed(
        state,
        [
            (0, RoundStarted(1, request())),
            (1, TextDelta("partial")),
            (2, ToolCallProgress(0, "calculator")),
            (3, ReasoningDelta("thinking")),
        ],
    )
    state.apply(LoopDone("stopped", ""), 5)
    assert state.status == "stopped"
    assert state.answer_text == "partial"
    assert state.tools[0].status == "cancelled"
    assert state.tools[0].duration_s is None  # never started
    assert not state.reasoning_active
    assert state.reasoning_seconds(now=100) == 2


def test_state_events_after_stop_count_usage_but_keep_status() -> None:
    state = AnswerState()
    state.apply(LoopDone("stopped", ""), 1)
    feed(
        state,
        [
            (2, UsageReported(1, MODEL, Usage(5, 6, estimated=True), "stopped")),
            (2, CallBilled(10, estimated=True)),
            (3, LoopError(RuntimeError("cancelled"), partial=True)),
            (4, LoopDone("complete", "")),
        ],
    )
    assert state.status == "stopped"
    assert (state.tokens_in, state.tokens_out, state.cost_micros) == (5, 6, 10)
    assert state.estimated
    assert state.error_text is None


def test_state_stop_after_complete_is_noop() -> None:
    state = AnswerState()
    state.apply(LoopDone("complete", "x"), 0)
    state.apply(LoopDone("stopped", ""), 1)
    assert state.status == "complete"


def test_state_mark_interrupted() -> None:
    state = AnswerState()
    feed(state, [(0, TextDelta("half")), (4, ToolStarted(1, call()))])
    state.mark_interrupted()
    assert state.status == "interrupted"
    assert state.tools[0].status == "cancelled"
    assert state.tools[0].duration_s == 0


def test_state_mark_error_with_id_overrides_loop_error() -> None:
    state = AnswerState()
    state.apply(LoopError(RuntimeError(), partial=False), 0)
    state.mark_error("Sorry, something broke.", error_id="e42")
    assert (state.status, state.error_text, state.error_id) == (
        "error",
        "Sorry, something broke.",
        "e42",
    )
