"""StreamAccumulator: chunk dicts → events and the final Completion."""

from __future__ import annotations

from typing import Any

import pytest

from bot.llm.accumulate import StreamAccumulator, map_finish_reason
from bot.llm.types import ReasoningDelta, TextDelta, ToolCallProgress, Usage


def delta(d: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"model": "m", "choices": [{"index": 0, "delta": d, "finish_reason": finish}]}


def run(*chunks: dict[str, Any]) -> tuple[list[object], StreamAccumulator]:
    acc = StreamAccumulator()
    events: list[object] = []
    for c in chunks:
        events += acc.feed(c)
    return events, acc


def test_accumulate_text_and_reasoning_events_in_order() -> None:
    events, acc = run(
        delta({"role": "assistant", "content": ""}),
        delta({"reasoning_content": "think "}),
        delta({"reasoning": "more", "reasoning_details": [{"type": "reasoning.text"}]}),
        delta({"content": "Hi"}),
        delta({"content": "!"}, "stop"),
    )
    assert events == [
        ReasoningDelta("think "),
        ReasoningDelta("more"),
        TextDelta("Hi"),
        TextDelta("!"),
    ]
    done = acc.finish()
    assert (done.text, done.reasoning, done.finish_reason, done.model) == (
        "Hi!",
        "think more",
        "stop",
        "m",
    )


def test_accumulate_mistral_content_parts_split_thinking_and_text() -> None:
    events, _acc = run(
        delta({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "hm"}]}]}),
        delta({"content": [{"type": "text", "text": "ok"}]}),
    )
    assert events == [ReasoningDelta("hm"), TextDelta("ok")]


def test_accumulate_index_fragments_with_progress_once() -> None:
    events, acc = run(
        delta(
            {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": ""}}]}
        ),
        delta({"tool_calls": [{"index": 0, "function": {"arguments": '{"x"'}}]}),
        delta({"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g"}}]}),
        delta({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": ": 1}"}}]}),
        delta({}, "tool_calls"),
    )
    assert events == [ToolCallProgress(0, "f"), ToolCallProgress(1, "g")]
    calls = acc.finish().tool_calls
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("a", "f", '{"x": 1}'),
        ("b", "g", "{}"),
    ]


def test_accumulate_out_of_order_indices_sorted_by_index() -> None:
    _, acc = run(
        delta({"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g"}}]}),
        delta({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f"}}]}),
    )
    assert [c.id for c in acc.finish().tool_calls] == ["a", "b"]


def test_accumulate_id_arriving_after_index_is_attached() -> None:
    _, acc = run(
        delta({"tool_calls": [{"index": 0, "function": {"name": "f"}}]}),
        delta({"tool_calls": [{"index": 0, "id": "late", "function": {"arguments": "{}"}}]}),
    )
    assert [(c.id, c.name) for c in acc.finish().tool_calls] == [("late", "f")]


def test_accumulate_anonymous_calls_split_by_name() -> None:
    _, acc = run(
        delta({"tool_calls": [{"function": {"name": "f", "arguments": '{"a":'}}]}),
        delta({"tool_calls": [{"function": {"arguments": "1}"}}]}),
        delta({"tool_calls": [{"function": {"name": "f", "arguments": '{"a":2}'}}]}),
    )
    calls = acc.finish().tool_calls
    assert [(c.name, c.arguments) for c in calls] == [("f", '{"a":1}'), ("f", '{"a":2}')]
    assert all(c.id.startswith("call_") for c in calls)
    assert calls[0].id != calls[1].id


def test_accumulate_repeated_name_on_unfinished_anonymous_call_continues_it() -> None:
    _, acc = run(
        delta({"tool_calls": [{"function": {"name": "f", "arguments": '{"a":'}}]}),
        delta({"tool_calls": [{"function": {"name": "f", "arguments": "1}"}}]}),
    )
    assert [c.arguments for c in acc.finish().tool_calls] == ['{"a":1}']


def test_accumulate_arguments_object_is_stringified() -> None:
    _, acc = run(
        delta({"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": {"q": "é"}}}]})
    )
    assert acc.finish().tool_calls[0].arguments == '{"q":"é"}'


def test_accumulate_usage_sources_last_wins() -> None:
    _, acc = run(
        {**delta({"content": "x"}), "x_groq": {"id": "r"}},
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {},
                    "finish_reason": "stop",
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1},
                }
            ]
        },
    )
    assert acc.usage == Usage(1, 1)
    _, acc = run({**delta({}, "stop"), "x_groq": {"usage": {"prompt_tokens": 3}}})
    assert acc.usage == Usage(3, 0)
    _, acc = run(delta({"content": "x"}), {"choices": [], "usage": {"prompt_tokens": 9}})
    assert acc.usage == Usage(9, 0)


def test_accumulate_ignores_malformed_pieces() -> None:
    events, acc = run(
        {"choices": None},
        {"choices": ["nope"]},
        {"choices": [{"delta": None}]},
        delta({"content": None, "reasoning": {"odd": 1}, "tool_calls": ["x", {"function": 3}]}),
    )
    assert events == []
    done = acc.finish()
    assert (done.text, done.tool_calls, done.usage) == ("", (), None)


@pytest.mark.parametrize(
    ("raw", "calls", "expected"),
    [
        ("stop", False, "stop"),
        ("stop", True, "tool_calls"),
        ("tool_calls", True, "tool_calls"),
        ("length", True, "length"),
        ("MAX_TOKENS", False, "length"),
        ("content_filter", False, "content_filter"),
        ("weird", False, "other"),
        (None, False, "stop"),
        (None, True, "tool_calls"),
    ],
)
def test_accumulate_finish_reason_mapping(raw: str | None, calls: bool, expected: str) -> None:
    assert map_finish_reason(raw, calls) == expected
