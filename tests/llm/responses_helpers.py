"""Shared helpers for the Responses decoder tests: feed documented event shapes to a fresh
`ResponsesDecoder` and collect what it emits, or the completion it ends with."""

from __future__ import annotations

import copy
from typing import Any

from bot.llm.protocols.responses_stream import ResponsesDecoder
from bot.llm.types import Completion, StreamEvent


def decode(events: list[dict[str, Any]]) -> tuple[list[StreamEvent], ResponsesDecoder]:
    decoder = ResponsesDecoder()
    out: list[StreamEvent] = []
    for event in events:
        out.extend(decoder.feed(copy.deepcopy(event)))
    return out, decoder


def completion(events: list[dict[str, Any]]) -> Completion:
    _, decoder = decode(events)
    assert decoder.ended
    return decoder.finish()
