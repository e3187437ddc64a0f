"""Scripted answers in the shapes of Anthropic's Messages API, for `FakeAnthropicServer`.

Every answer is a `Scripted` (from `tests.fakes.llm_scripts`, so `cut_after`, `stall` and
`raw_sse` apply unchanged) whose writes are SSE events as Anthropic sends them: an `event:`
line naming the type, then the JSON with the same `type` (the official SDK needs the line).

    anthropic_text_reply("hello", thinking="hmm", chunk_size=3, cache_read=1024)
    anthropic_tool_reply([("calculator", {"expression": "1+1"})], thinking="I'll compute")
    anthropic_reply([thinking("..."), redacted(), text("..."), tool_use("echo", {...})])
    anthropic_reply([*web_search("query", hits), text("Cited.", cites=hits[:1])])
        # the server web search tool: server_tool_use, web_search_tool_result, and text with
        # citations_delta events (web_search_result_location) for the `cites` (title, url)
    anthropic_error_event(reply, after=2)             # an `error` event (overloaded_error)
    anthropic_http_error(529, type_="overloaded_error", message="Overloaded")

Thinking blocks carry a deterministic signature (`signature_for(thinking)`); the fake server
remembers what it streamed and checks it comes back byte-identical. `assemble` rebuilds the
content blocks of a streamed message the way a careful client must send them back.
`make_anthropic_recorded_stream(n)` produces a realistic stream for benchmarks.
No pytest imports: benchmarks use this module too.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, Literal

from tests.fakes.http_fake import Scripted
from tests.fakes.llm_scripts import RECORDED_WORDS, split_every

DEFAULT_MODEL = "claude-sonnet-4-5-20250929"
DeltaUsage = Literal["output", "cumulative"]
# A content block to stream: ("thinking", text), ("redacted_thinking", data), ("text", text,
# cites), ("tool_use", name, input), ("server_tool_use", id, query) or
# ("web_search_tool_result", id, hits) — built with the helpers below.
Block = tuple[Any, ...]

_ids = itertools.count(1)


def event(obj: dict[str, Any]) -> bytes:
    """One SSE event the way Anthropic frames it: `event: <type>` then `data: <json>`."""
    return f"event: {obj['type']}\ndata: {json.dumps(obj, ensure_ascii=False)}\n\n".encode()


def signature_for(thinking: str) -> str:
    """A stable stand-in for Anthropic's opaque signature of a thinking block."""
    digest = hashlib.sha256(thinking.encode()).digest() * 3
    return "Eq" + base64.b64encode(digest).decode()


def thinking(text: str) -> Block:
    return ("thinking", text)


def redacted(data: str | None = None) -> Block:
    """A redacted_thinking block; `data` is opaque (encrypted reasoning)."""
    return (
        "redacted_thinking",
        data or "EmwKAhgBEgy" + base64.b64encode(next_id().encode()).decode(),
    )


def text(value: str, *, cites: Sequence[tuple[str, str]] = ()) -> Block:
    """A text block; `cites` (title, url) stream as citations_delta events after its text."""
    return ("text", value, tuple(cites))


def web_search(query: str, hits: Sequence[tuple[str, str]]) -> list[Block]:
    """Anthropic's server web search: its call and its result (the hits as title, url)."""
    call_id = f"srvtoolu_01{next_id()}"
    return [("server_tool_use", call_id, query), ("web_search_tool_result", call_id, tuple(hits))]


def _location(title: str, url: str) -> dict[str, Any]:
    return {
        "type": "web_search_result_location",
        "url": url,
        "title": title,
        "cited_text": f"What {title} says.",
        "encrypted_index": "Eo8BCioIAhgBIiQ" + base64.b64encode(url.encode()).decode(),
    }


def tool_use(name: str, arguments: Any, call_id: str | None = None) -> Block:
    """A tool call; `arguments` is a dict (sent as JSON fragments) or raw JSON text."""
    return ("tool_use", name, arguments, call_id or f"toolu_01{next_id()}")


def next_id() -> str:
    return hashlib.sha256(str(next(_ids)).encode()).hexdigest()[:22]


def _pieces(value: str, size: int) -> list[str]:
    # At least one delta per block, even for an empty one.
    return split_every(value, size) or [""]


def _message_start(message_id: str, model: str, usage: dict[str, Any]) -> dict[str, Any]:
    """The `message_start` event: the still empty assistant message and its input usage."""
    message: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    return {"type": "message_start", "message": message}


