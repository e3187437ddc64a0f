"""Anthropic's Messages API response side, without a network: what `AnthropicDecoder` makes of
streamed events — reasoning, text and tool-use deltas, thinking blocks and signatures kept for
the next turn, usage with cache counted once, stop reasons, error events, unknown events
ignored, malformed block sequences rejected — and of a whole non-streamed message document.
Request bodies are in `test_anthropic_protocol.py`."""

from __future__ import annotations

from typing import Any

import pytest

from bot.errors import LLMBadResponseError
from bot.llm.protocols.anthropic_stream import AnthropicDecoder
from bot.llm.protocols.base import ProviderStreamError
from bot.llm.types import (
    Completion,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallProgress,
    Usage,
)
from tests.fakes.anthropic_scripts import (
    message_events,
    redacted,
    signature_for,
    text,
    thinking,
    tool_use,
)
from tests.llm.anthropic_helpers import MODEL, signed


def decode(events: list[dict[str, Any]]) -> tuple[list[StreamEvent], Completion]:
    decoder = AnthropicDecoder()
    out: list[StreamEvent] = []
    for event in events:
        out += decoder.feed(event)
    assert decoder.ended
    return out, decoder.finish()


# --- decoding ------------------------------------------------------------------------------


def test_anthropic_decoder_thinking_then_text_with_signature() -> None:
    events = message_events([thinking("Let me think."), text("The answer is 4.")], chunk_size=3)
    out, done = decode(events)
    reasoning = "".join(e.text for e in out if isinstance(e, ReasoningDelta))
    shown = "".join(e.text for e in out if isinstance(e, TextDelta))
    assert (reasoning, shown) == ("Let me think.", "The answer is 4.")
    # Reasoning streams before the text, as Anthropic sends it.
    first_text = next(i for i, e in enumerate(out) if isinstance(e, TextDelta))
    assert all(isinstance(e, ReasoningDelta) for e in out[:first_text])
    assert (done.text, done.reasoning, done.finish_reason) == (
        "The answer is 4.",
        "Let me think.",
        "stop",
    )
    assert done.model == "claude-sonnet-4-5-20250929"
    assert done.artefacts == {"thinking_blocks": [signed("Let me think.")]}


def test_anthropic_decoder_keeps_redacted_thinking_in_stream_order() -> None:
    hidden = redacted("EmwKAhgBEgy3va3pzix/LafPsn4a")
    events = message_events([thinking("first"), hidden, thinking("second"), text("ok")])
    _, done = decode(events)
    assert done.artefacts["thinking_blocks"] == [
        signed("first"),
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
        signed("second"),
    ]
    assert done.reasoning == "firstsecond"  # redacted thinking is never shown


def test_anthropic_decoder_signature_split_across_deltas() -> None:
    events = message_events([thinking("hmm"), text("ok")])
    whole = signature_for("hmm")
    split = []
    for event in events:
        if event.get("delta", {}).get("type") == "signature_delta":
            for piece in (whole[:10], whole[10:]):
                delta = {"type": "signature_delta", "signature": piece}
                split.append({**event, "delta": delta})
        else:
            split.append(event)
    _, done = decode(split)
    assert done.artefacts["thinking_blocks"] == [signed("hmm")]


def test_anthropic_decoder_tool_use_progress_and_arguments() -> None:
    events = message_events(
        [
            text("Let me check."),
            tool_use("calculator", {"expression": "2+2"}, "toolu_1"),
            tool_use("clock", {}, "toolu_2"),
        ],
        fragment_size=3,
    )
    out, done = decode(events)
    progress = [e for e in out if isinstance(e, ToolCallProgress)]
    assert progress == [ToolCallProgress(0, "calculator"), ToolCallProgress(1, "clock")]
    assert done.tool_calls == (
        ToolCall("toolu_1", "calculator", '{"expression": "2+2"}'),
        ToolCall("toolu_2", "clock", "{}"),
    )
    assert done.finish_reason == "tool_calls"
    assert done.artefacts == {}  # no thinking: nothing to send back


def test_anthropic_decoder_empty_tool_input_is_an_empty_object() -> None:
    decoder = AnthropicDecoder()
    start = {"type": "tool_use", "id": "toolu_1", "name": "clock", "input": {}}
    decoder.feed({"type": "content_block_start", "index": 0, "content_block": start})
    decoder.feed({"type": "content_block_stop", "index": 0})
    assert decoder.finish().tool_calls == (ToolCall("toolu_1", "clock", "{}"),)


@pytest.mark.parametrize("style", ["output", "cumulative"])
def test_anthropic_decoder_usage_counts_cache_once(style: str) -> None:
    events = message_events(
        [thinking("t" * 40), text("done")],
        input_tokens=100,
        cache_read=2000,
        cache_write=300,
        output_tokens=70,
        thinking_tokens=50,
        delta_usage=style,  # type: ignore[arg-type]
    )
    _, done = decode(events)
    assert done.usage == Usage(
        prompt_tokens=2400,
        completion_tokens=70,
        cached_tokens=2000,
        reasoning_tokens=50,
        cache_write_tokens=300,
    )


