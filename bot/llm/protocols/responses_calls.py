"""The function calls of one streamed Responses API answer, as the decoder assembles them.

A `function_call` item is added (with its `call_id` and name), its arguments stream as deltas
addressed by the item's id (or, for servers that send items without ids, by the item's
`output_index`), `function_call_arguments.done` and `output_item.done` carry the final
arguments, and a whole response (or a server skipping the item events) may deliver a call
only in its final output. `FunctionCalls` keeps each call once, in the order first seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.errors import LLMBadResponseError
from bot.llm.types import StreamEvent, ToolCall, ToolCallProgress

__all__ = ["FunctionCalls", "bad", "text_field"]


def bad(detail: str) -> LLMBadResponseError:
    return LLMBadResponseError(detail=f"responses stream: {detail}")


def text_field(value: Any, what: str) -> str:
    """A string field that may be missing (""), never another type."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    raise bad(f"{what} is not a string")


class _Call:
    __slots__ = ("args", "call_id", "done", "index", "item_id", "name")

    def __init__(self, index: int, item_id: Any, call_id: str, name: str, arguments: str) -> None:
        self.index = index
        self.item_id = item_id
        self.call_id = call_id
        self.name = name
        self.args: list[str] = [arguments] if arguments else []
        self.done = False


class FunctionCalls:
    __slots__ = ("_by_key", "_by_output")

    def __init__(self) -> None:
        self._by_key: dict[Any, _Call] = {}  # by item id (call_id when the item has none)
        self._by_output: dict[Any, _Call] = {}  # by output_index

    def __bool__(self) -> bool:
        return bool(self._by_key)

    def tool_calls(self) -> tuple[ToolCall, ...]:
        calls = sorted(self._by_key.values(), key=lambda c: c.index)
        return tuple(ToolCall(c.call_id, c.name, "".join(c.args)) for c in calls)

    def add(self, item: dict[str, Any], output_index: Any) -> Sequence[StreamEvent]:
        call_id = text_field(item.get("call_id"), "a function call's call_id")
        name = text_field(item.get("name"), "a function call's name")
        arguments = text_field(item.get("arguments"), "a function call's arguments")
        item_id = item.get("id")
        call = _Call(len(self._by_key), item_id, call_id, name, arguments)
        self._by_key[item_id or call_id] = call
        if output_index is not None:
            self._by_output[output_index] = call
        return (ToolCallProgress(call.index, name),)

    def arguments_delta(self, event: dict[str, Any]) -> None:
        delta = event.get("delta")
        if delta.__class__ is not str:
            raise bad("a function call arguments delta is not a string")
        self._addressed(event).args.append(delta)

    def arguments_done(self, event: dict[str, Any]) -> None:
        call = self._addressed(event)
        arguments = event.get("arguments")
        if arguments.__class__ is str:
            call.args = [arguments]

    def _addressed(self, event: dict[str, Any]) -> _Call:
        item_id = event.get("item_id")
        call = self._by_key.get(item_id)
        if call is None:
            # A call item without an id is routed by its position in the output.
            call = self._by_output.get(event.get("output_index"))
            if call is None or call.item_id is not None:
                raise bad(f"arguments for function call {item_id!r}, which was never added")
        return call

    def finished(self, item: dict[str, Any], output_index: Any) -> Sequence[StreamEvent]:
        """A final `function_call` item: its call completed (added first if never seen)."""
        key = item.get("id") or item.get("call_id")
        call = self._by_key.get(key)
        events: Sequence[StreamEvent] = ()
        if call is None:
            events = self.add(item, output_index)
            call = self._by_key[key]
        call.call_id = text_field(item.get("call_id"), "a function call's call_id") or call.call_id
        call.name = text_field(item.get("name"), "a function call's name") or call.name
        arguments = item.get("arguments")
        if arguments.__class__ is str:
            call.args = [arguments]
        call.done = True
        return events

    def is_done(self, item: dict[str, Any]) -> bool:
        call = self._by_key.get(item.get("id") or item.get("call_id"))
        return call is not None and call.done
