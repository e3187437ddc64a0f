"""Scripted answers for `FakeLLMServer`, and builders for the provider styles tests need.

A `Scripted` describes one HTTP answer: a status, headers, and either a JSON body or a list of
SSE writes. Builders cover the common cases:

    text_reply("hello", chunk_size=3, reasoning="...", usage={...}, delay=0.0)
    tool_call_reply([("calculator", {"expression": "1+1"})], text="", style="openai")
        styles: "openai" (fragments by index), "gemini" (every call at index 0, distinct ids),
        "mistral" (whole calls, no index), "ollama" (whole calls in one chunk, arguments as a
        JSON object), "anonymous" (no id, no index, fragmented arguments)
    http_error(429, retry_after=1, code=..., message=...)
    error_event(reply, after=2, code=502, message="upstream")   # {"error": ...} as a data line
    cut_after(n_writes, reply)   # close the connection after n writes
    stall(reply, after=1, seconds=30)   # stop writing after n writes (idle timeout)
    stall(reply, after=1, until=event)  # … until the test sets the event
    raw_sse(b"...", split_at=(3, 17))   # bytes written as given, split at those offsets

    cited_reply(text, [(title, url), ...])       # OpenRouter's web plugin: url_citation
                                                 # annotations on the last content delta

What each provider really streams, and responders holding a whole tool conversation:
`tests/fakes/provider_scripts.py`.

`make_recorded_stream(n_chunks)` produces a realistic OpenAI SSE byte stream for benchmarks.
No pytest imports: benchmarks and end-to-end tests use this module too.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, Literal

# Scripted is the answer format every fake plays (see http_fake); re-exported, since the
# builders' callers import it from here.
from tests.fakes.http_fake import Scripted as Scripted

Style = Literal["openai", "gemini", "mistral", "ollama", "anonymous"]
UsageStyle = Literal["final", "last_choice", "groq", "none"]

DEFAULT_MODEL = "fake-model"
DEFAULT_USAGE: dict[str, Any] = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
# The words the recorded benchmark streams are made of (multi-byte ones included).
RECORDED_WORDS = ("the ", "model ", "streams ", "tokens ", "quickly, ", "and ", "Ünïcödé ", "漢字 ")


def sse(obj: Any) -> bytes:
    """One `data: ...` event."""
    payload = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
    return f"data: {payload}\n\n".encode()


def chunk(
    delta: dict[str, Any] | None = None,
    *,
    finish_reason: str | None = None,
    model: str = DEFAULT_MODEL,
    usage: dict[str, Any] | None = None,
    choices: bool = True,
) -> dict[str, Any]:
    """An OpenAI `chat.completion.chunk` object."""
    obj: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish_reason}]
        if choices
        else [],
    }
    if usage is not None:
        obj["usage"] = usage
    return obj


def split_every(text: str, size: int) -> list[str]:
    """`text` in pieces of `size` characters (the last one shorter); none for no text."""
    size = max(size, 1)
    return [text[i : i + size] for i in range(0, len(text), size)]


def finish_writes(
    chunks: list[dict[str, Any]],
    finish_reason: str,
    usage: dict[str, Any] | None,
    usage_style: UsageStyle,
    done: bool,
    model: str,
) -> list[bytes]:
    """`chunks` closed with the finish reason and the usage where `usage_style` puts it, as
    SSE writes (and `[DONE]` if `done`)."""
    last = chunk(finish_reason=finish_reason, model=model)
    if usage is not None and usage_style == "last_choice":
        last["usage"] = usage
    if usage is not None and usage_style == "groq":
        last["x_groq"] = {"id": "req_fake", "usage": usage}
    chunks.append(last)
    if usage is not None and usage_style == "final":
        chunks.append(chunk(choices=False, usage=usage, model=model))
    writes = [sse(c) for c in chunks]
    if done:
        writes.append(sse("[DONE]"))
    return writes


def text_reply(
    text: str = "Hello from the fake model.",
    *,
    chunk_size: int = 8,
    reasoning: str = "",
    reasoning_field: str = "reasoning_content",
    usage: dict[str, Any] | None = DEFAULT_USAGE,
    usage_style: UsageStyle = "final",
    finish_reason: str = "stop",
    done: bool = True,
    delay: float = 0.0,
    model: str = DEFAULT_MODEL,
) -> Scripted:
    """A streamed text answer, optionally preceded by reasoning."""
    chunks = [chunk({"role": "assistant", "content": ""}, model=model)]
    chunks += [chunk({reasoning_field: p}, model=model) for p in split_every(reasoning, chunk_size)]
    chunks += [chunk({"content": p}, model=model) for p in split_every(text, chunk_size)]
    return Scripted(
        writes=finish_writes(chunks, finish_reason, usage, usage_style, done, model), delay=delay
    )


def cited_reply(
    text: str,
    cites: Sequence[tuple[str, str]],
    *,
    calls: Sequence[tuple[str, Any]] = (),
    chunk_size: int = 8,
    model: str = DEFAULT_MODEL,
) -> Scripted:
    """A text answer whose sources came from the provider's own web search (OpenRouter's
    `plugins: [{"id": "web"}]`, OpenAI's search models): `annotations` of `url_citation`
    objects in a delta of their own after the text, as OpenRouter streams them; `calls`
    (name, arguments) add tool calls to the same message."""
    chunks = [chunk({"role": "assistant", "content": ""}, model=model)]
    chunks += [chunk({"content": p}, model=model) for p in split_every(text, chunk_size)]
    for i, (name, arguments) in enumerate(calls):
        function = {"name": name, "arguments": json.dumps(arguments)}
        call = {"index": i, "id": f"call_{i}_{name}", "type": "function", "function": function}
        chunks.append(chunk({"tool_calls": [call]}, model=model))
    annotations = [
        {
            "type": "url_citation",
            "url_citation": {
                "url": url,
                "title": title,
                "content": f"What {title} says.",
                "start_index": 0,
                "end_index": len(text),
            },
        }
        for title, url in cites
    ]
    chunks.append(chunk({"content": "", "annotations": annotations}, model=model))
    finish = "tool_calls" if calls else "stop"
    return Scripted(writes=finish_writes(chunks, finish, DEFAULT_USAGE, "final", True, model))


def tool_call_reply(
    calls: Sequence[tuple[str, Any]],
    *,
    text: str = "",
    style: Style = "openai",
    fragment_size: int = 5,
    usage: dict[str, Any] | None = DEFAULT_USAGE,
    finish_reason: str = "tool_calls",
    done: bool = True,
    delay: float = 0.0,
    model: str = DEFAULT_MODEL,
) -> Scripted:
    """Tool calls streamed the way `style`'s provider does. Arguments: a dict or raw text."""
    chunks = [chunk({"role": "assistant", "content": ""}, model=model)]
    chunks += [chunk({"content": p}, model=model) for p in split_every(text, 8)]
    args = [a if isinstance(a, str) else json.dumps(a) for _, a in calls]
    ids = [f"call_{i}_{name}" for i, (name, _) in enumerate(calls)]
    if style == "openai":
        for i, (name, _) in enumerate(calls):
            head = {"index": i, "id": ids[i], "type": "function"}
            chunks.append(
                chunk({"tool_calls": [{**head, "function": {"name": name, "arguments": ""}}]})
            )
            for piece in split_every(args[i], fragment_size):
                chunks.append(
                    chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
                )
    elif style == "gemini":
        for i, (name, _) in enumerate(calls):
            call = {"index": 0, "id": ids[i], "type": "function"}
            call["function"] = {"name": name, "arguments": args[i]}
            chunks.append(chunk({"tool_calls": [call]}))
    elif style == "mistral":
        whole = [
            {"id": ids[i], "function": {"name": name, "arguments": args[i]}}
            for i, (name, _) in enumerate(calls)
        ]
        chunks.append(chunk({"tool_calls": whole}))
    elif style == "ollama":
        ollama_calls: list[dict[str, Any]] = [
            {
                "id": ids[i],
                "index": i,
                "type": "function",
                "function": {"name": name, "arguments": a if isinstance(a, dict) else args[i]},
            }
            for i, (name, a) in enumerate(calls)
        ]
        chunks.append(chunk({"role": "assistant", "content": "", "tool_calls": ollama_calls}))
    elif style == "anonymous":
        for i, (name, _) in enumerate(calls):
            chunks.append(chunk({"tool_calls": [{"function": {"name": name, "arguments": ""}}]}))
            for piece in split_every(args[i], fragment_size):
                chunks.append(chunk({"tool_calls": [{"function": {"arguments": piece}}]}))
    return Scripted(
        writes=finish_writes(chunks, finish_reason, usage, "final", done, model), delay=delay
    )


