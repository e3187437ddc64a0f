"""Tool rounds of another model, retold as text.

Thinking models require their own state back with every earlier tool round (DeepSeek refuses
a request whose tool-call messages lack their `reasoning_content`, Gemini 3 one whose calls
lack their signatures, Anthropic one whose thinking blocks are missing), and that state can
never come from, or go to, another model. So when a conversation moves to another model (a
member switches it, or a fallback answered a round), the tool rounds the other model made
are given to the new one as plain assistant text — what was called, with what, and what it
returned — instead of as tool calls without the state their provider requires. Every
provider accepts that, and the new model still knows what happened.

A round's producer is known from its `Artefacts.source` (every tool round carries one, with
empty data when its provider needs nothing back); rounds without one (stored before sources
were recorded) are passed on unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.llm.types import ChatMessage, ToolCall

__all__ = ["for_model", "retell"]


def for_model(messages: Sequence[ChatMessage], source: str) -> tuple[ChatMessage, ...]:
    """`messages` as model reference `source` may receive them: its own rounds with their
    artefacts, other models' tool rounds retold as text, other models' artefacts dropped."""
    if not any(_foreign(m, source) for m in messages):
        return tuple(messages)
    out: list[ChatMessage] = []
    results: dict[str, str] = {}
    retold: set[str] = set()  # ids of calls whose results went into the retelling
    for index, message in enumerate(messages):
        if message.role == "tool" and message.tool_call_id in retold:
            continue
        if not _foreign(message, source):
            _append(out, message)
            continue
        if not message.tool_calls:
            _append(out, replace(message, artefacts=None))
            continue
        results.clear()
        for later in messages[index + 1 :]:
            if later.role != "tool":
                break
            if later.tool_call_id is not None:
                results[later.tool_call_id] = later.content or ""
        retold.update(call.id for call in message.tool_calls)
        lines = [retell(call, results.get(call.id)) for call in message.tool_calls]
        text = "\n".join(lines)
        content = f"{message.content}\n\n{text}" if message.content else text
        _append(out, ChatMessage("assistant", content))
    return tuple(out)


def retell(call: ToolCall, result: str | None) -> str:
    """One tool call and its result as a line of assistant text."""
    outcome = "no result was recorded" if result is None else f"it returned: {result}"
    return f"(I used the tool `{call.name}` with {call.arguments}; {outcome})"


def _foreign(message: ChatMessage, source: str) -> bool:
    return (
        message.role == "assistant"
        and message.artefacts is not None
        and message.artefacts.source != source
    )


def _append(out: list[ChatMessage], message: ChatMessage) -> None:
    """Append, merging two assistant texts in a row (strict providers refuse the pair)."""
    if out and message.role == "assistant" and out[-1].role == "assistant":
        previous = out[-1]
        if not previous.tool_calls:
            joined = "\n\n".join(t for t in (previous.content, message.content) if t)
            out[-1] = replace(message, content=joined or None)
            return
    out.append(message)
