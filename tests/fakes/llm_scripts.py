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

Provider shapes (what each provider really streams, for the `FakeLLMServer` flavours):

    refusal_reply("I can't help with that.")      # OpenAI `delta.refusal`
    think_tags_reply("thinking", "answer", style="inline" | "r1")   # tags split across chunks
    deepseek_reply(text, reasoning=..., tool_calls=[...])   # reasoning_content, then the rest
    gemini_tool_reply([...], signature=...)      # whole calls, the first signed (extra_content)
    gemini_text_reply(text)                      # text; the signature on the last part
    openrouter_reply(text, reasoning=..., tool_calls=[...], details="anthropic" | "openai")
    cited_reply(text, [(title, url), ...])       # OpenRouter's web plugin: url_citation
                                                 # annotations on the last content delta

and responders that hold a whole tool conversation: the first request of a turn gets a tool
call, each tool result another one until `rounds` are done, then a text answer:

    llm.responder = deepseek_responder(rounds=3)   # also gemini_/openrouter_responder

`make_recorded_stream(n_chunks)` produces a realistic OpenAI SSE byte stream for benchmarks.
No pytest imports: benchmarks and end-to-end tests use this module too.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, Literal

# Scripted is the answer format every fake plays (see http_fake); re-exported, since the
# builders' callers import it from here.
from tests.fakes.http_fake import Scripted as Scripted
from tests.fakes.provider_rules import deepseek_thinking, openrouter_reasoning

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


def _finish(
    chunks: list[dict[str, Any]],
    finish_reason: str,
    usage: dict[str, Any] | None,
    usage_style: UsageStyle,
    done: bool,
    model: str,
) -> list[bytes]:
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
        writes=_finish(chunks, finish_reason, usage, usage_style, done, model), delay=delay
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
    return Scripted(writes=_finish(chunks, finish, DEFAULT_USAGE, "final", True, model))


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
    return Scripted(writes=_finish(chunks, finish_reason, usage, "final", done, model), delay=delay)


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


# --- provider shapes -----------------------------------------------------------------------

DEEPSEEK_MODEL = "deepseek-v4-flash"
GEMINI_MODEL = "gemini-3-flash-preview"
OPENROUTER_MODEL = "anthropic/claude-sonnet-4.5"

Call = tuple[str, Any]
DetailStyle = Literal["anthropic", "openai", "text"]
# Every signature, reasoning and call id differs across the whole test run: the fake keys
# what it issued by call id, and a test comparing two steps must see two values.
_serial = itertools.count(1)


def _opaque(kind: str, n: int) -> str:
    """A base64 blob like the encrypted signatures providers send."""
    return base64.b64encode(f"{kind}:{n}:".encode() * 4).decode()


def _args(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _fragmented_calls(
    calls: Sequence[Call], ids: Sequence[str], fragment_size: int, model: str
) -> list[dict[str, Any]]:
    """OpenAI-style tool call fragments: a head with id and name, then argument pieces."""
    chunks = []
    for i, (name, arguments) in enumerate(calls):
        head = {"index": i, "id": ids[i], "type": "function"}
        head["function"] = {"name": name, "arguments": ""}
        chunks.append(chunk({"tool_calls": [head]}, model=model))
        for piece in split_every(_args(arguments), fragment_size):
            fragment = {"index": i, "function": {"arguments": piece}}
            chunks.append(chunk({"tool_calls": [fragment]}, model=model))
    return chunks


def refusal_reply(
    refusal: str = "I'm sorry, but I can't help with that.",
    *,
    chunk_size: int = 8,
    usage: dict[str, Any] | None = DEFAULT_USAGE,
    model: str = DEFAULT_MODEL,
) -> Scripted:
    """OpenAI's refusal stream: `delta.refusal` pieces and no content."""
    chunks = [chunk({"role": "assistant", "content": None, "refusal": ""}, model=model)]
    chunks += [chunk({"refusal": p}, model=model) for p in split_every(refusal, chunk_size)]
    return Scripted(writes=_finish(chunks, "stop", usage, "final", True, model))


def think_tags_reply(
    reasoning: str = "The member wants a greeting.",
    text: str = "Hello!",
    *,
    style: Literal["inline", "r1"] = "inline",
    chunk_size: int = 6,
    model: str = DEFAULT_MODEL,
) -> Scripted:
    """Thinking written inside `content`: `<think>…</think>` ("inline") or only the closing
    tag (R1-style templates put the opening one in the prompt). A chunk boundary always falls
    inside each tag, as happens with real token streams."""
    opening = "<think>" if style == "inline" else ""
    full = f"{opening}{reasoning}</think>\n\n{text}"
    cuts = set(range(chunk_size, len(full), chunk_size))
    if opening:
        cuts.add(3)  # "<th" | "ink>"
    cuts.add(full.index("</think>") + 4)  # "</th" | "ink>"
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(full)), len(full)]
    chunks = [chunk({"role": "assistant", "content": ""}, model=model)]
    chunks += [chunk({"content": full[a:b]}, model=model) for a, b in itertools.pairwise(bounds)]
    return Scripted(writes=_finish(chunks, "stop", DEFAULT_USAGE, "final", True, model))