def error_body(message: str, *, type_: str = "invalid_request_error", code: Any = None) -> bytes:
    """OpenAI's error JSON shape."""
    return json.dumps(
        {"error": {"message": message, "type": type_, "param": None, "code": code}}
    ).encode()


def http_error(
    status: int,
    *,
    message: str = "fake error",
    type_: str = "invalid_request_error",
    code: Any = None,
    retry_after: float | str | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Scripted:
    """A non-2xx answer with an OpenAI error body (or `body` as given)."""
    all_headers = dict(headers or {})
    if retry_after is not None:
        all_headers["Retry-After"] = str(retry_after)
    return Scripted(
        status=status,
        headers=all_headers,
        body=error_body(message, type_=type_, code=code) if body is None else body,
        content_type="application/json",
    )


def error_event(
    reply: Scripted,
    *,
    after: int,
    code: Any = 502,
    message: str = "upstream error",
    type_: str = "server_error",
) -> Scripted:
    """`reply` with its writes cut after `after` and an `{"error": ...}` data line instead."""
    err = {"error": {"message": message, "type": type_, "code": code}}
    return replace(reply, writes=[*reply.writes[:after], sse(err)])


def cut_after(n_writes: int, reply: Scripted) -> Scripted:
    """`reply`, with the connection closed (no chunked terminator) after `n_writes` writes."""
    return replace(reply, cut_after=n_writes)


def stall(
    reply: Scripted, *, after: int = 1, seconds: float = 3600.0, until: asyncio.Event | None = None
) -> Scripted:
    """`reply` that stops writing after `after` writes for `seconds` (or until `until` is
    set)."""
    return replace(reply, stall_after=after, stall_seconds=seconds, stall_until=until)


def raw_sse(
    data: bytes | str,
    *,
    split_at: Iterable[int] = (),
    every: int | None = None,
    delay: float = 0.0,
) -> Scripted:
    """Bytes written exactly as given, as separate writes cut at `split_at` offsets or `every` N."""
    raw = data.encode() if isinstance(data, str) else data
    offsets = sorted(set(split_at))
    if every:
        offsets = list(range(every, len(raw), every))
    bounds = [0, *[o for o in offsets if 0 < o < len(raw)], len(raw)]
    writes = [raw[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    return Scripted(writes=writes, delay=delay)


def make_recorded_stream(n_chunks: int, *, model: str = "gpt-4o-mini-2024-07-18") -> bytes:
    """A realistic OpenAI SSE stream of `n_chunks` events plus `[DONE]`.

    About 20% reasoning deltas, 65% text deltas, then one tool call whose arguments arrive in
    fragments, a finish chunk and a final usage chunk (empty `choices`).
    """
    n_chunks = max(n_chunks, 6)
    body = n_chunks - 4  # role chunk, tool head, finish chunk, usage chunk
    n_reasoning = body // 5
    n_text = body * 65 // 100
    n_args = body - n_reasoning - n_text
    words = RECORDED_WORDS
    base = {
        "id": "chatcmpl-AbC123",
        "object": "chat.completion.chunk",
        "created": 1731000000,
        "model": model,
        "system_fingerprint": "fp_0ba0d124f1",
    }
    dumps = json.dumps
    out: list[str] = []

    def emit(delta: dict[str, Any], finish: str | None = None) -> None:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        out.append(f"data: {dumps({**base, 'choices': [choice], 'usage': None})}\n\n")

    emit({"role": "assistant", "content": "", "refusal": None})
    for i in range(n_reasoning):
        emit({"reasoning_content": words[i % len(words)]})
    for i in range(n_text):
        emit({"content": words[(i * 3) % len(words)]})
    emit(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_9fX2",
                    "type": "function",
                    "function": {"name": "calculator", "arguments": ""},
                }
            ]
        }
    )
    fragments = ['{"expression": "', *["1+" for _ in range(max(n_args - 2, 0))], '1"}']
    for fragment in fragments if n_args >= 2 else ['{"expression": "1"}']:
        emit({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]})
    emit({}, "tool_calls")
    usage = {
        "prompt_tokens": 1200,
        "completion_tokens": n_chunks,
        "total_tokens": 1200 + n_chunks,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": n_reasoning, "audio_tokens": 0},
    }
    out.append(f"data: {dumps({**base, 'choices': [], 'usage': usage})}\n\n")
    out.append("data: [DONE]\n\n")
    return "".join(out).encode()
