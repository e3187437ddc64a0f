"""`ResponsesDecoder` fed the documented event shapes of a successful stream: text, reasoning
summaries and raw reasoning, reasoning artefacts kept as received, function calls, refusals,
incomplete responses and their finish reasons, usage counting, unknown events, and items that
only arrive in the final output or as a whole response object (including a recorded stream).
Failed responses, error events and malformed events are in `test_responses_stream_errors.py`."""

from __future__ import annotations

import copy
import json

import pytest

from bot.llm.protocols.responses_stream import ResponsesDecoder
from bot.llm.protocols.responses_usage import parse_responses_usage
from bot.llm.sse import SSEDecoder
from bot.llm.types import ReasoningDelta, TextDelta, ToolCall, ToolCallProgress, Usage
from tests.fakes.responses_scripts import (
    ResponseStream,
    make_responses_recorded_stream,
    responses_incomplete,
    responses_refusal,
    responses_text,
    responses_tool_calls,
)
from tests.llm.responses_helpers import completion, decode


def test_decoder_text_stream_gives_deltas_and_a_stop_completion() -> None:
    script = responses_text("Hello there", chunk_size=4, model="gpt-4.1-mini")

    events, decoder = decode(script.events)
    done = decoder.finish()

    assert [e for e in events if isinstance(e, TextDelta)] == [
        TextDelta("Hell"),
        TextDelta("o th"),
        TextDelta("ere"),
    ]
    assert decoder.ended and decoder.chunks == len(script.events)
    assert done.text == "Hello there" and done.reasoning == "" and done.tool_calls == ()
    assert done.finish_reason == "stop" and done.model == "gpt-4.1-mini"
    assert done.artefacts == {} and not done.refusal


def test_decoder_separates_reasoning_summary_parts_with_a_blank_line() -> None:
    script = responses_text("Answer.", reasoning=["First part.", "Second part."], chunk_size=5)

    events, decoder = decode(script.events)
    done = decoder.finish()

    reasoning = [e.text for e in events if isinstance(e, ReasoningDelta)]
    assert "".join(reasoning) == "First part.\n\nSecond part." == done.reasoning
    assert reasoning[0] == "First" and events.index(ReasoningDelta("First")) == 0
    # Reasoning comes before the answer, as streamed.
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert all(isinstance(e, ReasoningDelta) for e in events[:first_text])


def test_decoder_streams_raw_reasoning_text() -> None:
    stream = ResponseStream("gpt-oss-120b", chunk_size=6)
    stream.reasoning(text="Raw chain of thought.")
    stream.message("Answer.")

    done = completion(stream.completed().events)

    assert done.reasoning == "Raw chain of thought."
    assert done.artefacts["reasoning_items"][0]["content"] == [
        {"type": "reasoning_text", "text": "Raw chain of thought."}
    ]


def test_decoder_keeps_final_reasoning_items_exactly_as_received() -> None:
    script = responses_tool_calls([("echo", {"a": 1})], reasoning=["Plan."], text="Checking.")
    final_reasoning = [i for i in script.output if i["type"] == "reasoning"]

    done = completion(script.events)

    assert done.artefacts == {"reasoning_items": final_reasoning}
    item = done.artefacts["reasoning_items"][0]
    assert item["id"].startswith("rs_") and item["encrypted_content"].startswith("gAAAA")


def test_decoder_without_encrypted_reasoning_keeps_no_artefacts() -> None:
    stream = ResponseStream("o4-mini")
    stream.reasoning(["Plan."], encrypted=False)
    stream.message("Hi.")

    done = completion(stream.completed().events)

    assert done.reasoning == "Plan." and done.artefacts == {}


def test_decoder_function_calls_report_progress_and_final_arguments() -> None:
    script = responses_tool_calls(
        [("echo", {"a": 1}), ("lookup", '{"q": "x"}')], reasoning=None, fragment_size=3
    )

    events, decoder = decode(script.events)
    done = decoder.finish()

    assert [e for e in events if isinstance(e, ToolCallProgress)] == [
        ToolCallProgress(0, "echo"),
        ToolCallProgress(1, "lookup"),
    ]
    calls = [i for i in script.output if i["type"] == "function_call"]
    assert done.tool_calls == (
        ToolCall(calls[0]["call_id"], "echo", '{"a": 1}'),
        ToolCall(calls[1]["call_id"], "lookup", '{"q": "x"}'),
    )
    assert done.finish_reason == "tool_calls"


def test_decoder_final_call_item_wins_over_its_argument_deltas() -> None:
    stream = ResponseStream("o4-mini")
    stream.function_call("echo", {"a": 1})
    events = stream.completed().events
    for event in events:
        if event["type"] == "response.function_call_arguments.delta":
            event["delta"] = "garbage"
        if event["type"] == "response.function_call_arguments.done":
            event["arguments"] = "garbage"

    done = completion(events)

    assert done.tool_calls[0].arguments == '{"a": 1}'


