"""OpenAI's Responses API (`protocol = "responses"`), used statelessly: `POST {base}/responses`.

Owns the request body and the decoding of the streamed semantic events.

Request: system messages become `instructions`; the conversation becomes `input` items (user
and assistant messages, `function_call` and `function_call_output` items, and before an
assistant turn the `reasoning` items its model produced). `store` is false, so nothing lives on
OpenAI's side between calls: every item the model needs is sent again, and no item carries an
`id` (ids point at stored items; OpenAI answers "Item with id … not found" or rejects an item
whose paired reasoning or follow-up is missing, and Azure rejects reasoning ids outright when
`store` is false). Reasoning items keep their `encrypted_content`, which is what carries the
model's state across calls; `include: ["reasoning.encrypted_content"]` asks for it, but only
for reasoning models (o-series, gpt-5 except its chat variants, codex) or when the model's
params configure `reasoning`, because other models reject the request outright ("Encrypted
content is not supported with this model"). Params can override `include` either way. Tools
are sent with `strict: false` because the Responses API otherwise normalises schemas into
strict mode, making every optional parameter required.

Stream: `response.created` → `response.output_item.added` (message, reasoning, function_call
items) → deltas (`output_text`, `refusal`, `reasoning_summary_text`, `reasoning_text`,
`function_call_arguments`) → `response.output_item.done` (the final item) → one terminal
event: `response.completed`, `response.incomplete` (output limit, content filter) or
`response.failed`; an `error` event may come at any point. There is no `[DONE]`. The final
reasoning items (with `encrypted_content`) become `Completion.artefacts["reasoning_items"]`
exactly as received; usage is OpenAI's inclusive convention already (cached tokens are part of
`input_tokens`, reasoning tokens part of `output_tokens`). A non-streamed `response` object
(a server that ignored `stream`) is decoded as a terminal event carrying its whole output.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.errors import LLMBadResponseError
from bot.llm.protocols.base import CallOptions, ProviderStreamError, merge_params
from bot.llm.types import (
    Artefacts,
    ChatRequest,
    Completion,
    FinishReason,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallProgress,
    Usage,
)

__all__ = ["ResponsesDecoder", "ResponsesProtocol", "is_reasoning_model", "parse_responses_usage"]

_NO_EVENTS: tuple[StreamEvent, ...] = ()
# The Responses API refuses a smaller output limit (chat completions accepts any).
_MIN_OUTPUT_TOKENS = 16
# o1, o3-mini, o4-mini, gpt-5, gpt-5.1-codex, codex-mini… but not gpt-5-chat-latest, which
# rejects encrypted reasoning like the non-reasoning models do.
_REASONING_MODEL = re.compile(r"^(?:o\d|gpt-5(?!.*chat))|codex")
_INCOMPLETE: dict[str, FinishReason] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}


def is_reasoning_model(model: str) -> bool:
    """Whether an OpenAI model name is a reasoning model (a `provider/` prefix is ignored)."""
    return _REASONING_MODEL.search(model.rsplit("/", 1)[-1].lower()) is not None


def _bad(detail: str) -> LLMBadResponseError:
    return LLMBadResponseError(detail=f"responses stream: {detail}")


def _count(value: Any) -> int:
    if value.__class__ is int:
        return max(int(value), 0)
    if isinstance(value, float) and math.isfinite(value):
        return max(int(value), 0)
    return 0


def _detail(obj: Mapping[str, Any], key: str, field: str) -> int:
    details = obj.get(key)
    return _count(details.get(field)) if isinstance(details, Mapping) else 0


def parse_responses_usage(obj: Mapping[str, Any]) -> Usage:
    """`response.usage` → `Usage`. Already inclusive: `input_tokens` counts the cached and
    cache-written tokens, `output_tokens` the reasoning tokens; a sub-count above its total
    (a server counting exclusively) widens the total so nothing is billed twice."""
    prompt = _count(obj.get("input_tokens"))
    completion = _count(obj.get("output_tokens"))
    cached = _detail(obj, "input_tokens_details", "cached_tokens")
    written = _detail(obj, "input_tokens_details", "cache_write_tokens")
    reasoning = _detail(obj, "output_tokens_details", "reasoning_tokens")
    prompt = max(prompt, cached + written)
    completion = max(completion, reasoning)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        reasoning_tokens=reasoning,
        cache_write_tokens=written,
    )


class _Call:
    __slots__ = ("args", "call_id", "done", "index", "item_id", "name")

    def __init__(self, index: int, item_id: Any, call_id: str, name: str, arguments: str) -> None:
        self.index = index
        self.item_id = item_id
        self.call_id = call_id
        self.name = name
        self.args: list[str] = [arguments] if arguments else []
        self.done = False


def _text(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    raise _bad(f"{what} is not a string")


class ResponsesDecoder:
    """State of one streamed response: feed parsed events in order, then `finish()`."""

    __slots__ = (
        "_calls",
        "_calls_by_output",
        "_chunks",
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
        self._calls: dict[Any, _Call] = {}  # by item id (call_id when the item has none)
        self._calls_by_output: dict[Any, _Call] = {}  # by output_index
        # The reasoning part (item id, index) the last reasoning text belonged to.
        self._part: tuple[Any, int] | None = None
        self._finish_reason: FinishReason = "other"
        self._usage: Usage | None = None
        # One bound method per event type: feed() is a dict lookup and a call.
        self._handlers: dict[Any, Callable[[dict[str, Any]], Sequence[StreamEvent]]] = {
            "response.output_text.delta": self._text_delta,
            "response.reasoning_summary_text.delta": self._summary_delta,
            "response.function_call_arguments.delta": self._arguments_delta,
            "response.reasoning_text.delta": self._reasoning_text_delta,
            "response.refusal.delta": self._refusal_delta,
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
        return _NO_EVENTS  # events we have no use for (content parts, annotations, hosted tools)

    def finish(self) -> Completion:
        calls = sorted(self._calls.values(), key=lambda c: c.index)
        tool_calls = tuple(ToolCall(c.call_id, c.name, "".join(c.args)) for c in calls)
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
            raise _bad(f"text for item {event.get('item_id')!r}, which was never added")
        delta = event.get("delta")
        if delta.__class__ is not str:
            raise _bad("a text delta is not a string")
        if not delta:
            return _NO_EVENTS
        self._text.append(delta)
        return (TextDelta(delta),)

    def _refusal_delta(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        if event.get("item_id") not in self._messages:
            raise _bad(f"refusal for item {event.get('item_id')!r}, which was never added")
        delta = _text(event.get("delta"), "a refusal delta")
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
            raise _bad(f"reasoning {what} for item {item_id!r}, which was never added")
        delta = event.get("delta")
        if delta.__class__ is not str:
            raise _bad(f"a reasoning {what} delta is not a string")
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
        call = self._call_for(event)
        delta = event.get("delta")
        if delta.__class__ is not str:
            raise _bad("a function call arguments delta is not a string")
        call.args.append(delta)
        return _NO_EVENTS

    def _arguments_done(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        call = self._call_for(event)
        arguments = event.get("arguments")
        if arguments.__class__ is str:
            call.args = [arguments]
        return _NO_EVENTS

    def _call_for(self, event: dict[str, Any]) -> _Call:
        item_id = event.get("item_id")
        call = self._calls.get(item_id)
        if call is None:
            # A call item without an id is routed by its position in the output.
            call = self._calls_by_output.get(event.get("output_index"))
            if call is None or call.item_id is not None:
                raise _bad(f"arguments for function call {item_id!r}, which was never added")
        return call

    # --- items ---------------------------------------------------------------------------

    def _item_added(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        item = event.get("item")
        if item.__class__ is not dict:
            raise _bad("an added output item is not an object")
        kind = item.get("type")
        if kind == "message":
            self._messages.add(item.get("id"))
        elif kind == "reasoning":
            self._reasoning_ids.add(item.get("id"))
        elif kind == "function_call":
            return self._add_call(item, event.get("output_index"))
        return _NO_EVENTS

    def _add_call(self, item: dict[str, Any], output_index: Any) -> Sequence[StreamEvent]:
        call_id = _text(item.get("call_id"), "a function call's call_id")
        name = _text(item.get("name"), "a function call's name")
        arguments = _text(item.get("arguments"), "a function call's arguments")
        item_id = item.get("id")
        call = _Call(len(self._calls), item_id, call_id, name, arguments)
        self._calls[item_id or call_id] = call
        if output_index is not None:
            self._calls_by_output[output_index] = call
        return (ToolCallProgress(call.index, name),)

    def _item_done(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        item = event.get("item")
        if item.__class__ is not dict:
            raise _bad("a finished output item is not an object")
        kind = item.get("type")
        if kind == "reasoning":
            return self._reasoning_item(item)
        if kind == "function_call":
            return self._call_item(item, event.get("output_index"))
        if kind == "message" and item.get("id") not in self._messages:
            return self._message_item(item)
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

    def _call_item(self, item: dict[str, Any], output_index: Any) -> Sequence[StreamEvent]:
        call = self._calls.get(item.get("id") or item.get("call_id"))
        events: Sequence[StreamEvent] = _NO_EVENTS
        if call is None:
            events = self._add_call(item, output_index)
            call = self._calls[item.get("id") or item.get("call_id")]
        call.call_id = _text(item.get("call_id"), "a function call's call_id") or call.call_id
        call.name = _text(item.get("name"), "a function call's name") or call.name
        arguments = item.get("arguments")
        if arguments.__class__ is str:
            call.args = [arguments]
        call.done = True
        return events

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
                text = _text(part.get("text"), "a message's text")
            elif kind == "refusal":
                text = _text(part.get("refusal"), "a message's refusal")
                self._refusal = True
            else:
                continue
            if text:
                self._text.append(text)
                out.append(TextDelta(text))
        return out

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
            raise _bad(f"{event.get('type')} carries no response object")
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
                raise _bad("an output item of the response is not an object")
            kind = item.get("type")
            item_id = item.get("id")
            if kind == "message" and item_id not in self._messages:
                events.extend(self._message_item(item))
            elif kind == "reasoning" and item_id not in self._reasoning_done:
                events.extend(self._reasoning_item(item))
            elif kind == "function_call":
                call = self._calls.get(item_id or item.get("call_id"))
                if call is None or not call.done:
                    events.extend(self._call_item(item, index))
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


def _reasoning_input(item: Mapping[str, Any]) -> dict[str, Any]:
    """A received reasoning item as an input item: everything but its `id` (see the module
    docstring: with `store` false an id references nothing, and servers reject it)."""
    return {key: value for key, value in item.items() if key != "id"}


class ResponsesProtocol:
    name = "responses"
    requires_end_event = True

    def endpoint(self, base_url: str) -> str:
        return f"{base_url}/responses"

    def headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def body(self, request: ChatRequest, options: CallOptions) -> dict[str, Any]:
        instructions: list[str] = []
        items: list[dict[str, Any]] = []
        for message in request.messages:
            role = message.role
            if role == "system":
                if message.content:
                    instructions.append(message.content)
            elif role == "user" and message.images:
                parts: list[dict[str, Any]] = [
                    {"type": "input_text", "text": message.content or ""}
                ]
                parts += [
                    {"type": "input_image", "image_url": image.data_url} for image in message.images
                ]
                items.append({"role": "user", "content": parts})
            elif role == "user":
                items.append({"role": "user", "content": message.content or ""})
            elif role == "tool":
                items.append(
                    {
                        "type": "function_call_output",
                        "call_id": message.tool_call_id or "",
                        "output": message.content or "",
                    }
                )
            else:
                _assistant_items(message.content, message.tool_calls, message.artefacts, items)
        body: dict[str, Any] = {"model": request.model}
        if instructions:
            body["instructions"] = "\n\n".join(instructions)
        body["input"] = items
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": dict(tool.parameters),
                    "strict": False,
                }
                for tool in request.tools
            ]
            if request.tool_choice is not None:
                body["tool_choice"] = request.tool_choice
        if request.max_tokens is not None:
            body["max_output_tokens"] = max(request.max_tokens, _MIN_OUTPUT_TOKENS)
        if request.temperature is not None:
            body["temperature"] = request.temperature
        body["stream"] = True
        body["store"] = False
        if is_reasoning_model(request.model) or "reasoning" in options.params:
            body["include"] = ["reasoning.encrypted_content"]
        return merge_params(body, options.params) if options.params else body

    def decoder(self, request: ChatRequest, options: CallOptions) -> ResponsesDecoder:
        return ResponsesDecoder()


def _assistant_items(
    content: str | None,
    calls: Sequence[ToolCall],
    artefacts: Artefacts | None,
    items: list[dict[str, Any]],
) -> None:
    """One assistant turn as input items: its reasoning, its text, its function calls."""
    if not content and not calls:
        return  # nothing to send; reasoning alone would lack the item it must precede
    if artefacts is not None:
        reasoning = artefacts.data.get("reasoning_items")
        if isinstance(reasoning, list):
            items.extend(_reasoning_input(r) for r in reasoning if isinstance(r, Mapping))
    if content:
        items.append({"role": "assistant", "content": content})
    for call in calls:
        # No item `id`: `call_id` pairs the call with its output, and ids are not stored.
        items.append(
            {
                "type": "function_call",
                "call_id": call.id,
                "name": call.name,
                "arguments": call.arguments,
            }
        )
