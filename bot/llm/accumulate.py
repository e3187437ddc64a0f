"""Assembles parsed chat-completion chunks into stream events and one final `Completion`.

Pure and synchronous: `feed(chunk)` takes one parsed JSON chunk (a dict) and returns the events
it produced; `finish()` builds the `Completion`. It runs once per streamed event, so it sticks
to plain dict lookups and list appends (no validation models in the hot path).

Provider variations it absorbs:
- text in `delta.content` (a string, or a list of parts as Mistral's reasoning models send),
  with thinking written inline as `<think>…</think>` split out as reasoning
  (`bot.llm.think_tags`, unless switched off); OpenAI's `delta.refusal` shown as the text;
- reasoning in `delta.reasoning_content` or `delta.reasoning`, and OpenRouter's structured
  `delta.reasoning_details` (merged by `index`);
- tool calls however they are fragmented (`bot.llm.tool_call_fragments`);
- usage in a trailing chunk with empty `choices`, on the last choice chunk, inside the choice,
  or under Groq's `x_groq.usage`; the last one seen wins;
- `url_citation` annotations (a provider's web search) as `SourcesCited` (`bot.llm.citations`).

Truncated tool call arguments (`finish_reason: length`) are returned as they are: the loop
decides.

Artefacts (what the provider requires back, see `bot.llm.types.Artefacts`): the reasoning
received as `reasoning_content` (DeepSeek thinking mode, Kimi, Qwen on vLLM/SGLang) is kept
as `{"reasoning_content": ...}`, OpenRouter's details as `{"reasoning_details": [...]}`, and
any unknown field of a tool call fragment (Gemini 3's `extra_content.google.
thought_signature`) as that call's `extra`. Plain `delta.reasoning` is shown but not sent
back: no provider documents needing it, and strict servers reject unknown message fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.llm.citations import CitedSources, url_citations
from bot.llm.think_tags import ThinkTagSplitter
from bot.llm.tool_call_fragments import ToolCallFragments
from bot.llm.types import (
    Completion,
    FinishReason,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    TextWasReasoning,
    Usage,
)
from bot.llm.usage import parse_usage

__all__ = ["StreamAccumulator", "map_finish_reason"]

_NO_EVENTS: tuple[StreamEvent, ...] = ()
# Fields of a reasoning detail whose string fragments are concatenated across chunks.
_DETAIL_TEXT_FIELDS = ("text", "summary", "data")

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "eos": "stop",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "tool_use": "tool_calls",
    "length": "length",
    "max_tokens": "length",
    "model_length": "length",
    "content_filter": "content_filter",
    "safety": "content_filter",
    "recitation": "content_filter",
    "prohibited_content": "content_filter",
}


def map_finish_reason(raw: str | None, has_tool_calls: bool) -> FinishReason:
    """Provider finish reason → `FinishReason`. Missing means the stream just ended."""
    if not raw:
        return "tool_calls" if has_tool_calls else "stop"
    reason = _FINISH.get(raw.lower(), "other")
    # Gemini and some local servers say "stop" after emitting calls; the calls are what count.
    if reason == "stop" and has_tool_calls:
        return "tool_calls"
    return reason


class StreamAccumulator:
    """State of one streamed completion. Feed chunks in order, then call `finish()`."""

    __slots__ = (
        "_cited",
        "_details",
        "_reasoning",
        "_reasoning_content",
        "_refusal",
        "_text",
        "_think",
        "_tool_calls",
        "chunks",
        "finish_reason",
        "model",
        "usage",
    )

    def __init__(self, *, think_tags: bool = True) -> None:
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._tool_calls = ToolCallFragments()
        self._reasoning_content: list[str] = []
        self._details: dict[int, dict[str, Any]] = {}
        self._refusal = False
        self._cited = CitedSources()
        self._think = ThinkTagSplitter() if think_tags else None
        self.chunks = 0
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.model: str | None = None

    def feed(self, chunk: dict[str, Any]) -> Sequence[StreamEvent]:
        """Ingest one parsed chunk; return the events it produced (often one, maybe none)."""
        self.chunks += 1
        if self.model is None:
            model = chunk.get("model")
            if model and isinstance(model, str):
                self.model = model
        usage = chunk.get("usage")
        if usage:
            self._take_usage(usage)
        groq = chunk.get("x_groq")
        if groq and isinstance(groq, dict) and groq.get("usage"):
            self._take_usage(groq["usage"])
        choices = chunk.get("choices")
        if not choices or not isinstance(choices, list):
            return _NO_EVENTS
        choice = choices[0]
        if not isinstance(choice, dict):
            return _NO_EVENTS
        finish = choice.get("finish_reason")
        if finish:
            self.finish_reason = str(finish)
            if choice.get("usage"):
                self._take_usage(choice["usage"])
        delta = choice.get("delta")
        if not delta or not isinstance(delta, dict):
            return _NO_EVENTS
        content = delta.get("content")
        reasoning_content = delta.get("reasoning_content")
        reasoning = reasoning_content or delta.get("reasoning")
        tool_calls = delta.get("tool_calls")
        think = self._think
        if (
            content.__class__ is str
            and not reasoning
            and not tool_calls
            and (think is None or think.done)
            and len(delta) <= 2  # content and role at most: nothing else to look at
        ):
            # Hot path: a plain text delta.
            if not content:
                return _NO_EVENTS
            self._text.append(content)
            return (TextDelta(content),)
        events: list[StreamEvent] = []
        if reasoning and isinstance(reasoning, str):
            if think is not None:
                think.stop_watching()
            self._reasoning.append(reasoning)
            if reasoning_content:
                self._reasoning_content.append(reasoning)
            events.append(ReasoningDelta(reasoning))
        details = delta.get("reasoning_details")
        if details and isinstance(details, list):
            self._reasoning_details(details, events, shown=bool(reasoning))
        if content:
            if isinstance(content, str):
                self._content(content, events)
            elif isinstance(content, list):
                self._content_parts(content, events)
        refusal = delta.get("refusal")
        if refusal and isinstance(refusal, str):
            # A refusal is the answer: shown and stored as its text, never an empty answer.
            self._refusal = True
            self._text.append(refusal)
            events.append(TextDelta(refusal))
        if tool_calls and isinstance(tool_calls, list):
            for fragment in tool_calls:
                if isinstance(fragment, dict) and (named := self._tool_calls.add(fragment)):
                    events.append(named)
        annotations = delta.get("annotations")
        if annotations and (cited := self._cited.take(url_citations(annotations))):
            events.append(cited)  # a provider's web search (OpenRouter's web plugin)
        return events

    def finish(self) -> Completion:
        """The assembled completion (text, reasoning, calls in index order, usage)."""
        if self._think is not None:
            self._apply_think(self._think.flush(), [])
        tool_calls = self._tool_calls.finish()
        artefacts: dict[str, Any] = {}
        if self._reasoning_content:
            artefacts["reasoning_content"] = "".join(self._reasoning_content)
        if self._details:
            artefacts["reasoning_details"] = [self._details[i] for i in sorted(self._details)]
        return Completion(
            text="".join(self._text),
            reasoning="".join(self._reasoning),
            tool_calls=tool_calls,
            finish_reason=map_finish_reason(self.finish_reason, bool(tool_calls)),
            usage=self.usage,
            model=self.model,
            artefacts=artefacts,
            refusal=self._refusal,
        )

    # --- text with thinking inline, and structured reasoning -----------------------------

    def _content(self, content: str, events: list[StreamEvent]) -> None:
        think = self._think
        if think is None or think.done:
            self._text.append(content)
            events.append(TextDelta(content))
            return
        self._apply_think(think.feed(content), events)

    def _apply_think(self, pieces: Sequence[tuple[str, str]], events: list[StreamEvent]) -> None:
        for kind, piece in pieces:
            if kind == "text":
                self._text.append(piece)
                events.append(TextDelta(piece))
            elif kind == "reasoning":
                self._reasoning.append(piece)
                events.append(ReasoningDelta(piece))
            else:  # everything shown as text so far was thinking
                self._reasoning.extend(self._text)
                self._text.clear()
                events.append(TextWasReasoning())

    def _reasoning_details(
        self, details: list[Any], events: list[StreamEvent], *, shown: bool
    ) -> None:
        """Merge OpenRouter's `reasoning_details` fragments by index, exactly as sent."""
        for detail in details:
            if not isinstance(detail, dict):
                continue
            raw_index = detail.get("index")
            index = (
                raw_index
                if isinstance(raw_index, int) and not isinstance(raw_index, bool)
                else len(self._details)
            )
            known = self._details.get(index)
            if known is None:
                self._details[index] = dict(detail)
            else:
                for key, value in detail.items():
                    previous = known.get(key)
                    if (
                        key in _DETAIL_TEXT_FIELDS
                        and isinstance(previous, str)
                        and isinstance(value, str)
                    ):
                        known[key] = previous + value
                    elif value is not None:
                        known[key] = value
            if not shown:
                # Only structured details arrived: show their readable text as reasoning.
                for key in ("text", "summary"):
                    text = detail.get(key)
                    if isinstance(text, str) and text:
                        self._reasoning.append(text)
                        events.append(ReasoningDelta(text))

    # --- the less common paths -----------------------------------------------------------

    def _take_usage(self, raw: Any) -> None:
        if isinstance(raw, dict):
            self.usage = parse_usage(raw)

    def _content_parts(self, parts: list[Any], events: list[StreamEvent]) -> None:
        # Mistral reasoning models: [{"type": "thinking", "thinking": [{"type": "text", ...}]},
        # {"type": "text", "text": "..."}].
        for part in parts:
            if not isinstance(part, dict):
                continue
            kind = part.get("type")
            if kind == "text" and isinstance(part.get("text"), str) and part["text"]:
                self._text.append(part["text"])
                events.append(TextDelta(part["text"]))
            elif kind == "thinking":
                inner = part.get("thinking")
                texts = (
                    [inner]
                    if isinstance(inner, str)
                    else [p.get("text") for p in inner if isinstance(p, dict)]
                    if isinstance(inner, list)
                    else []
                )
                for text in texts:
                    if isinstance(text, str) and text:
                        self._reasoning.append(text)
                        events.append(ReasoningDelta(text))
