"""Tool calls assembled from streamed chat-completion fragments, however a provider cuts them:
fragmented by `index` (OpenAI); every call at index 0 with distinct ids (Gemini); whole calls
without `index` (Mistral) or all in one chunk (Ollama); calls with neither id nor index (a
fragment naming a tool opens a new call, others continue the last one); names and ids that
arrive once or repeated; arguments as a JSON object instead of a string. Any unknown field of
a fragment (Gemini 3's `extra_content.google.thought_signature`) is kept as the call's `extra`,
to be sent back. Used by `bot.llm.accumulate.StreamAccumulator`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from bot.llm.types import ToolCall, ToolCallProgress

# Fields of a tool call fragment that we assemble; any other is provider state to send back.
_CALL_FIELDS = frozenset({"index", "id", "type", "function"})


class _Call:
    __slots__ = ("args", "extra", "id", "index", "name", "seq")

    def __init__(self, seq: int, index: int | None, call_id: str | None) -> None:
        self.seq = seq
        self.index = index
        self.id = call_id
        self.name = ""
        self.args: list[str] = []
        self.extra: dict[str, Any] | None = None


class ToolCallFragments:
    """The tool calls of one streamed completion. `add` each fragment, then `finish()`."""

    __slots__ = ("_by_id", "_by_index", "_calls")

    def __init__(self) -> None:
        self._calls: list[_Call] = []
        self._by_index: dict[int, _Call] = {}
        self._by_id: dict[str, _Call] = {}

    def add(self, fragment: dict[str, Any]) -> ToolCallProgress | None:
        """Take one fragment; a `ToolCallProgress` when it named its call for the first time."""
        function = fragment.get("function")
        if not isinstance(function, dict):
            function = {}
        name = function.get("name")
        if not isinstance(name, str):
            name = None
        call = self._slot(fragment, name)
        if len(fragment) > len(_CALL_FIELDS & fragment.keys()):
            extra = {k: v for k, v in fragment.items() if k not in _CALL_FIELDS}
            call.extra = {**(call.extra or {}), **extra}
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            if arguments:
                call.args.append(arguments)
        elif isinstance(arguments, dict | list):
            call.args.append(json.dumps(arguments, ensure_ascii=False, separators=(",", ":")))
        if name and not call.name:
            call.name = name
            return ToolCallProgress(index=call.seq, name=name)
        return None

    def _slot(self, fragment: dict[str, Any], name: str | None) -> _Call:
        """Which call a fragment belongs to: by id, then by index, then by order."""
        raw_index = fragment.get("index")
        index = (
            raw_index if isinstance(raw_index, int) and not isinstance(raw_index, bool) else None
        )
        call_id = fragment.get("id")
        if not isinstance(call_id, str) or not call_id:
            call_id = None
        if call_id is not None:
            known = self._by_id.get(call_id)
            if known is not None:
                return known
            if index is not None:
                same = self._by_index.get(index)
                # Gemini reuses index 0 for every call: a new id at a taken index is a new call.
                if same is not None and same.id is None:
                    same.id = call_id
                    self._by_id[call_id] = same
                    return same
            return self._new(index, call_id)
        if index is not None:
            same = self._by_index.get(index)
            return same if same is not None else self._new(index, None)
        last = self._calls[-1] if self._calls else None
        # Neither id nor index: a fragment naming a tool opens a call unless the last call is
        # still nameless or repeats that name while its arguments are unfinished.
        if last is None or (name and last.name and not (name == last.name and _open(last))):
            return self._new(None, None)
        return last

    def _new(self, index: int | None, call_id: str | None) -> _Call:
        call = _Call(len(self._calls), index, call_id)
        self._calls.append(call)
        if index is not None:
            self._by_index[index] = call
        if call_id is not None:
            self._by_id[call_id] = call
        return call

    def finish(self) -> tuple[ToolCall, ...]:
        """The calls in index order (else arrival order); a missing id is generated and
        missing arguments are "{}"."""
        return tuple(
            ToolCall(
                id=call.id or f"call_{uuid.uuid4().hex[:24]}",
                name=call.name,
                arguments="".join(call.args) or "{}",
                extra=call.extra,
            )
            for call in self._ordered_calls()
            if call.name or call.args
        )

    def _ordered_calls(self) -> list[_Call]:
        indices = [call.index for call in self._calls]
        if None in indices or len(set(indices)) != len(indices):
            return self._calls
        return sorted(self._calls, key=lambda call: call.index or 0)


def _open(call: _Call) -> bool:
    """True while a call's arguments are not yet a complete JSON value."""
    if not call.args:
        return True
    try:
        json.loads("".join(call.args))
    except ValueError:
        return True
    return False
