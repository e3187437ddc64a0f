"""AnswerState: folding streamed loop events into the answer being rendered.

Covers how text deltas and finished rounds build the answer text, how
reasoning intervals, seconds and excerpts are tracked across rounds, and how
tool-call progress, start and finish events become tool lines with their
labels (default argument summaries and per-tool ``summarize`` hooks). Usage,
cost and how an answer ends live in ``test_state_usage_and_endings.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from bot.discord_ui.state import AnswerState
from bot.llm.types import (
    LoopDone,
    ReasoningDelta,
    RoundFinished,
    RoundStarted,
    TextDelta,
    ToolCallProgress,
    ToolFinished,
    ToolStarted,
)
from tests.discord_ui.builders import call, feed, request


def test_state_text_deltas_build_answer() -> None:
    state = AnswerState()
    feed(state, [(0, RoundStarted(1, request())), (1, TextDelta("Hel")), (2, TextDelta("lo"))])
    assert state.answer_text == "Hello"
    assert state.status == "streaming"
    assert not state.is_final


def test_state_answer_trims_outer_blank_lines_but_keeps_indentation() -> None:
    state = AnswerState()
    feed(state, [(0, RoundStarted(1, request())), (1, TextDelta("\n\n    code-ish\n\n  "))])
    assert state.answer_text == "    code-ish"


def test_state_rounds_joined_with_blank_line_in_order() -> None:
    state = AnswerState()
    feed(
        state,
        [
            (0, RoundStarted(1, request())),
            (1, TextDelta("Let me check…\n")),
            (2, RoundFinished(1, "Let me check…\n", "", (call(),), "tool_calls")),
            (3, RoundStarted(2, request())),
            (4, TextDelta("It is 4.")),
        ],
    )
    assert state.answer_text == "Let me check…\n\nIt is 4."


def test_state_round_without_text_adds_no_blank_lines() -> None:
    state = AnswerState()
    feed(
        state,
        [
            (0, RoundStarted(1, request())),
            (1, RoundFinished(1, "", "", (call(),), "tool_calls")),
            (2, RoundStarted(2, request())),
            (3, TextDelta("Answer")),
        ],
    )
    assert state.answer_text == "Answer"


def test_state_round_finished_text_is_authoritative() -> None:
    state = AnswerState()
    feed(
        state,
        [
            (0, RoundStarted(1, request())),
            (1, TextDelta("Helo")),
            (2, RoundFinished(1, "Hello", "", (), "stop")),
        ],
    )
    assert state.answer_text == "Hello"


def test_state_done_text_used_when_nothing_streamed() -> None:
    state = AnswerState()
    feed(state, [(0, RoundStarted(1, request())), (1, LoopDone("complete", "Quiet answer"))])
    assert state.answer_text == "Quiet answer"
    assert state.status == "complete"


def test_state_done_text_ignored_when_rounds_streamed() -> None:
    state = AnswerState()
    feed(
        state,
        [
            (0, RoundStarted(1, request())),
            (1, TextDelta("Looking.")),
            (2, RoundStarted(2, request())),
            (3, TextDelta("Found.")),
            (4, LoopDone("complete", "Found.", rounds=2)),
        ],
    )
    assert state.answer_text == "Looking.\n\nFound."


def test_state_reasoning_interval_closes_on_other_event() -> None:
    state = AnswerState()
    feed(
        state,
        [
            (0, RoundStarted(1, request())),
            (1, ReasoningDelta("Think")),
            (3, ReasoningDelta("ing")),
        ],
    )
    assert state.reasoning_seen and state.reasoning_active
    assert state.reasoning_seconds(now=6) == 5
    state.apply(TextDelta("Hi"), 8)
    assert not state.reasoning_active
    assert state.reasoning_seconds(now=100) == 7


def test_state_reasoning_seconds_sum_over_rounds() -> None:
    state = AnswerState()
    feed(
        state,
        [
            (0, RoundStarted(1, request())),
            (0, ReasoningDelta("a")),
            (4, TextDelta("x")),
            (5, RoundStarted(2, request())),
            (6, ReasoningDelta("b")),
            (9, TextDelta("y")),
        ],
    )
    assert state.reasoning_seconds(now=50) == 7


def test_state_reasoning_excerpt_resets_each_round() -> None:
    state = AnswerState()
    feed(
        state,
        [
            (0, RoundStarted(1, request())),
            (0, ReasoningDelta("first thoughts")),
            (1, RoundStarted(2, request())),
            (2, ReasoningDelta("second")),
        ],
    )
    assert state.reasoning_excerpt == "second"


def test_state_whitespace_reasoning_before_any_is_ignored() -> None:
    state = AnswerState()
    feed(state, [(0, RoundStarted(1, request())), (1, ReasoningDelta("  \n")), (2, TextDelta("x"))])
    assert not state.reasoning_seen
    assert state.reasoning_seconds(now=10) == 0


def test_state_reasoning_only_in_round_finished_counts_as_seen() -> None:
    state = AnswerState()
    feed(state, [(0, RoundStarted(1, request())), (1, RoundFinished(1, "x", "hidden", (), "stop"))])
    assert state.reasoning_seen
    assert state.reasoning_excerpt == "hidden"


def test_state_tool_progress_then_started_then_finished() -> None:
    state = AnswerState()
    c = call()
    feed(state, [(0, RoundStarted(1, request())), (1, ToolCallProgress(0, "calculator"))])
    assert [(t.name, t.status, t.label) for t in state.tools] == [("calculator", "pending", "")]
    feed(state, [(2, RoundFinished(1, "", "", (c,), "tool_calls")), (3, ToolStarted(1, c))])
    (line,) = state.tools
    assert (line.status, line.label, line.call_id, line.started_at) == ("running", "2+2", "c1", 3)
    state.apply(ToolFinished(1, c, "4", "ok", 0.25), 3.3)
    assert (line.status, line.result, line.duration_s) == ("ok", "4", 0.25)
    assert line.finished


def test_state_tool_progress_repeated_index_keeps_one_line() -> None:
    state = AnswerState()
    feed(
        state,
        [
            (0, RoundStarted(1, request())),
            (1, ToolCallProgress(1, "")),
            (1, ToolCallProgress(1, "fetch_url")),
            (1, ToolCallProgress(3, "calculator")),
        ],
    )
    assert [t.name for t in state.tools] == ["fetch_url", "calculator"]


def test_state_round_finished_matches_streamed_lines_by_order() -> None:
    state = AnswerState()
    a, b = call("a", "fetch_url", '{"url": "https://x.org"}'), call("b", "calculator")
    feed(
        state,
        [
            (0, RoundStarted(1, request())),
            (1, ToolCallProgress(5, "fetch_url")),
            (1, ToolCallProgress(9, "calculator")),
            (2, RoundFinished(1, "", "", (a, b), "tool_calls")),
        ],
    )
    assert [(t.call_id, t.label) for t in state.tools] == [("a", "https://x.org"), ("b", "2+2")]


def test_state_round_finished_drops_phantom_progress_lines() -> None:
    state = AnswerState()
    feed(
        state,
        [
            (0, RoundStarted(1, request())),
            (1, ToolCallProgress(0, "calculator")),
            (1, ToolCallProgress(1, "broken")),
            (2, RoundFinished(1, "", "", (call(),), "tool_calls")),
        ],
    )
    assert [t.name for t in state.tools] == ["calculator"]


def test_state_tool_events_without_progress_add_lines() -> None:
    state = AnswerState()
    c1, c2 = call("1"), call("2", "fetch_url", '{"url": "u"}')
    feed(
        state,
        [
            (0, RoundStarted(1, request())),
            (1, ToolStarted(1, c1)),
            (2, ToolFinished(1, c2, "same call a third time", "refused", 0.0)),
        ],
    )
    assert [(t.call_id, t.status) for t in state.tools] == [("1", "running"), ("2", "refused")]


def test_state_tool_same_id_in_two_rounds_are_two_lines() -> None:
    state = AnswerState()
    c = call("dup")
    feed(
        state,
        [
            (0, ToolStarted(1, c)),
            (1, ToolFinished(1, c, "4", "ok", 1)),
            (2, ToolStarted(2, c)),
        ],
    )
    assert [(t.round, t.status) for t in state.tools] == [(1, "ok"), (2, "running")]


@pytest.mark.parametrize(
    ("arguments", "label"),
    [
        ('{"url": "https://example.com"}', "https://example.com"),
        ('{"a": 1, "b": "two"}', "a=1, b=two"),
        ('{"items": [1, 2]}', "[1,2]"),
        ("{}", ""),
        ("", ""),
        ("not json {", "not json {"),
        ("[1, 2]", "[1,2]"),
    ],
)
def test_state_default_label(arguments: str, label: str) -> None:
    state = AnswerState()
    state.apply(ToolStarted(1, call(arguments=arguments)), 0)
    assert state.tools[0].label == label


def test_state_summarize_mapping_used_for_label() -> None:
    def summarize(args: Mapping[str, Any]) -> str:
        return f"expr {args['expression']}"

    state = AnswerState(summarize={"calculator": summarize})
    state.apply(ToolStarted(1, call()), 0)
    assert state.tools[0].label == "expr 2+2"


def test_state_summarize_failure_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    def broken(args: Mapping[str, Any]) -> str:
        raise KeyError("nope")

    state = AnswerState(summarize={"calculator": broken})
    state.apply(ToolStarted(1, call()), 0)
    assert state.tools[0].label == "2+2"
    assert "summarize failed" in caplog.text