def deepseek_reply(
    text: str = "",
    *,
    reasoning: str = "",
    tool_calls: Sequence[Call] = (),
    chunk_size: int = 8,
    fragment_size: int = 6,
    model: str = DEEPSEEK_MODEL,
) -> Scripted:
    """DeepSeek's stream: `reasoning_content` deltas (thinking mode) then `content` or
    OpenAI-style tool call fragments; usage with its cache hit/miss counts in a last chunk."""
    n = next(_serial)
    first: dict[str, Any] = {"role": "assistant", "content": None if reasoning else ""}
    if reasoning:
        first["reasoning_content"] = ""
    chunks = [chunk(first, model=model)]
    chunks += [
        chunk({"content": None, "reasoning_content": p}, model=model)
        for p in split_every(reasoning, chunk_size)
    ]
    after: dict[str, Any] = {"reasoning_content": None} if reasoning else {}
    chunks += [chunk({"content": p, **after}, model=model) for p in split_every(text, chunk_size)]
    ids = [f"call_{i:02d}_{_opaque('ds', n)[:24]}" for i in range(len(tool_calls))]
    chunks += _fragmented_calls(tool_calls, ids, fragment_size, model)
    completion = max(1, (len(reasoning) + len(text)) // 4)
    usage = {
        "prompt_tokens": 64,
        "completion_tokens": completion,
        "total_tokens": 64 + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": len(reasoning) // 4},
        "prompt_cache_hit_tokens": 0,
        "prompt_cache_miss_tokens": 64,
    }
    finish = "tool_calls" if tool_calls else "stop"
    return Scripted(writes=_finish(chunks, finish, usage, "final", True, model))


def gemini_tool_reply(
    calls: Sequence[Call],
    *,
    text: str = "",
    signature: str | None = "auto",
    sign_every_call: bool = False,
    index0: bool = True,
    model: str = GEMINI_MODEL,
) -> Scripted:
    """Gemini 3's compatible stream of one function-calling step: whole calls, one chunk
    each, with `extra_content.google.thought_signature` on the first call only (Google signs
    the first of parallel calls); `signature=None` sends none. `index0` puts every call at
    index 0, as the compatible endpoint does."""
    n = next(_serial)
    sig = _opaque("gemini", n) if signature == "auto" else signature
    chunks = [chunk({"role": "assistant", "content": p}, model=model) for p in split_every(text, 8)]
    for i, (name, arguments) in enumerate(calls):
        call: dict[str, Any] = {
            "function": {"arguments": _args(arguments), "name": name},
            "id": f"function-call-{n}{i:03d}",
            "type": "function",
        }
        if index0:
            call["index"] = 0
        if sig is not None and (i == 0 or sign_every_call):
            call["extra_content"] = {"google": {"thought_signature": sig}}
        chunks.append(chunk({"role": "assistant", "tool_calls": [call]}, model=model))
    return Scripted(writes=_finish(chunks, "tool_calls", DEFAULT_USAGE, "last_choice", True, model))


def gemini_text_reply(
    text: str = "Here is the answer.",
    *,
    signature: str | None = "auto",
    chunk_size: int = 8,
    model: str = GEMINI_MODEL,
) -> Scripted:
    """Gemini 3's compatible text answer; the last part carries a thought signature on the
    delta (never required back: only function calls are validated)."""
    sig = _opaque("gemini-text", next(_serial)) if signature == "auto" else signature
    pieces = split_every(text, chunk_size)
    chunks = []
    for i, piece in enumerate(pieces):
        delta: dict[str, Any] = {"role": "assistant", "content": piece}
        if sig is not None and i == len(pieces) - 1:
            delta["extra_content"] = {"google": {"thought_signature": sig}}
        chunks.append(chunk(delta, model=model))
    return Scripted(writes=_finish(chunks, "stop", DEFAULT_USAGE, "last_choice", True, model))


def _openrouter_details(
    reasoning: str, style: DetailStyle, signature: str, redacted: str | None, chunk_size: int
) -> list[dict[str, Any]]:
    """Reasoning deltas with OpenRouter's `reasoning_details` fragments (merged by index)."""
    deltas: list[dict[str, Any]] = []
    if style == "openai":
        fmt = "openai-responses-v1"
        for piece in split_every(reasoning, chunk_size):
            detail = {"type": "reasoning.summary", "summary": piece, "format": fmt, "index": 0}
            deltas.append({"reasoning": piece, "reasoning_details": [detail]})
        encrypted = {
            "type": "reasoning.encrypted",
            "id": f"rs_{signature[:16]}",
            "data": signature,
            "format": fmt,
            "index": 1,
        }
        deltas.append({"reasoning_details": [encrypted]})
        return deltas
    fmt = "anthropic-claude-v1" if style == "anthropic" else "unknown"
    for piece in split_every(reasoning, chunk_size):
        detail = {"type": "reasoning.text", "text": piece, "format": fmt, "index": 0}
        deltas.append({"reasoning": piece, "reasoning_details": [detail]})
    if style == "anthropic":
        # Anthropic's signature arrives once the thinking block is complete.
        detail = {"type": "reasoning.text", "signature": signature, "format": fmt, "index": 0}
        deltas.append({"reasoning": "", "reasoning_details": [detail]})
        if redacted is not None:
            block = {"type": "reasoning.encrypted", "data": redacted, "format": fmt, "index": 1}
            deltas.append({"reasoning_details": [block]})
    return deltas


def openrouter_reply(
    text: str = "",
    *,
    reasoning: str = "",
    tool_calls: Sequence[Call] = (),
    details: DetailStyle = "anthropic",
    signature: str = "auto",
    redacted: str | None = None,
    chunk_size: int = 8,
    fragment_size: int = 6,
    model: str = OPENROUTER_MODEL,
) -> Scripted:
    """OpenRouter's stream: a processing comment, `reasoning` text with structured
    `reasoning_details` (Anthropic: `reasoning.text` fragments, the signature on the last one,
    `redacted` thinking as `reasoning.encrypted`; OpenAI: `reasoning.summary` and an
    encrypted item with an id), then content or tool calls, and usage with its cost."""
    n = next(_serial)
    sig = _opaque("openrouter", n) if signature == "auto" else signature
    provider = "Anthropic" if model.startswith("anthropic/") else "OpenAI"
    chunks: list[dict[str, Any]] = []
    if reasoning:
        for delta in _openrouter_details(reasoning, details, sig, redacted, chunk_size):
            chunks.append(chunk({"role": "assistant", "content": "", **delta}, model=model))
    chunks += [
        chunk({"role": "assistant", "content": p}, model=model)
        for p in split_every(text, chunk_size)
    ]
    ids = [f"toolu_{_opaque('or', n)[:20]}{i}" for i in range(len(tool_calls))]
    chunks += _fragmented_calls(tool_calls, ids, fragment_size, model)
    finish = "tool_calls" if tool_calls else "stop"
    last = chunk({"role": "assistant", "content": ""}, finish_reason=finish, model=model)
    last["choices"][0]["native_finish_reason"] = "tool_use" if tool_calls else "end_turn"
    chunks.append(last)
    completion = max(1, (len(reasoning) + len(text)) // 4)
    usage = {
        "prompt_tokens": 80,
        "completion_tokens": completion,
        "total_tokens": 80 + completion,
        "cost": 0.00042,
        "is_byok": False,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": len(reasoning) // 4},
    }
    chunks.append(chunk(choices=False, usage=usage, model=model))
    for c in chunks:
        c["provider"] = provider
        c["id"] = f"gen-{n}"
    writes = [b": OPENROUTER PROCESSING\n\n", *[sse(c) for c in chunks], sse("[DONE]")]
    return Scripted(writes=writes)


# --- responders: a whole tool conversation without scripting each request ------------------

Arguments = Callable[[int, int], Any]


def counting_arguments(round_no: int, index: int) -> dict[str, Any]:
    """Default tool arguments: distinct per round and call (identical calls get refused)."""
    return {"expression": f"{round_no}*{index + 1}"}


def _tool_rounds_done(messages: list[Any]) -> int:
    """Assistant tool-call messages since the last user message: the rounds of this turn."""
    last_user = max(
        (i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"),
        default=-1,
    )
    return sum(
        1
        for m in messages[last_user + 1 :]
        if isinstance(m, dict) and m.get("role") == "assistant" and m.get("tool_calls")
    )


def _next_calls(
    body: dict[str, Any], rounds: int, tool: str | None, arguments: Arguments | Any, parallel: int
) -> list[Call]:
    """The calls of the next round, or none when the turn should end with text."""
    tools = body.get("tools")
    if not tools or body.get("tool_choice") == "none":
        return []
    done = _tool_rounds_done(body.get("messages") or [])
    if done >= rounds:
        return []
    name = tool or tools[0]["function"]["name"]
    return [
        (name, arguments(done + 1, i) if callable(arguments) else arguments)
        for i in range(parallel)
    ]


def deepseek_responder(
    *,
    rounds: int = 1,
    tool: str | None = None,
    arguments: Arguments | Any = counting_arguments,
    parallel: int = 1,
    text: str = "All done.",
) -> Callable[[dict[str, Any]], Scripted]:
    """Answers like DeepSeek: reasoning first whenever thinking mode is on, then `rounds`
    tool-call steps (of `tool`, default the request's first tool) and a text answer."""

    def respond(body: dict[str, Any]) -> Scripted:
        model = str(body.get("model") or DEEPSEEK_MODEL)
        calls = _next_calls(body, rounds, tool, arguments, parallel)
        step = next(_serial)
        reasoning = f"Step {step}: " + ("I need a tool." if calls else "I can answer now.")
        if not deepseek_thinking(body):
            reasoning = ""
        answer = "" if calls else text
        return deepseek_reply(answer, reasoning=reasoning, tool_calls=calls, model=model)

    return respond


def gemini_responder(
    *,
    rounds: int = 1,
    tool: str | None = None,
    arguments: Arguments | Any = counting_arguments,
    parallel: int = 1,
    text: str = "All done.",
) -> Callable[[dict[str, Any]], Scripted]:
    """Answers like Gemini 3: signed function-calling steps, then a text answer."""

    def respond(body: dict[str, Any]) -> Scripted:
        model = str(body.get("model") or GEMINI_MODEL)
        calls = _next_calls(body, rounds, tool, arguments, parallel)
        if calls:
            return gemini_tool_reply(calls, model=model)
        return gemini_text_reply(text, model=model)

    return respond


def openrouter_responder(
    *,
    rounds: int = 1,
    tool: str | None = None,
    arguments: Arguments | Any = counting_arguments,
    parallel: int = 1,
    text: str = "All done.",
) -> Callable[[dict[str, Any]], Scripted]:
    """Answers like OpenRouter: reasoning with details when the request asks for reasoning
    (Anthropic-style signed for `anthropic/` models, OpenAI-style encrypted for `openai/`),
    then tool-call steps and a text answer."""

    def respond(body: dict[str, Any]) -> Scripted:
        model = str(body.get("model") or OPENROUTER_MODEL)
        calls = _next_calls(body, rounds, tool, arguments, parallel)
        step = next(_serial)
        reasoning = ""
        if openrouter_reasoning(body):
            reasoning = f"Step {step}: " + ("a tool will tell." if calls else "time to answer.")
        style: DetailStyle = (
            "anthropic"
            if model.startswith("anthropic/")
            else "openai"
            if model.startswith("openai/")
            else "text"
        )
        return openrouter_reply(
            text if not calls else "",
            reasoning=reasoning,
            tool_calls=calls,
            details=style,
            model=model,
        )

    return respond