def test_anthropic_decoder_without_usage_reports_none() -> None:
    events = [e for e in message_events([text("hi")]) if e["type"] != "message_delta"]
    for event in events:
        if event["type"] == "message_start":
            del event["message"]["usage"]
    _, done = decode(events)
    assert done.usage is None  # the loop then estimates


@pytest.mark.parametrize(
    ("stop_reason", "expected"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("refusal", "content_filter"),
        ("pause_turn", "other"),
        ("something_new", "other"),
    ],
)
def test_anthropic_decoder_maps_stop_reasons(stop_reason: str, expected: str) -> None:
    _, done = decode(message_events([text("x")], stop_reason=stop_reason))
    assert done.finish_reason == expected


def test_anthropic_decoder_ended_only_by_message_stop() -> None:
    decoder = AnthropicDecoder()
    events = message_events([text("x")])
    seen = []
    for event in events:
        decoder.feed(event)
        seen.append(decoder.ended)
    assert seen == [False] * (len(events) - 1) + [True]
    assert decoder.chunks == len(events)


def test_anthropic_decoder_error_event_raises_provider_error() -> None:
    decoder = AnthropicDecoder()
    decoder.feed(message_events([text("x")])[0])
    error = {"type": "overloaded_error", "message": "Overloaded"}
    with pytest.raises(ProviderStreamError) as caught:
        decoder.feed({"type": "error", "error": error})
    assert caught.value.error == error


def test_anthropic_decoder_ignores_unknown_events_blocks_and_deltas() -> None:
    decoder = AnthropicDecoder()
    decoder.feed(message_events([text("x")])[0])
    server_tool = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search"}
    citation = {"type": "citations_delta", "citation": {"type": "char_location"}}
    events: list[dict[str, Any]] = [
        {"type": "ping"},
        {"type": "some_future_event", "payload": 1},
        {"type": "content_block_start", "index": 0, "content_block": server_tool},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '{"q":'},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": citation},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "ok"}},
        {"type": "content_block_stop", "index": 1},
    ]
    for event in events:
        decoder.feed(event)
    done = decoder.finish()
    assert (done.text, done.tool_calls) == ("ok", ())


_TEXT_START = {
    "type": "content_block_start",
    "index": 0,
    "content_block": {"type": "text", "text": ""},
}
_TEXT_DELTA = {
    "type": "content_block_delta",
    "index": 0,
    "delta": {"type": "text_delta", "text": "a"},
}
_STOP = {"type": "content_block_stop", "index": 0}


@pytest.mark.parametrize(
    ("events", "detail"),
    [
        ([_TEXT_DELTA], "never started"),
        ([_TEXT_START, _STOP, _TEXT_DELTA], "after its content_block_stop"),
        ([_STOP], "never started"),
        ([_TEXT_START, _STOP, _STOP], "already stopped"),
        ([_TEXT_START, _TEXT_START], "already started"),
        (
            [
                _TEXT_START,
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "thinking_delta", "thinking": "x"},
                },
            ],
            "thinking_delta for a text block",
        ),
        (
            [_TEXT_START, {"type": "content_block_delta", "index": 0, "delta": "text"}],
            "without a delta object",
        ),
        ([{"type": "content_block_start", "index": "0", "content_block": {}}], "block index"),
        ([{"type": "content_block_delta", "delta": {"type": "text_delta"}}], "never started"),
    ],
    ids=[
        "delta-unknown-index",
        "delta-after-stop",
        "stop-unknown-index",
        "stop-twice",
        "start-twice",
        "wrong-delta-type",
        "delta-not-object",
        "index-not-int",
        "index-missing",
    ],
)
def test_anthropic_decoder_malformed_block_is_bad_response(
    events: list[dict[str, Any]], detail: str
) -> None:
    decoder = AnthropicDecoder()
    with pytest.raises(LLMBadResponseError) as caught:
        for event in events:
            decoder.feed(event)
    assert detail in (caught.value.detail or "")
    assert caught.value.detail and caught.value.detail.startswith("malformed Anthropic stream")


def test_anthropic_decoder_whole_message_document() -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [
            signed("quiet thought"),
            {"type": "text", "text": "Calling."},
            {"type": "tool_use", "id": "toolu_1", "name": "echo", "input": {"x": 1}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 4},
    }
    decoder = AnthropicDecoder()
    out = decoder.feed(message)
    done = decoder.finish()
    assert decoder.ended
    assert [type(e) for e in out] == [ReasoningDelta, TextDelta, ToolCallProgress]
    assert (done.text, done.reasoning) == ("Calling.", "quiet thought")
    assert done.tool_calls == (ToolCall("toolu_1", "echo", '{"x": 1}'),)
    assert done.artefacts == {"thinking_blocks": [signed("quiet thought")]}
    assert done.usage == Usage(prompt_tokens=14, completion_tokens=5, cached_tokens=4)