def test_decoder_routes_argument_deltas_of_a_call_item_without_id_by_output_index() -> None:
    stream = ResponseStream("gpt-4.1")
    stream.function_call("echo", {"a": 1})
    events = [
        e for e in stream.completed().events if e["type"] != "response.function_call_arguments.done"
    ]
    for event in events:
        item = event.get("item")
        if isinstance(item, dict):
            item.pop("id")
        if event["type"] == "response.function_call_arguments.delta":
            event["item_id"] = "item_without_id"
        if event["type"] == "response.output_item.done":
            del event["item"]["arguments"]  # only the deltas carry them here
        if event["type"] == "response.completed":
            event["response"]["output"] = []

    done = completion(events)

    assert done.tool_calls[0].arguments == '{"a": 1}'


def test_decoder_refusal_is_the_text_and_flagged() -> None:
    script = responses_refusal("I can't help with that.")

    events, decoder = decode(script.events)
    done = decoder.finish()

    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == done.text
    assert done.text == "I can't help with that." and done.refusal
    assert done.finish_reason == "stop"


@pytest.mark.parametrize(
    ("reason", "finish"),
    [("max_output_tokens", "length"), ("content_filter", "content_filter"), ("other", "other")],
)
def test_decoder_incomplete_response_ends_with_its_reason(reason: str, finish: str) -> None:
    script = responses_incomplete("The answer was cu", reason=reason)

    done = completion(script.events)

    assert done.finish_reason == finish and done.text == "The answer was cu"
    assert done.usage is not None and done.usage.prompt_tokens == 1200


def test_decoder_counts_usage_inclusively_and_once() -> None:
    done = completion(responses_text("hi").events)

    assert done.usage == Usage(
        prompt_tokens=1200, completion_tokens=300, cached_tokens=1024, reasoning_tokens=200
    )


def test_usage_parser_reads_cache_writes_and_widens_exclusive_counts() -> None:
    written = parse_responses_usage(
        {
            "input_tokens": 2000,
            "input_tokens_details": {"cached_tokens": 500, "cache_write_tokens": 1000},
            "output_tokens": 50,
            "output_tokens_details": {"reasoning_tokens": 0},
        }
    )
    exclusive = parse_responses_usage(
        {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 90},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 40},
        }
    )

    assert written == Usage(2000, 50, cached_tokens=500, cache_write_tokens=1000)
    assert exclusive.prompt_tokens == 90 and exclusive.completion_tokens == 40
    assert parse_responses_usage({}) == Usage()


def test_decoder_completed_without_usage_has_none() -> None:
    done = completion(responses_text("hi", usage=None).events)

    assert done.usage is None


def test_decoder_is_not_ended_before_its_terminal_event() -> None:
    events = responses_text("hi").events

    _, decoder = decode(events[:-1])

    assert not decoder.ended
    assert decoder.finish().finish_reason == "other" and decoder.finish().text == "hi"


def test_decoder_ignores_unknown_events() -> None:
    decoder = ResponsesDecoder()

    assert decoder.feed({"type": "response.web_search_call.searching", "item_id": "ws"}) == ()
    assert decoder.feed({"type": "keepalive"}) == ()
    assert decoder.feed({"no_type": True}) == ()
    assert decoder.chunks == 3 and not decoder.ended


def test_decoder_takes_items_the_stream_skipped_from_the_final_output() -> None:
    script = responses_tool_calls([("echo", {"a": 1})], reasoning="Plan.", text="Checking.")
    kept = [e for e in script.events if e["type"] in ("response.created", "response.completed")]

    events, decoder = decode(kept)
    done = decoder.finish()

    assert done.text == "Checking." and done.reasoning == "Plan."
    assert [c.name for c in done.tool_calls] == ["echo"] and done.finish_reason == "tool_calls"
    assert done.artefacts["reasoning_items"] == [
        i for i in script.output if i["type"] == "reasoning"
    ]
    assert [type(e).__name__ for e in events] == [
        "ReasoningDelta",
        "TextDelta",
        "ToolCallProgress",
    ]


def test_decoder_shows_a_message_that_arrives_only_as_a_finished_item_once() -> None:
    script = responses_text("Sent whole.", chunk_size=4)
    kept = [
        e
        for e in script.events
        if not e["type"].startswith(("response.output_text", "response.content_part"))
        and not (e["type"] == "response.output_item.added" and e["item"]["type"] == "message")
    ]

    events, decoder = decode(kept)

    assert events == [TextDelta("Sent whole.")] and decoder.finish().text == "Sent whole."


def test_decoder_whole_response_object_is_decoded_as_the_end() -> None:
    script = responses_text("Whole answer.", reasoning="Plan.", model="o4-mini")
    whole = script.events[-1]["response"]

    decoder = ResponsesDecoder()
    events = decoder.feed(copy.deepcopy(whole))
    done = decoder.finish()

    assert decoder.ended and done.text == "Whole answer." and done.reasoning == "Plan."
    assert [type(e) for e in events] == [ReasoningDelta, TextDelta]
    assert done.usage is not None and done.usage.cached_tokens == 1024


def test_decoder_reads_the_recorded_benchmark_stream() -> None:
    raw = make_responses_recorded_stream(400)
    sse = SSEDecoder()

    decoder = ResponsesDecoder()
    for payload in sse.feed(raw):
        decoder.feed(json.loads(payload))
    done = decoder.finish()

    assert decoder.chunks == 400 and decoder.ended
    assert done.tool_calls[0].name == "calculator"
    assert json.loads(done.tool_calls[0].arguments)["expression"].startswith("1+1+")
    assert done.text and done.reasoning and done.artefacts["reasoning_items"]
