"""Decoding the streamed events of OpenAI's Responses API (see `bot.llm.protocols.responses`).

Stream: `response.created` → `response.output_item.added` (message, reasoning, function_call
items) → deltas (`output_text`, `refusal`, `reasoning_summary_text`, `reasoning_text`,
`function_call_arguments`) → `response.output_item.done` (the final item) → one terminal
event: `response.completed`, `response.incomplete` (output limit, content filter) or
`response.failed`; an `error` event may come at any point. `url_citation` annotations (the
provider's web search: `response.output_text.annotation.added`, or on the parts of a whole
message) become `SourcesCited` events. There is no `[DONE]`. The final
reasoning items (with `encrypted_content`) become `Completion.artefacts["reasoning_items"]`
exactly as received; usage is OpenAI's inclusive convention already (cached tokens are part of
`input_tokens`, reasoning tokens part of `output_tokens`). A non-streamed `response` object
(a server that ignored `stream`) is decoded as a terminal event carrying its whole output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.llm.citations import CitedSources, message_citations, url_citations
from bot.llm.protocols.base import ProviderStreamError
from bot.llm.protocols.responses_calls import FunctionCalls, bad, text_field
from bot.llm.protocols.responses_usage import parse_responses_usage
from bot.llm.types import (
    Completion,
    FinishReason,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    Usage,
)

__all__ = ["ResponsesDecoder"]

_NO_EVENTS: tuple[StreamEvent, ...] = ()
_INCOMPLETE: dict[str, FinishReason] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}


class ResponsesDecoder:
    """State of one streamed response: feed parsed events in order, then `finish()`."""

    __slots__ = (
        "_calls",
        "_chunks",
        "_cited",
        "_ended",
        "_finish_reason",
        "_handlers",
        "_messages",
        "_model",
        "_part",
        "_reasoning",
        "_reasoning_done",
        "_reasoning_ids",
        "_reasoning_items",
        "_refusal",
        "_text",
        "_usage",
    )

    def __init__(self) -> None:
        self._chunks = 0
        self._ended = False
        self._model: str | None = None
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._refusal = False
        self._messages: set[Any] = set()  # ids of message items added
        self._reasoning_ids: set[Any] = set()  # ids of reasoning items added
        self._reasoning_done: set[Any] = set()  # ids whose final item was taken
        self._reasoning_items: list[dict[str, Any]] = []
        self._calls = FunctionCalls()
        # The reasoning part (item id, index) the last reasoning text belonged to.
        self._part: tuple[Any, int] | None = None
        self._cited = CitedSources()
        self._finish_reason: FinishReason = "other"
        self._usage: Usage | None = None
        # One bound method per event type: feed() is a dict lookup and a call.
        self._handlers: dict[Any, Callable[[dict[str, Any]], Sequence[StreamEvent]]] = {
            "response.output_text.delta": self._text_delta,
            "response.reasoning_summary_text.delta": self._summary_delta,
            "response.function_call_arguments.delta": self._arguments_delta,
            "response.reasoning_text.delta": self._reasoning_text_delta,
            "response.refusal.delta": self._refusal_delta,
            "response.output_text.annotation.added": self._annotation,
            "response.output_item.added": self._item_added,
            "response.output_item.done": self._item_done,
            "response.function_call_arguments.done": self._arguments_done,
            "response.created": self._started,
            "response.in_progress": self._started,
            "response.completed": self._terminal_event,
            "response.incomplete": self._terminal_event,
            "response.failed": self._failed,
            "error": self._error,
        }

    @property
    def chunks(self) -> int:
        return self._chunks

    @property
    def ended(self) -> bool:
        return self._ended

    def feed(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        self._chunks += 1
        handler = self._handlers.get(event.get("type"))
        if handler is not None:
            return handler(event)
        if event.get("object") == "response" and "type" not in event:
            return self._terminal(event)  # a whole, non-streamed response
        return _NO_EVENTS  # events we have no use for (content parts, hosted tools)

    def finish(self) -> Completion:
        tool_calls = self._calls.tool_calls()
        artefacts = (
            {"reasoning_items": list(self._reasoning_items)} if self._reasoning_items else {}
        )
        return Completion(
            text="".join(self._text),
            reasoning="".join(self._reasoning),
            tool_calls=tool_calls,
            finish_reason=self._finish_reason,
            usage=self._usage,
            model=self._model,
            artefacts=artefacts,
            refusal=self._refusal,
        )

    # --- deltas (the hot path) ---------------------------------------------------------

    def _text_delta(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        if event.get("item_id") not in self._messages:
            raise bad(f"text for item {event.get('item_id')!r}, which was never added")
        delta = event.get("delta")
        if delta.__class__ is not str:
            raise bad("a text delta is not a string")
        if not delta:
            return _NO_EVENTS
        self._text.append(delta)
        return (TextDelta(delta),)

    def _refusal_delta(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        if event.get("item_id") not in self._messages:
            raise bad(f"refusal for item {event.get('item_id')!r}, which was never added")
        delta = text_field(event.get("delta"), "a refusal delta")
        self._refusal = True
        if not delta:
            return _NO_EVENTS
        self._text.append(delta)
        return (TextDelta(delta),)

    def _summary_delta(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        return self._reasoning_delta(event, event.get("summary_index"), "summary")

    def _reasoning_text_delta(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        index = event.get("content_index")
        # Negative so a content part never shares a key with a summary part of the same item.
        return self._reasoning_delta(event, -1 - index if index.__class__ is int else -1, "text")

    def _reasoning_delta(
        self, event: dict[str, Any], index: Any, what: str
    ) -> Sequence[StreamEvent]:
        item_id = event.get("item_id")
        if item_id not in self._reasoning_ids:
            raise bad(f"reasoning {what} for item {item_id!r}, which was never added")
        delta = event.get("delta")
        if delta.__class__ is not str:
            raise bad(f"a reasoning {what} delta is not a string")
        if not delta:
            return _NO_EVENTS
        part = self._part
        if part is None or part[0] != item_id or part[1] != index:
            self._part = (item_id, index)
            if part is not None:
                delta = "\n\n" + delta  # summary parts are separate paragraphs
        self._reasoning.append(delta)
        return (ReasoningDelta(delta),)

    def _arguments_delta(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        self._calls.arguments_delta(event)
        return _NO_EVENTS

    def _arguments_done(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        self._calls.arguments_done(event)
        return _NO_EVENTS

    # --- items ---------------------------------------------------------------------------

    def _item_added(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        item = event.get("item")
        if item.__class__ is not dict:
            raise bad("an added output item is not an object")
        kind = item.get("type")
        if kind == "message":
            self._messages.add(item.get("id"))
        elif kind == "reasoning":
            self._reasoning_ids.add(item.get("id"))
        elif kind == "function_call":
            return self._calls.add(item, event.get("output_index"))
        return _NO_EVENTS

    def _item_done(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        item = event.get("item")
        if item.__class__ is not dict:
            raise bad("a finished output item is not an object")
        kind = item.get("type")
        if kind == "reasoning":
            return self._reasoning_item(item)
        if kind == "function_call":
            return self._calls.finished(item, event.get("output_index"))
        if kind == "message":
            if item.get("id") not in self._messages:
                return self._message_item(item)
            return self._annotations_of(item)
        return _NO_EVENTS

    def _reasoning_item(self, item: dict[str, Any]) -> Sequence[StreamEvent]:
        item_id = item.get("id")
        if item_id in self._reasoning_done:
            return _NO_EVENTS
        self._reasoning_done.add(item_id)
        encrypted = item.get("encrypted_content")
        # Without its encrypted content a reasoning item means nothing to a stateless server.
        if encrypted.__class__ is str and encrypted:
            self._reasoning_items.append(item)
        if item_id in self._reasoning_ids:
            return _NO_EVENTS
        # Never streamed (a server that sends only whole items): show its summary now.
        self._reasoning_ids.add(item_id)
        summary = item.get("summary")
        if summary.__class__ is not list:
            return _NO_EVENTS
        texts = [p.get("text") for p in summary if p.__class__ is dict]
        text = "\n\n".join(t for t in texts if t.__class__ is str and t)
        if not text:
            return _NO_EVENTS
        if self._reasoning:
            text = "\n\n" + text
        self._part = (item_id, len(summary))
        self._reasoning.append(text)
        return (ReasoningDelta(text),)

    def _message_item(self, item: dict[str, Any]) -> Sequence[StreamEvent]:
        """A message never streamed as deltas (it came whole): its text as one delta."""
        self._messages.add(item.get("id"))
        content = item.get("content")
        if content.__class__ is not list:
            return _NO_EVENTS
        out: list[StreamEvent] = []
        for part in content:
            if part.__class__ is not dict:
                continue
            kind = part.get("type")
            if kind == "output_text":
                text = text_field(part.get("text"), "a message's text")
            elif kind == "refusal":
                text = text_field(part.get("refusal"), "a message's refusal")
                self._refusal = True
            else:
                continue
            if text:
                self._text.append(text)
                out.append(TextDelta(text))
        out.extend(self._annotations_of(item))
        return out

    # --- sources cited by the provider's own web search ----------------------------------

    def _annotation(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        cited = self._cited.take(url_citations([event.get("annotation")]))
        return (cited,) if cited is not None else _NO_EVENTS

    def _annotations_of(self, item: dict[str, Any]) -> Sequence[StreamEvent]:
        cited = self._cited.take(message_citations(item))
        return (cited,) if cited is not None else _NO_EVENTS

    # --- lifecycle -----------------------------------------------------------------------

    def _started(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        response = event.get("response")
        if response.__class__ is dict:
            model = response.get("model")
            if model.__class__ is str and model:
                self._model = model
        return _NO_EVENTS

    def _terminal_event(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        response = event.get("response")
        if response.__class__ is not dict:
            raise bad(f"{event.get('type')} carries no response object")
        return self._terminal(response)

    def _terminal(self, response: dict[str, Any]) -> Sequence[StreamEvent]:
        status = response.get("status")
        if status == "failed":
            self._raise_failed(response)
        model = response.get("model")
        if model.__class__ is str and model:
            self._model = model
        events = self._absorb(response.get("output"))
        usage = response.get("usage")
        if usage.__class__ is dict:
            self._usage = parse_responses_usage(usage)
        if status == "incomplete":
            details = response.get("incomplete_details")
            reason = details.get("reason") if isinstance(details, dict) else None
            self._finish_reason = (
                _INCOMPLETE.get(reason, "other") if isinstance(reason, str) else "other"
            )
        else:
            self._finish_reason = "tool_calls" if self._calls else "stop"
        self._ended = True
        return events

    def _absorb(self, output: Any) -> Sequence[StreamEvent]:
        """Items of the final output that the stream did not deliver (whole responses, or
        servers that skip `output_item.done`); what was streamed already is kept as is."""
        if output.__class__ is not list:
            return _NO_EVENTS
        events: list[StreamEvent] = []
        for index, item in enumerate(output):
            if item.__class__ is not dict:
                raise bad("an output item of the response is not an object")
            kind = item.get("type")
            item_id = item.get("id")
            if kind == "message" and item_id not in self._messages:
                events.extend(self._message_item(item))
            elif kind == "reasoning" and item_id not in self._reasoning_done:
                events.extend(self._reasoning_item(item))
            elif kind == "function_call" and not self._calls.is_done(item):
                events.extend(self._calls.finished(item, index))
        return events

    def _failed(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        response = event.get("response")
        self._raise_failed(response if response.__class__ is dict else {})
        return _NO_EVENTS

    def _raise_failed(self, response: dict[str, Any]) -> None:
        error = response.get("error")
        if not error:
            error = {"message": "the response failed without an error object", "code": None}
        raise ProviderStreamError(error)

    def _error(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        nested = event.get("error")
        raise ProviderStreamError(nested if nested.__class__ is dict else event)
