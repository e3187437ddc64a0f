"""`ResponsesDecoder` on streams that go wrong: `response.failed` and `error` events raise a
`ProviderStreamError` carrying the provider's error, and malformed events (unknown item ids,
wrongly typed fields, a completion without a response) raise `LLMBadResponseError`."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.errors import LLMBadResponseError
from bot.llm.protocols.base import ProviderStreamError
from bot.llm.protocols.responses_stream import ResponsesDecoder
from tests.fakes.responses_scripts import (
    ResponseStream,
    responses_error_event,
    responses_failed,
    responses_tool_calls,
)
from tests.llm.responses_helpers import decode


def test_decoder_response_failed_raises_the_provider_error() -> None:
    script = responses_failed(code="server_error", message="boom", after_text="partial")

    with pytest.raises(ProviderStreamError) as caught:
        decode(script.events)

    assert caught.value.error == {"code": "server_error", "message": "boom"}


def test_decoder_error_event_raises_the_event() -> None:
    script = responses_error_event(code="rate_limit_exceeded", message="slow down")

    with pytest.raises(ProviderStreamError) as caught:
        decode(script.events)

    assert caught.value.error["code"] == "rate_limit_exceeded"
    assert caught.value.error["message"] == "slow down"


def test_decoder_error_event_with_a_nested_error_raises_that_error() -> None:
    nested = {"type": "invalid_request_error", "code": "bad", "message": "nope"}

    with pytest.raises(ProviderStreamError) as caught:
        ResponsesDecoder().feed({"type": "error", "error": nested})

    assert caught.value.error == nested


def test_decoder_failed_without_error_object_still_raises() -> None:
    stream = ResponseStream()
    stream.emit("response.failed", response=stream.response("failed", []))

    with pytest.raises(ProviderStreamError) as caught:
        decode(stream.events)

    assert "without an error object" in caught.value.error["message"]


def _first(events: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(e for e in events if e["type"] == kind)


def _malformed(case: str) -> list[dict[str, Any]]:
    events = copy.deepcopy(responses_tool_calls([("echo", {})], text="Hi", reasoning="R").events)
    if case == "text for an unknown item":
        _first(events, "response.output_text.delta")["item_id"] = "msg_unknown"
    elif case == "reasoning for an unknown item":
        _first(events, "response.reasoning_summary_text.delta")["item_id"] = "rs_unknown"
    elif case == "arguments for an unknown call":
        _first(events, "response.function_call_arguments.delta")["item_id"] = "fc_unknown"
    elif case == "added item not an object":
        _first(events, "response.output_item.added")["item"] = "rs_1"
    elif case == "done item not an object":
        _first(events, "response.output_item.done")["item"] = None
    elif case == "text delta not a string":
        _first(events, "response.output_text.delta")["delta"] = 5
    elif case == "reasoning delta not a string":
        _first(events, "response.reasoning_summary_text.delta")["delta"] = ["x"]
    elif case == "call name not a string":
        added = [e for e in events if e["type"] == "response.output_item.added"]
        added[-1]["item"]["name"] = {"n": 1}
    elif case == "completed without a response":
        events[-1]["response"] = "done"
    elif case == "output item not an object":
        events[-1]["response"]["output"] = [7]
    return events


@pytest.mark.parametrize(
    "case",
    [
        "text for an unknown item",
        "reasoning for an unknown item",
        "arguments for an unknown call",
        "added item not an object",
        "done item not an object",
        "text delta not a string",
        "reasoning delta not a string",
        "call name not a string",
        "completed without a response",
        "output item not an object",
    ],
)
def test_decoder_malformed_event_is_a_bad_response(case: str) -> None:
    with pytest.raises(LLMBadResponseError) as caught:
        decode(_malformed(case))

    assert caught.value.detail is not None and caught.value.detail.startswith("responses stream:")
