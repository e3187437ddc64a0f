"""A reusable check that a `messages` list would be accepted by strict chat providers.

`assert_valid_for_strict_provider(messages)` fails with a message naming the index and the
rule broken. Rules (the conversation rules plus what strict OpenAI-compatible servers enforce):

- a system message may only come first; the first other message is `user`;
- every assistant `tool_calls` entry is answered by exactly one `tool` message with its id,
  in the messages right after it, before any other role; ids are unique in the history;
- no `tool` message without such a call;
- no two assistant messages in a row, and (stricter than OpenAI, as some templates need)
  no two user messages in a row;
- no empty user or tool content; an assistant message has text or tool calls;
- none of `reasoning_texts` appears anywhere (reasoning is never replayed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from bot.llm.types import ChatMessage


def assert_valid_for_strict_provider(
    messages: Sequence[ChatMessage],
    *,
    reasoning_texts: Iterable[str] = (),
    allow_consecutive_user: bool = False,
) -> None:
    forbidden = [t for t in reasoning_texts if t]
    start = 1 if messages and messages[0].role == "system" else 0
    seen_ids: set[str] = set()
    pending: list[str] = []  # call ids of the last assistant message still to be answered
    previous: str | None = None
    for i, m in enumerate(messages):
        where = f"message {i} ({m.role})"
        _check_shape(m, i, start, where)
        for text in forbidden:
            assert text not in (m.content or ""), f"{where}: reasoning replayed: {text!r}"
            for call in m.tool_calls:
                assert text not in call.arguments, f"{where}: reasoning in tool arguments"
        if pending:
            assert m.role == "tool", f"{where}: tool calls {pending} not answered before it"
        if m.role == "tool":
            assert m.tool_call_id in pending, (
                f"{where}: result for {m.tool_call_id!r} answers no open call (open: {pending})"
            )
            pending.remove(m.tool_call_id)
        elif m.role == "assistant":
            assert previous != "assistant", f"{where}: two assistant messages in a row"
            for call in m.tool_calls:
                assert call.id, f"{where}: tool call without id"
                assert call.id not in seen_ids, f"{where}: tool call id {call.id!r} reused"
                seen_ids.add(call.id)
                assert _is_json_object(call.arguments), (
                    f"{where}: arguments of {call.id!r} are not a JSON object"
                )
            pending = [c.id for c in m.tool_calls]
        elif m.role == "user" and not allow_consecutive_user:
            assert previous != "user", f"{where}: two user messages in a row"
        previous = m.role
    assert not pending, f"tool calls {pending} are never answered"


def _check_shape(m: ChatMessage, i: int, start: int, where: str) -> None:
    if m.role == "system":
        assert i == 0, f"{where}: system message not first"
        return
    if i == start:
        assert m.role == "user", f"{where}: conversation does not start with a user message"
    m.to_wire()  # must serialise
    if m.role == "user":
        assert m.content and m.content.strip(), f"{where}: empty user message"
        assert not m.tool_calls and m.tool_call_id is None, f"{where}: user with tool fields"
    elif m.role == "tool":
        assert m.content, f"{where}: empty tool result"
        assert m.tool_call_id, f"{where}: tool message without tool_call_id"
        assert not m.tool_calls, f"{where}: tool message with tool calls"
    else:
        assert m.tool_call_id is None, f"{where}: assistant with tool_call_id"
        assert (m.content and m.content.strip()) or m.tool_calls, f"{where}: empty assistant"


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False
