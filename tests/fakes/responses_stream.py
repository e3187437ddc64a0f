"""`ResponseStream`: one streamed Responses API answer built event by event, in the documented
order, as `FakeResponsesServer` plays it; the builders in `tests/fakes/responses_scripts.py`
drive it. Ids are unique across the process, reasoning state is opaque like OpenAI's, and
`scripted()` turns the events so far into the `ResponsesScripted` the fake serves. No pytest
imports.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.http_fake import Scripted
from tests.fakes.llm_scripts import split_every

DEFAULT_MODEL = "gpt-4.1-mini"
REASONING_MODEL = "o4-mini"
# Inclusive like OpenAI's: 1,024 of the 1,200 input tokens were cached, 200 of the 300
# output tokens were reasoning.
DEFAULT_USAGE: dict[str, Any] = {
    "input_tokens": 1200,
    "input_tokens_details": {"cached_tokens": 1024},
    "output_tokens": 300,
    "output_tokens_details": {"reasoning_tokens": 200},
    "total_tokens": 1500,
}

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    """A process-unique id shaped like OpenAI's (`rs_…`, `fc_…`, `call_…`, `msg_…`)."""
    return f"{prefix}_{next(_ids):040x}"


def encrypted_for(item_id: str) -> str:
    """Opaque reasoning state, shaped like OpenAI's Fernet tokens (`gAAAAA…`)."""
    return "gAAAAAB" + base64.b64encode(f"fake reasoning state of {item_id}".encode()).decode()


@dataclass
class ResponsesScripted(Scripted):
    """One answer to one POST /responses. `events` are the SSE payloads as sent; `output` the
    final output items, which the fake records as issued when it plays this answer."""

    events: list[dict[str, Any]] = field(default_factory=list)
    output: list[dict[str, Any]] = field(default_factory=list)


def sse_event(event: dict[str, Any]) -> bytes:
    """One Responses SSE event: the type as an `event:` line and again inside the JSON."""
    payload = json.dumps(event, ensure_ascii=False)
    return f"event: {event['type']}\ndata: {payload}\n\n".encode()


