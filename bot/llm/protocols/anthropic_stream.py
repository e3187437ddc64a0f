"""Anthropic's Messages API: decoding the stream (`AnthropicDecoder`).

Events: `message_start` (model, input and cache usage), `content_block_start` / `_delta` /
`_stop` per content block by `index` (thinking with its signature, redacted thinking, text,
tool use with its input as partial JSON fragments), `message_delta` (stop reason, cumulative
usage), `message_stop` (the end), `ping`, and `error` (raised as `ProviderStreamError`). The
server web search's results (`web_search_tool_result` blocks) and citations
(`citations_delta`) become `SourcesCited`. Unknown event, block and delta types are ignored,
as Anthropic's versioning policy asks; a delta or stop for a block that never started (or
already stopped) is a malformed stream: `LLMBadResponseError`.

Usage is normalised to the inclusive convention of `Usage`: Anthropic's `input_tokens`
excludes cache reads and writes, so the prompt is their sum; `message_delta` counts are
cumulative, so each counter keeps the largest value seen (never added twice).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from bot.errors import LLMBadResponseError
from bot.llm.citations import CitedSources, anthropic_citation, anthropic_search_results
from bot.llm.protocols.base import ProviderStreamError
from bot.llm.types import (
    Completion,
    FinishReason,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallProgress,
    Usage,
)

log = logging.getLogger(__name__)

_NO_EVENTS: tuple[StreamEvent, ...] = ()

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
    "pause_turn": "other",
}

# Block kinds as the decoder tracks them (anything else is kept as "other" and ignored).
_TEXT = "text"
_THINKING = "thinking"
_REDACTED = "redacted_thinking"
_TOOL = "tool_use"
_OTHER = "other"


class _Block:
    """One content block being streamed. `parts` collects text, thinking or JSON fragments."""

    __slots__ = ("closed", "data", "id", "kind", "name", "parts", "seq", "signature")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.parts: list[str] = []
        self.closed = False
        self.signature: list[str] = []
        self.data: dict[str, Any] | None = None  # a redacted_thinking block, as received
        self.id = ""
        self.name = ""
        self.seq = 0  # position among the tool calls


def _count(value: Any) -> int:
    return value if value.__class__ is int and value > 0 else 0


def _bad(detail: str) -> LLMBadResponseError:
    return LLMBadResponseError(detail=f"malformed Anthropic stream: {detail}")


class AnthropicDecoder:
    """State of one streamed Messages API response. Feed parsed events, then `finish()`."""

    __slots__ = (
        "_blocks",
        "_cache_read",
        "_cache_write",
        "_calls",
        "_cited",
        "_input",
        "_order",
        "_output",
        "_reasoning",
        "_seen_usage",
        "_stop_reason",
        "_text",
        "_thinking_tokens",
        "chunks",
        "ended",
        "model",
    )

    def __init__(self) -> None:
        self._blocks: dict[int, _Block] = {}
        self._order: list[_Block] = []
        self._calls: list[_Block] = []
        self._cited = CitedSources()
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._input = self._cache_read = self._cache_write = 0
        self._output = self._thinking_tokens = 0
        self._seen_usage = False
        self._stop_reason: str | None = None
        self.chunks = 0
        self.ended = False
        self.model: str | None = None

    def feed(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        """Ingest one parsed event; return the stream events it produced (often one)."""
        self.chunks += 1
        kind = event.get("type")
        if kind == "content_block_delta":
            # Hot path: nearly every event of a response is a text or thinking delta.
            block = self._blocks.get(event.get("index", -1))
            delta = event.get("delta")
            if block is None or block.closed or delta.__class__ is not dict:
                raise self._bad_delta(event, block)
            delta_type = delta.get("type")
            if delta_type == "text_delta":
                text = delta.get("text")
                if block.kind != _TEXT or text.__class__ is not str:
                    raise _bad(f"text_delta for a {block.kind} block")
                if not text:
                    return _NO_EVENTS
                self._text.append(text)
                return (TextDelta(text),)
            if delta_type == "thinking_delta":
                thinking = delta.get("thinking")
                if block.kind != _THINKING or thinking.__class__ is not str:
                    raise _bad(f"thinking_delta for a {block.kind} block")
                if not thinking:
                    return _NO_EVENTS
                block.parts.append(thinking)
                self._reasoning.append(thinking)
                return (ReasoningDelta(thinking),)
            if delta_type == "input_json_delta":
                fragment = delta.get("partial_json")
                if block.kind == _TOOL and fragment.__class__ is str:
                    block.parts.append(fragment)
                    return _NO_EVENTS
                if block.kind == _OTHER:
                    return _NO_EVENTS  # server tools stream their input too; not ours to run
                raise _bad(f"input_json_delta for a {block.kind} block")
            if delta_type == "signature_delta":
                signature = delta.get("signature")
                if block.kind != _THINKING or signature.__class__ is not str:
                    raise _bad(f"signature_delta for a {block.kind} block")
                block.signature.append(signature)
                return _NO_EVENTS
            if delta_type == "citations_delta":  # its server web search's sources
                cited = self._cited.take(anthropic_citation(delta.get("citation")))
                return (cited,) if cited is not None else _NO_EVENTS
            log.debug("ignoring Anthropic delta type %r", delta_type)
            return _NO_EVENTS
        if kind == "content_block_start":
            return self._start(event)
        if kind == "content_block_stop":
            block = self._blocks.get(event.get("index", -1))
            if block is None or block.closed:
                state = "never started" if block is None else "already stopped"
                raise _bad(f"content_block_stop for block {event.get('index')!r}, {state}")
            block.closed = True
            return _NO_EVENTS
        if kind == "message_delta":
            delta = event.get("delta")
            if delta.__class__ is dict:
                reason = delta.get("stop_reason")
                if reason and reason.__class__ is str:
                    self._stop_reason = reason
            usage = event.get("usage")
            if usage.__class__ is dict:
                self._take_usage(usage)
            return _NO_EVENTS
        if kind == "message_start":
            message = event.get("message")
            if message.__class__ is dict:
                model = message.get("model")
                if model and model.__class__ is str:
                    self.model = model
                usage = message.get("usage")
                if usage.__class__ is dict:
                    self._take_usage(usage)
            return _NO_EVENTS
        if kind == "message_stop":
            self.ended = True
            return _NO_EVENTS
        if kind == "ping":
            return _NO_EVENTS
        if kind == "error":
            raise ProviderStreamError(event.get("error") or event)
        if kind == "message":
            return self._whole_message(event)
        log.debug("ignoring Anthropic event type %r", kind)
        return _NO_EVENTS

    def finish(self) -> Completion:
        """The assembled completion: text, reasoning, tool calls, usage, thinking blocks."""
        calls = tuple(
            ToolCall(id=call.id, name=call.name, arguments="".join(call.parts) or "{}")
            for call in self._calls
        )
        thinking_blocks: list[dict[str, Any]] = []
        for block in self._order:
            if block.kind == _THINKING:
                thinking_blocks.append(
                    {
                        "type": "thinking",
                        "thinking": "".join(block.parts),
                        "signature": "".join(block.signature),
                    }
                )
            elif block.kind == _REDACTED and block.data is not None:
                thinking_blocks.append(block.data)
        reason = self._stop_reason
        if reason is None:
            finish: FinishReason = "tool_calls" if calls else "stop"
        else:
            finish = _FINISH.get(reason, "other")
        return Completion(
            text="".join(self._text),
            reasoning="".join(self._reasoning),
            tool_calls=calls,
            finish_reason=finish,
            usage=self._usage(),
            model=self.model,
            artefacts={"thinking_blocks": thinking_blocks} if thinking_blocks else {},
        )

    # --- the less frequent events ----------------------------------------------------------

    def _start(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        index = event.get("index")
        content = event.get("content_block")
        if index.__class__ is not int or index < 0 or content.__class__ is not dict:
            raise _bad("content_block_start without a block index and a content_block")
        if index in self._blocks:
            raise _bad(f"content_block_start for block {index}, which had already started")
        kind = content.get("type")
        if kind == "text":
            block = _Block(_TEXT)
            events: list[StreamEvent] = []
            text = content.get("text")
            if text and isinstance(text, str):
                self._text.append(text)
                events.append(TextDelta(text))
            citations = content.get("citations")  # a whole block's, as a list
            if isinstance(citations, list):
                found = [s for c in citations for s in anthropic_citation(c)]
                if cited := self._cited.take(found):
                    events.append(cited)
            self._add(index, block)
            return events
        if kind == "thinking":
            block = _Block(_THINKING)
            self._add(index, block)
            signature = content.get("signature")
            if signature and isinstance(signature, str):
                block.signature.append(signature)
            thinking = content.get("thinking")
            if thinking and isinstance(thinking, str):
                block.parts.append(thinking)
                self._reasoning.append(thinking)
                return (ReasoningDelta(thinking),)
            return _NO_EVENTS
        if kind == "redacted_thinking":
            block = _Block(_REDACTED)
            block.data = dict(content)
            self._add(index, block)
            return _NO_EVENTS
        if kind == "tool_use":
            block = _Block(_TOOL)
            call_id, name = content.get("id"), content.get("name")
            block.id = call_id if isinstance(call_id, str) else ""
            block.name = name if isinstance(name, str) else ""
            given = content.get("input")
            if isinstance(given, dict) and given:
                # A whole input in the start event (non-streamed shape): kept as the JSON.
                block.parts.append(json.dumps(given, ensure_ascii=False))
            block.seq = len(self._calls)
            self._calls.append(block)
            self._add(index, block)
            return (ToolCallProgress(index=block.seq, name=block.name),)
        self._add(index, _Block(_OTHER))
        if kind == "web_search_tool_result":  # its server web search's results
            cited = self._cited.take(anthropic_search_results(content))
            return (cited,) if cited is not None else _NO_EVENTS
        log.debug("ignoring Anthropic content block type %r", kind)
        return _NO_EVENTS

    def _add(self, index: int, block: _Block) -> None:
        self._blocks[index] = block
        self._order.append(block)

    def _bad_delta(self, event: dict[str, Any], block: _Block | None) -> LLMBadResponseError:
        index = event.get("index")
        if block is None:
            return _bad(f"content_block_delta for block {index!r}, which never started")
        if block.closed:
            return _bad(f"content_block_delta for block {index!r} after its content_block_stop")
        return _bad(f"content_block_delta for block {index!r} without a delta object")

    def _take_usage(self, usage: dict[str, Any]) -> None:
        # Counts are cumulative (message_start, then message_delta): keep the largest.
        self._seen_usage = True
        self._input = max(self._input, _count(usage.get("input_tokens")))
        self._cache_read = max(self._cache_read, _count(usage.get("cache_read_input_tokens")))
        self._cache_write = max(self._cache_write, _count(usage.get("cache_creation_input_tokens")))
        self._output = max(self._output, _count(usage.get("output_tokens")))
        details = usage.get("output_tokens_details")
        if details.__class__ is dict:
            self._thinking_tokens = max(
                self._thinking_tokens, _count(details.get("thinking_tokens"))
            )

    def _usage(self) -> Usage | None:
        if not self._seen_usage:
            return None
        return Usage(
            prompt_tokens=self._input + self._cache_read + self._cache_write,
            completion_tokens=self._output,
            cached_tokens=self._cache_read,
            reasoning_tokens=min(self._thinking_tokens, self._output),
            cache_write_tokens=self._cache_write,
        )

    def _whole_message(self, message: dict[str, Any]) -> Sequence[StreamEvent]:
        """A non-streamed Message (a server that ignored `stream`), replayed as events."""
        events: list[StreamEvent] = list(self.feed({"type": "message_start", "message": message}))
        content = message.get("content")
        for index, block in enumerate(content if isinstance(content, list) else ()):
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            start = dict(block)
            if kind == "tool_use":
                start["input"] = {}
            events += self.feed(
                {"type": "content_block_start", "index": index, "content_block": start}
            )
            if kind == "tool_use":
                given = block.get("input")
                fragment = json.dumps(given if isinstance(given, dict) else {}, ensure_ascii=False)
                delta = {"type": "input_json_delta", "partial_json": fragment}
                events += self.feed({"type": "content_block_delta", "index": index, "delta": delta})
        reason = message.get("stop_reason")
        self.feed({"type": "message_delta", "delta": {"stop_reason": reason}})
        self.ended = True
        return events