def message_events(
    blocks: Sequence[Block],
    *,
    model: str = DEFAULT_MODEL,
    input_tokens: int = 25,
    cache_read: int = 0,
    cache_write: int = 0,
    output_tokens: int | None = None,
    thinking_tokens: int | None = None,
    stop_reason: str | None = None,
    delta_usage: DeltaUsage = "output",
    chunk_size: int = 8,
    fragment_size: int = 5,
    ping: bool = True,
) -> list[dict[str, Any]]:
    """The events of one streamed message, in Anthropic's documented order."""
    start_usage = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
        "output_tokens": 1,
    }
    events = [_message_start(f"msg_01{next_id()}", model, start_usage)]
    if ping:
        events.append({"type": "ping"})
    streamed = 0
    for index, block in enumerate(blocks):
        kind = block[0]
        if kind == "thinking":
            body = block[1]
            start: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
            events.append({"type": "content_block_start", "index": index, "content_block": start})
            for piece in _pieces(body, chunk_size):
                delta = {"type": "thinking_delta", "thinking": piece}
                events.append({"type": "content_block_delta", "index": index, "delta": delta})
            delta = {"type": "signature_delta", "signature": signature_for(body)}
            events.append({"type": "content_block_delta", "index": index, "delta": delta})
            streamed += len(body)
        elif kind == "redacted_thinking":
            start = {"type": "redacted_thinking", "data": block[1]}
            events.append({"type": "content_block_start", "index": index, "content_block": start})
        elif kind == "text":
            events.append(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                }
            )
            for piece in _pieces(block[1], chunk_size):
                delta = {"type": "text_delta", "text": piece}
                events.append({"type": "content_block_delta", "index": index, "delta": delta})
            for title, url in block[2] if len(block) > 2 else ():
                delta = {"type": "citations_delta", "citation": _location(title, url)}
                events.append({"type": "content_block_delta", "index": index, "delta": delta})
            streamed += len(block[1])
        elif kind == "server_tool_use":
            _, call_id, query = block
            start = {"type": "server_tool_use", "id": call_id, "name": "web_search", "input": {}}
            events.append({"type": "content_block_start", "index": index, "content_block": start})
            fragment = json.dumps({"query": query})
            delta = {"type": "input_json_delta", "partial_json": fragment}
            events.append({"type": "content_block_delta", "index": index, "delta": delta})
        elif kind == "web_search_tool_result":
            _, call_id, hits = block
            results = [
                {
                    "type": "web_search_result",
                    "url": url,
                    "title": title,
                    "encrypted_content": "EqgfCioIARgBIiQ" + next_id(),
                    "page_age": "April 30, 2025",
                }
                for title, url in hits
            ]
            start = {"type": "web_search_tool_result", "tool_use_id": call_id, "content": results}
            events.append({"type": "content_block_start", "index": index, "content_block": start})
        elif kind == "tool_use":
            _, name, arguments, call_id = block
            raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
            start = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
            events.append({"type": "content_block_start", "index": index, "content_block": start})
            # Anthropic opens a tool's input with an empty fragment, then sends pieces.
            for piece in ["", *_pieces(raw, fragment_size)]:
                delta = {"type": "input_json_delta", "partial_json": piece}
                events.append({"type": "content_block_delta", "index": index, "delta": delta})
            streamed += len(raw)
        else:
            raise ValueError(f"unknown block kind {kind!r}")
        events.append({"type": "content_block_stop", "index": index})
    if stop_reason is None:
        stop_reason = "tool_use" if any(b[0] == "tool_use" for b in blocks) else "end_turn"
    output = output_tokens if output_tokens is not None else max(streamed // 4, 1)
    usage: dict[str, Any] = {"output_tokens": output}
    if delta_usage == "cumulative":
        # Newer API versions repeat the (cumulative) input counts in message_delta.
        usage = {**start_usage, "output_tokens": output}
    if thinking_tokens is not None:
        usage["output_tokens_details"] = {"thinking_tokens": thinking_tokens}
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": usage,
        }
    )
    events.append({"type": "message_stop"})
    return events


def anthropic_reply(blocks: Sequence[Block], *, delay: float = 0.0, **options: Any) -> Scripted:
    """A streamed message of `blocks`, one event per write (see `message_events`)."""
    return Scripted(writes=[event(e) for e in message_events(blocks, **options)], delay=delay)


def anthropic_text_reply(
    answer: str = "Hello from the fake Claude.",
    *,
    thinking_text: str = "",
    redacted_data: Iterable[str] = (),
    **options: Any,
) -> Scripted:
    """A text answer, after an optional thinking block and redacted thinking blocks."""
    blocks: list[Block] = [thinking(thinking_text)] if thinking_text else []
    blocks += [redacted(data) for data in redacted_data]
    blocks.append(text(answer))
    return anthropic_reply(blocks, **options)


def anthropic_tool_reply(
    calls: Sequence[tuple[str, Any]],
    *,
    answer: str = "",
    thinking_text: str = "",
    **options: Any,
) -> Scripted:
    """Tool calls (name, arguments), after optional thinking and text, stop_reason tool_use."""
    blocks: list[Block] = [thinking(thinking_text)] if thinking_text else []
    if answer:
        blocks.append(text(answer))
    blocks += [tool_use(name, arguments) for name, arguments in calls]
    return anthropic_reply(blocks, **options)


