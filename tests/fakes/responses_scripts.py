"""Scripted answers for `FakeResponsesServer`: streams in the Responses API's documented shapes.

Every stream is a list of semantic events, each written as `event: <type>` + `data: <json>`
like OpenAI does, numbered by `sequence_number`, with unique item ids across the process:

    response.created → response.in_progress
    → per output item: response.output_item.added → its parts and deltas → output_item.done
    → response.completed | response.incomplete | response.failed    (or an `error` event)

Builders (a `ResponsesScripted`: a `Scripted` that also keeps its `events` as dicts, for
decoding tests without HTTP, and its final `output` items, which the fake registers as issued
so it can check what comes back):

    responses_text("hi", reasoning=["part one", "part two"], model="o4-mini")
    responses_text("It rained [1].", searched="weather", cites=[("Forecast", "https://...")])
        # the hosted web_search tool: a web_search_call item, then the message with
        # url_citation annotations (response.output_text.annotation.added events)
    responses_tool_calls([("echo", {"a": 1})], reasoning="thinking", text="Let me check.")
    responses_refusal("I can't help with that.")
    responses_incomplete("cut her", reason="max_output_tokens" | "content_filter")
    responses_failed(code="server_error", after_text="")        # response.failed
    responses_error_event(code="rate_limit_exceeded", after_text="")   # an `error` event
    ResponseStream(model)  # the builder itself (tests/fakes/responses_stream.py)

`make_responses_recorded_stream(n_events)` is a realistic ~n-event stream for benchmarks
(reasoning summary, text, one function call with argument deltas, usage). No pytest imports.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

from tests.fakes.llm_scripts import RECORDED_WORDS
from tests.fakes.responses_stream import (
    DEFAULT_MODEL,
    DEFAULT_USAGE,
    REASONING_MODEL,
    ResponsesScripted,
    ResponseStream,
    encrypted_for,
    new_id,
)


def _summary(reasoning: str | Sequence[str]) -> Sequence[str]:
    return (reasoning,) if isinstance(reasoning, str) else reasoning


def responses_text(
    text: str = "Hello from the fake model.",
    *,
    reasoning: str | Sequence[str] = (),
    model: str = DEFAULT_MODEL,
    chunk_size: int = 8,
    usage: dict[str, Any] | None = DEFAULT_USAGE,
    delay: float = 0.0,
    searched: str = "",
    cites: Sequence[tuple[str, str]] = (),
) -> ResponsesScripted:
    """A text answer, preceded by a reasoning item when `reasoning` summary parts are given
    and by a hosted web search when `searched` names its query; `cites` annotate the text."""
    stream = ResponseStream(model, chunk_size=chunk_size)
    if reasoning:
        stream.reasoning(_summary(reasoning))
    if searched:
        stream.web_search_call(searched)
    stream.message(text, cites=cites)
    answer = stream.completed(usage)
    answer.delay = delay
    return answer


def responses_tool_calls(
    calls: Sequence[tuple[str, Any]],
    *,
    reasoning: str | Sequence[str] | None = "I should use a tool.",
    text: str = "",
    model: str = REASONING_MODEL,
    fragment_size: int = 5,
    usage: dict[str, Any] | None = DEFAULT_USAGE,
) -> ResponsesScripted:
    """Function calls (arguments: a dict or raw JSON text), after reasoning and text."""
    stream = ResponseStream(model)
    if reasoning is not None:
        stream.reasoning(_summary(reasoning))
    if text:
        stream.message(text)
    for name, arguments in calls:
        stream.function_call(name, arguments, fragment_size=fragment_size)
    return stream.completed(usage)


def responses_refusal(
    text: str = "I'm sorry, but I can't help with that.", *, model: str = DEFAULT_MODEL
) -> ResponsesScripted:
    stream = ResponseStream(model)
    stream.refusal(text)
    return stream.completed()


def responses_incomplete(
    text: str = "The answer was cut",
    *,
    reason: str = "max_output_tokens",
    reasoning: str | Sequence[str] = (),
    model: str = DEFAULT_MODEL,
    usage: dict[str, Any] | None = DEFAULT_USAGE,
) -> ResponsesScripted:
    stream = ResponseStream(model)
    if reasoning:
        stream.reasoning(_summary(reasoning))
    if text:
        stream.message(text)
    return stream.incomplete(reason, usage)


def responses_failed(
    *,
    code: str = "server_error",
    message: str = "The server had an error while processing your request.",
    after_text: str = "",
    model: str = DEFAULT_MODEL,
) -> ResponsesScripted:
    """`response.failed`, after streaming `after_text` (nothing by default)."""
    stream = ResponseStream(model)
    if after_text:
        stream.message(after_text)
    return stream.failed(code, message)


def responses_error_event(
    *,
    code: str | None = "server_error",
    message: str = "An error occurred while processing your request.",
    after_text: str = "",
    model: str = DEFAULT_MODEL,
) -> ResponsesScripted:
    """An `error` event ending the stream, after streaming `after_text` (nothing by default)."""
    stream = ResponseStream(model)
    if after_text:
        stream.message(after_text)
    return stream.error(code, message)


def make_responses_recorded_stream(n_events: int, *, model: str = "o4-mini-2025-04-16") -> bytes:
    """A realistic Responses SSE stream of about `n_events` events.

    A reasoning item whose summary arrives in ~20% of the events, a message in ~65%, then a
    function call whose arguments arrive in fragments, each item with its added/part/done
    events, and `response.completed` carrying the whole output and usage, as OpenAI sends it.
    Written directly as text: 100,000 events are not kept as dicts.
    """
    fixed = 16  # created, in_progress, the items' added/part/done events, completed
    body = max(n_events - fixed, 4)
    n_summary = max(body // 5, 1)
    n_text = max(body * 65 // 100, 1)
    n_args = max(body - n_summary - n_text, 2)
    words = RECORDED_WORDS
    skeleton = ResponseStream(model)  # for the response object and its id
    dumps = json.dumps
    out: list[str] = []
    seq = itertools.count()

    def emit(kind: str, **fields: Any) -> None:
        event = {"type": kind, "sequence_number": next(seq), **fields}
        out.append(f"event: {kind}\ndata: {dumps(event)}\n\n")

    emit("response.created", response=skeleton.response("in_progress", []))
    emit("response.in_progress", response=skeleton.response("in_progress", []))

    rs_id = new_id("rs")
    summary = "".join(words[i % len(words)] for i in range(n_summary))
    where: dict[str, Any] = {"item_id": rs_id, "output_index": 0, "summary_index": 0}
    emit("response.output_item.added", output_index=0, item={
        "id": rs_id, "type": "reasoning", "summary": [],
    })  # fmt: skip
    emit(
        "response.reasoning_summary_part.added", **where, part={"type": "summary_text", "text": ""}
    )
    for i in range(n_summary):
        emit(
            "response.reasoning_summary_text.delta",
            **where,
            delta=words[i % len(words)],
            obfuscation="x9",
        )
    emit("response.reasoning_summary_text.done", **where, text=summary)
    emit(
        "response.reasoning_summary_part.done",
        **where,
        part={"type": "summary_text", "text": summary},
    )
    reasoning = {
        "id": rs_id,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": summary}],
        "encrypted_content": encrypted_for(rs_id),
    }
    emit("response.output_item.done", output_index=0, item=reasoning)

    msg_id = new_id("msg")
    text = "".join(words[(i * 3) % len(words)] for i in range(n_text))
    where = {"item_id": msg_id, "output_index": 1, "content_index": 0}
    empty: dict[str, Any] = {"type": "output_text", "annotations": [], "logprobs": []}
    emit("response.output_item.added", output_index=1, item={
        "id": msg_id, "type": "message", "status": "in_progress", "content": [],
        "role": "assistant",
    })  # fmt: skip
    emit("response.content_part.added", **where, part={**empty, "text": ""})
    for i in range(n_text):
        emit(
            "response.output_text.delta",
            **where,
            delta=words[(i * 3) % len(words)],
            logprobs=[],
            obfuscation="k2Lq",
        )
    emit("response.output_text.done", **where, text=text, logprobs=[])
    emit("response.content_part.done", **where, part={**empty, "text": text})
    message = {
        "id": msg_id,
        "type": "message",
        "status": "completed",
        "content": [{**empty, "text": text}],
        "role": "assistant",
    }
    emit("response.output_item.done", output_index=1, item=message)

    fc_id, call_id = new_id("fc"), new_id("call")
    fragments = ['{"expression": "', *["1+" for _ in range(n_args - 2)], '1"}']
    arguments = "".join(fragments)
    head = {"id": fc_id, "type": "function_call", "call_id": call_id, "name": "calculator"}
    where = {"item_id": fc_id, "output_index": 2}
    emit(
        "response.output_item.added",
        output_index=2,
        item={**head, "status": "in_progress", "arguments": ""},
    )
    for fragment in fragments:
        emit("response.function_call_arguments.delta", **where, delta=fragment, obfuscation="Qz")
    emit("response.function_call_arguments.done", **where, arguments=arguments)
    call = {**head, "status": "completed", "arguments": arguments}
    emit("response.output_item.done", output_index=2, item=call)

    usage = {
        "input_tokens": 1200,
        "input_tokens_details": {"cached_tokens": 1024},
        "output_tokens": n_events,
        "output_tokens_details": {"reasoning_tokens": n_summary},
        "total_tokens": 1200 + n_events,
    }
    output = [reasoning, message, call]
    emit("response.completed", response=skeleton.response("completed", output, usage=usage))
    return "".join(out).encode()
