"""What the chat-completions decoder keeps for the provider, shows as the answer, or moves
to reasoning: artefacts, refusals and inline thinking."""

from __future__ import annotations

from typing import Any

from bot.llm.accumulate import StreamAccumulator
from bot.llm.types import ReasoningDelta, TextDelta, TextWasReasoning


def delta(d: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"model": "m", "choices": [{"index": 0, "delta": d, "finish_reason": finish}]}


def feed(acc: StreamAccumulator, *chunks: dict[str, Any]) -> list[object]:
    events: list[object] = []
    for c in chunks:
        events += acc.feed(c)
    return events


def test_accumulate_keeps_reasoning_content_exactly_for_the_provider() -> None:
    acc = StreamAccumulator()
    feed(
        acc,
        delta({"role": "assistant", "content": None, "reasoning_content": "Need the "}),
        delta({"reasoning_content": "weather.\n"}),
        delta(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": "{}"},
                    }
                ]
            },
            "tool_calls",
        ),
    )
    done = acc.finish()
    assert done.artefacts == {"reasoning_content": "Need the weather.\n"}
    assert done.reasoning == "Need the weather.\n"


def test_accumulate_plain_reasoning_field_is_shown_but_not_sent_back() -> None:
    acc = StreamAccumulator()
    events = feed(acc, delta({"reasoning": "hmm"}), delta({"content": "ok"}, "stop"))
    assert events == [ReasoningDelta("hmm"), TextDelta("ok")]
    assert acc.finish().artefacts == {}


def test_accumulate_merges_openrouter_reasoning_details_by_index() -> None:
    acc = StreamAccumulator()
    events = feed(
        acc,
        delta(
            {
                "reasoning": "Let",
                "reasoning_details": [
                    {"type": "reasoning.text", "text": "Let", "format": "anthropic-claude-v1",
                     "index": 0, "signature": None}
                ],
            }
        ),
        delta(
            {
                "reasoning": " me",
                "reasoning_details": [{"type": "reasoning.text", "text": " me", "index": 0}],
            }
        ),
        delta({"reasoning_details": [
            {"type": "reasoning.text", "signature": "sig==", "index": 0}
        ]}),
        delta({"reasoning_details": [{"type": "reasoning.encrypted", "data": "xyz", "index": 1}]}),
        delta({"content": "Hi"}, "stop"),
    )  # fmt: skip
    done = acc.finish()
    assert done.artefacts == {
        "reasoning_details": [
            {"type": "reasoning.text", "text": "Let me", "format": "anthropic-claude-v1",
             "index": 0, "signature": "sig=="},
            {"type": "reasoning.encrypted", "data": "xyz", "index": 1},
        ]
    }  # fmt: skip
    # Shown once, from `reasoning`, not again from the details.
    assert [e for e in events if isinstance(e, ReasoningDelta)] == [
        ReasoningDelta("Let"),
        ReasoningDelta(" me"),
    ]


def test_accumulate_shows_reasoning_details_when_they_are_all_there_is() -> None:
    acc = StreamAccumulator()
    events = feed(
        acc,
        delta(
            {"reasoning_details": [{"type": "reasoning.summary", "summary": "Plan", "index": 0}]}
        ),
        delta({"content": "Done"}, "stop"),
    )
    assert events == [ReasoningDelta("Plan"), TextDelta("Done")]


def test_accumulate_keeps_gemini_thought_signatures_on_their_calls() -> None:
    signature = {"google": {"thought_signature": "c2lnbmF0dXJl"}}
    acc = StreamAccumulator()
    feed(
        acc,
        delta(
            {
                "tool_calls": [
                    {"index": 0, "id": "a", "type": "function", "extra_content": signature,
                     "function": {"name": "f", "arguments": "{\"x\":1}"}},
                    {"index": 0, "id": "b", "type": "function",
                     "function": {"name": "g", "arguments": "{}"}},
                ]
            },
            "tool_calls",
        ),
    )  # fmt: skip
    calls = acc.finish().tool_calls
    assert [(c.id, c.extra) for c in calls] == [("a", {"extra_content": signature}), ("b", None)]
    assert calls[0].to_wire()["extra_content"] == signature


def test_accumulate_refusal_is_the_answer() -> None:
    acc = StreamAccumulator()
    events = feed(
        acc,
        delta({"role": "assistant", "content": None, "refusal": ""}),
        delta({"refusal": "I can't help with that."}),
        delta({}, "stop"),
    )
    done = acc.finish()
    assert events == [TextDelta("I can't help with that.")]
    assert (done.text, done.refusal) == ("I can't help with that.", True)


def test_accumulate_inline_think_tags_become_reasoning() -> None:
    acc = StreamAccumulator()
    events = feed(
        acc,
        delta({"content": "<thi"}),
        delta({"content": "nk>weighing it</th"}),
        delta({"content": "ink>\n\nYes."}, "stop"),
    )
    done = acc.finish()
    assert (done.text, done.reasoning) == ("Yes.", "weighing it")
    assert events == [ReasoningDelta("weighing it"), TextDelta("Yes.")]


def test_accumulate_r1_closing_tag_moves_the_shown_text_to_reasoning() -> None:
    acc = StreamAccumulator()
    events = feed(
        acc,
        delta({"content": "First, "}),
        delta({"content": "check.</think>"}),
        delta({"content": "\n\nIt is 4."}, "stop"),
    )
    done = acc.finish()
    assert (done.text, done.reasoning) == ("It is 4.", "First, check.")
    assert events == [
        TextDelta("First, "),
        TextWasReasoning(),
        ReasoningDelta("check."),
        TextDelta("It is 4."),
    ]


def test_accumulate_think_tags_can_be_switched_off() -> None:
    acc = StreamAccumulator(think_tags=False)
    feed(acc, delta({"content": "<think>literal</think> tags"}, "stop"))
    assert acc.finish().text == "<think>literal</think> tags"