def anthropic_error_object(type_: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": type_, "message": message}}


def anthropic_error_body(type_: str, message: str) -> bytes:
    """Anthropic's error JSON: `{"type": "error", "error": {"type", "message"}, ...}`."""
    body = anthropic_error_object(type_, message)
    body["request_id"] = f"req_011C{next_id()}"
    return json.dumps(body).encode()


def anthropic_http_error(
    status: int,
    *,
    type_: str = "invalid_request_error",
    message: str = "fake error",
    retry_after: float | None = None,
) -> Scripted:
    headers = {} if retry_after is None else {"retry-after": str(retry_after)}
    return Scripted(
        status=status,
        headers=headers,
        body=anthropic_error_body(type_, message),
        content_type="application/json",
    )


def anthropic_error_event(
    reply: Scripted,
    *,
    after: int,
    type_: str = "overloaded_error",
    message: str = "Overloaded",
) -> Scripted:
    """`reply` cut after `after` writes, then an `error` event (the stream ends there)."""
    return replace(
        reply, writes=[*reply.writes[:after], event(anthropic_error_object(type_, message))]
    )


def parse_events(raw: bytes) -> list[dict[str, Any]]:
    """The JSON payloads of an SSE byte stream written by these builders."""
    out: list[dict[str, Any]] = []
    for chunk in raw.replace(b"\r\n", b"\n").split(b"\n\n"):
        for line in chunk.split(b"\n"):
            if line.startswith(b"data:"):
                out.append(json.loads(line[5:]))
    return out


def assemble(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The content blocks of a streamed message, as they must be sent back. Deliberately
    malformed events (tests of the client's strictness) are skipped."""
    blocks: dict[int, dict[str, Any]] = {}
    inputs: dict[int, list[str]] = {}
    for e in events:
        kind = e.get("type")
        if kind == "content_block_start" and isinstance(e.get("content_block"), dict):
            blocks[e.get("index", -1)] = dict(e["content_block"])
        elif kind == "content_block_delta":
            block, delta = blocks.get(e.get("index", -1)), e.get("delta")
            if block is None or not isinstance(delta, dict):
                continue
            if delta.get("type") == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
            elif delta.get("type") == "signature_delta":
                block["signature"] = block.get("signature", "") + delta.get("signature", "")
            elif delta.get("type") == "text_delta":
                block["text"] = block.get("text", "") + delta.get("text", "")
            elif delta.get("type") == "input_json_delta":
                inputs.setdefault(e["index"], []).append(delta.get("partial_json", ""))
    for index, parts in inputs.items():
        try:
            blocks[index]["input"] = json.loads("".join(parts) or "{}")
        except ValueError:
            continue  # a cut-off input (max_tokens) stays as it started
    return [blocks[i] for i in sorted(blocks)]


def make_anthropic_recorded_stream(
    n_events: int, *, model: str = "claude-sonnet-4-5-20250929"
) -> bytes:
    """A realistic Messages API stream of about `n_events` events.

    A thinking block (about 20% of the events, then its signature), a text block (about
    65%), then one tool_use whose input arrives as input_json_delta fragments; usage with
    cache reads and writes; every event framed with its `event:` line, as Anthropic sends.
    """
    n_events = max(n_events, 16)
    body = n_events - 12  # message_start, ping, three starts and stops, signature, the last two
    n_thinking = body // 5
    n_text = body * 65 // 100
    n_args = max(body - n_thinking - n_text, 2)
    words = RECORDED_WORDS
    dumps = json.dumps
    out: list[str] = []

    def emit(obj: dict[str, Any]) -> None:
        out.append(f"event: {obj['type']}\ndata: {dumps(obj)}\n\n")

    usage = {
        "input_tokens": 176,
        "cache_creation_input_tokens": 512,
        "cache_read_input_tokens": 1024,
        "output_tokens": 1,
    }
    emit(_message_start("msg_01XFDUDYJgAACzvnptvVoYEL", model, usage))
    emit({"type": "ping"})
    start = {"type": "thinking", "thinking": "", "signature": ""}
    emit({"type": "content_block_start", "index": 0, "content_block": start})
    thought: list[str] = []
    for i in range(n_thinking):
        piece = words[i % len(words)]
        thought.append(piece)
        delta = {"type": "thinking_delta", "thinking": piece}
        emit({"type": "content_block_delta", "index": 0, "delta": delta})
    delta = {"type": "signature_delta", "signature": signature_for("".join(thought))}
    emit({"type": "content_block_delta", "index": 0, "delta": delta})
    emit({"type": "content_block_stop", "index": 0})
    emit({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}})
    for i in range(n_text):
        delta = {"type": "text_delta", "text": words[(i * 3) % len(words)]}
        emit({"type": "content_block_delta", "index": 1, "delta": delta})
    emit({"type": "content_block_stop", "index": 1})
    tool = {"type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "calculator"}
    emit({"type": "content_block_start", "index": 2, "content_block": {**tool, "input": {}}})
    fragments = ['{"expression": "', *["1+" for _ in range(n_args - 2)], '1"}']
    for fragment in fragments:
        delta = {"type": "input_json_delta", "partial_json": fragment}
        emit({"type": "content_block_delta", "index": 2, "delta": delta})
    emit({"type": "content_block_stop", "index": 2})
    final: dict[str, Any] = {**usage, "output_tokens": n_events}
    final["output_tokens_details"] = {"thinking_tokens": n_thinking}
    emit(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": final,
        }
    )
    emit({"type": "message_stop"})
    return "".join(out).encode()
