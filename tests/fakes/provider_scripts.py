"""Provider shapes for `FakeLLMServer`: what each provider really streams (for the fake's
flavours), built on the generic builders of `tests/fakes/llm_scripts.py`.

    refusal_reply("I can't help with that.")      # OpenAI `delta.refusal`
    think_tags_reply("thinking", "answer", style="inline" | "r1")   # tags split across chunks
    deepseek_reply(text, reasoning=..., tool_calls=[...])   # reasoning_content, then the rest
    gemini_tool_reply([...], signature=...)      # whole calls, the first signed (extra_content)
    gemini_text_reply(text)                      # text; the signature on the last part
    openrouter_reply(text, reasoning=..., tool_calls=[...], details="anthropic" | "openai")

and responders that hold a whole tool conversation: the first request of a turn gets a tool
call, each tool result another one until `rounds` are done, then a text answer:

    llm.responder = deepseek_responder(rounds=3)   # also gemini_/openrouter_responder

No pytest imports: benchmarks and end-to-end tests use this module too.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable, Sequence
from typing import Any, Literal

from tests.fakes.llm_scripts import (
    DEFAULT_MODEL,
    DEFAULT_USAGE,
    Scripted,
    chunk,
    finish_writes,
    split_every,
    sse,
)
from tests.fakes.provider_rules import deepseek_thinking, openrouter_reasoning

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
    return Scripted(writes=finish_writes(chunks, "stop", usage, "final", True, model))


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
    return Scripted(writes=finish_writes(chunks, "stop", DEFAULT_USAGE, "final", True, model))


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
    return Scripted(writes=finish_writes(chunks, finish, usage, "final", True, model))


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
    return Scripted(
        writes=finish_writes(chunks, "tool_calls", DEFAULT_USAGE, "last_choice", True, model)
    )


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
    return Scripted(writes=finish_writes(chunks, "stop", DEFAULT_USAGE, "last_choice", True, model))


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