class ResponseStream:
    """Builds one streamed response in the documented event order."""

    def __init__(self, model: str = DEFAULT_MODEL, *, chunk_size: int = 8) -> None:
        self.model = model
        self.chunk_size = chunk_size
        self.id = new_id("resp")
        self.events: list[dict[str, Any]] = []
        self.output: list[dict[str, Any]] = []
        self.emit("response.created", response=self.response("in_progress", []))
        self.emit("response.in_progress", response=self.response("in_progress", []))

    def emit(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": len(self.events), **fields}
        self.events.append(event)
        return event

    def response(self, status: str, output: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "response",
            "created_at": 1741476542,
            "status": status,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "max_output_tokens": None,
            "model": self.model,
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "store": False,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": [],
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": None,
            "user": None,
            "metadata": {},
            **fields,
        }

    # --- output items ----------------------------------------------------------------------

    def reasoning(
        self, summary: Sequence[str] = (), *, text: str = "", encrypted: bool = True
    ) -> dict[str, Any]:
        """A reasoning item: summary parts streamed as `reasoning_summary_text` deltas, raw
        `text` (open-weight models) as `reasoning_text` deltas, and encrypted content."""
        index = len(self.output)
        item_id = new_id("rs")
        self.emit("response.output_item.added", output_index=index, item={
            "id": item_id, "type": "reasoning", "summary": [],
        })  # fmt: skip
        for n, part in enumerate(summary):
            where = {"item_id": item_id, "output_index": index, "summary_index": n}
            self.emit(
                "response.reasoning_summary_part.added",
                **where,
                part={"type": "summary_text", "text": ""},
            )
            for piece in split_every(part, self.chunk_size):
                self.emit(
                    "response.reasoning_summary_text.delta",
                    **where,
                    delta=piece,
                    obfuscation="x9",
                )
            self.emit("response.reasoning_summary_text.done", **where, text=part)
            self.emit(
                "response.reasoning_summary_part.done",
                **where,
                part={"type": "summary_text", "text": part},
            )
        item: dict[str, Any] = {
            "id": item_id,
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": part} for part in summary],
        }
        if text:
            where = {"item_id": item_id, "output_index": index, "content_index": 0}
            for piece in split_every(text, self.chunk_size):
                self.emit("response.reasoning_text.delta", **where, delta=piece)
            self.emit("response.reasoning_text.done", **where, text=text)
            item["content"] = [{"type": "reasoning_text", "text": text}]
        if encrypted:
            item["encrypted_content"] = encrypted_for(item_id)
        return self._done(index, item)

    def message(self, text: str, *, cites: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
        """A message; `cites` (title, url) become url_citation annotations of its text."""
        return self._message("output_text", text, cites)

    def refusal(self, text: str) -> dict[str, Any]:
        return self._message("refusal", text)

    def web_search_call(self, query: str) -> dict[str, Any]:
        """The hosted web_search tool's item (OpenAI runs it; nothing for the client to do)."""
        index = len(self.output)
        item_id = new_id("ws")
        head = {"id": item_id, "type": "web_search_call"}
        self.emit("response.output_item.added", output_index=index, item={
            **head, "status": "in_progress",
        })  # fmt: skip
        for phase in ("in_progress", "searching", "completed"):
            self.emit(f"response.web_search_call.{phase}", output_index=index, item_id=item_id)
        action = {"type": "search", "query": query}
        return self._done(index, {**head, "status": "completed", "action": action})

    def _message(
        self, kind: str, text: str, cites: Sequence[tuple[str, str]] = ()
    ) -> dict[str, Any]:
        index = len(self.output)
        item_id = new_id("msg")
        self.emit("response.output_item.added", output_index=index, item={
            "id": item_id, "type": "message", "status": "in_progress", "content": [],
            "role": "assistant",
        })  # fmt: skip
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        if kind == "output_text":
            empty: dict[str, Any] = {"type": "output_text", "annotations": [], "logprobs": []}
            part = {**empty, "text": text}
            self.emit("response.content_part.added", **where, part={**empty, "text": ""})
            for piece in split_every(text, self.chunk_size):
                self.emit(
                    "response.output_text.delta",
                    **where,
                    delta=piece,
                    logprobs=[],
                    obfuscation="k2Lq",
                )
            self.emit("response.output_text.done", **where, text=text, logprobs=[])
            annotations = [
                {
                    "type": "url_citation",
                    "url": url,
                    "title": title,
                    "start_index": 0,
                    "end_index": len(text),
                }
                for title, url in cites
            ]
            for n, annotation in enumerate(annotations):
                self.emit(
                    "response.output_text.annotation.added",
                    **where,
                    annotation_index=n,
                    annotation=annotation,
                )
            part["annotations"] = annotations
        else:
            part = {"type": "refusal", "refusal": text}
            self.emit(
                "response.content_part.added", **where, part={"type": "refusal", "refusal": ""}
            )
            for piece in split_every(text, self.chunk_size):
                self.emit("response.refusal.delta", **where, delta=piece)
            self.emit("response.refusal.done", **where, refusal=text)
        self.emit("response.content_part.done", **where, part=part)
        item = {
            "id": item_id,
            "type": "message",
            "status": "completed",
            "content": [part],
            "role": "assistant",
        }
        return self._done(index, item)

    def function_call(self, name: str, arguments: Any, *, fragment_size: int = 5) -> dict[str, Any]:
        args = arguments if isinstance(arguments, str) else json.dumps(arguments)
        index = len(self.output)
        item_id = new_id("fc")
        call_id = new_id("call")
        head = {"id": item_id, "type": "function_call", "call_id": call_id, "name": name}
        self.emit(
            "response.output_item.added",
            output_index=index,
            item={**head, "status": "in_progress", "arguments": ""},
        )
        where = {"item_id": item_id, "output_index": index}
        for piece in split_every(args, fragment_size):
            self.emit(
                "response.function_call_arguments.delta", **where, delta=piece, obfuscation="Qz"
            )
        self.emit("response.function_call_arguments.done", **where, arguments=args)
        return self._done(index, {**head, "status": "completed", "arguments": args})

    def _done(self, index: int, item: dict[str, Any]) -> dict[str, Any]:
        self.emit("response.output_item.done", output_index=index, item=item)
        self.output.append(item)
        return item

    # --- endings ---------------------------------------------------------------------------

    def completed(self, usage: dict[str, Any] | None = DEFAULT_USAGE) -> ResponsesScripted:
        self.emit(
            "response.completed", response=self.response("completed", self.output, usage=usage)
        )
        return self.scripted()

    def incomplete(
        self, reason: str = "max_output_tokens", usage: dict[str, Any] | None = DEFAULT_USAGE
    ) -> ResponsesScripted:
        response = self.response(
            "incomplete", self.output, usage=usage, incomplete_details={"reason": reason}
        )
        self.emit("response.incomplete", response=response)
        return self.scripted()

    def failed(
        self, code: str = "server_error", message: str = "The server had an error."
    ) -> ResponsesScripted:
        error = {"code": code, "message": message}
        self.emit("response.failed", response=self.response("failed", self.output, error=error))
        return self.scripted()

    def error(
        self, code: str | None = "server_error", message: str = "An error occurred."
    ) -> ResponsesScripted:
        self.emit("error", code=code, message=message, param=None)
        return self.scripted()

    def scripted(self, *, delay: float = 0.0) -> ResponsesScripted:
        """The events so far as an answer (without an ending: a stream that just stops)."""
        return ResponsesScripted(
            writes=[sse_event(e) for e in self.events],
            delay=delay,
            events=list(self.events),
            output=list(self.output),
        )
