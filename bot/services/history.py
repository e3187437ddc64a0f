"""Rebuilding, from storage, the messages the model sees (SPEC §2).

Owns `build_model_messages`: a pure, linear-time function from stored messages and answer
steps to a chat-completions `messages` list that strict providers accept:

- member messages become `user` messages; when more than one member takes part each is
  prefixed `[Name]: ` (the `name` field is rejected by many providers, so it is not used);
  consecutive member messages are merged into one, a blank line apart;
- an answer is replayed round by round from its steps: one `assistant` message per round
  (the round's text, or None, plus its tool calls), then exactly one `tool` message per call,
  in call order. Reasoning is never replayed. A call without a result gets a synthetic
  result saying why; results without a call and repeated results are dropped. Tool call ids
  are made unique across the whole history (some providers reuse `call_0` every round);
- an answer that did not complete (`stopped`, `interrupted`, `error`, or `streaming` left by
  a crash) keeps what it wrote and ends with a short marker such as `[stopped by the member]`,
  so the model does not take a cut answer for a finished one. An answer whose steps hold
  nothing replayable falls back to its stored content; one with nothing at all is skipped;
- two assistant messages never follow each other (their texts are merged), and the
  conversation part always starts with a `user` message;
- trimming to the token budget is done by `bot.services.trim` in whole turns.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

from bot.llm.types import ChatMessage, ToolCall
from bot.services.trim import TokenCounter, Turn, estimate_tokens, fit_turns, message_tokens
from bot.storage.models import AnswerStatus, Step, StoredMessage

log = logging.getLogger(__name__)

__all__ = ["ModelHistory", "build_model_messages", "estimate_tokens"]

EMPTY_MEMBER_MESSAGE = "(empty message)"
EMPTY_TOOL_RESULT = "(empty result)"
# Appended to the partial text of an answer that did not complete.
END_MARKERS: dict[AnswerStatus, str] = {
    "stopped": "[stopped by the member]",
    "interrupted": "[the answer was interrupted]",
    "streaming": "[the answer was interrupted]",
    "error": "[the answer ended with an error]",
}
# The result given to a tool call that has none stored, so pairing stays valid.
MISSING_RESULTS: dict[AnswerStatus, str] = {
    "complete": "[no result was recorded]",
    "stopped": "[no result: the answer was stopped by the member]",
    "interrupted": "[no result: the answer was interrupted]",
    "streaming": "[no result: the answer was interrupted]",
    "error": "[no result: the answer ended with an error]",
}

_seq = attrgetter("seq")


@dataclass(frozen=True, slots=True)
class ModelHistory:
    messages: list[ChatMessage]  # system prompt first, then the conversation
    omitted_turns: int  # how many oldest turns were left out to fit the budget
    estimated_tokens: int  # may exceed the budget when the newest turn alone does
    shortened_tool_results: int = 0  # old tool results cut to fit the budget


def build_model_messages(
    history: Sequence[StoredMessage],
    *,
    system_prompt: str | None,
    token_budget: int,
    multi_member: bool | None = None,
    count_tokens: TokenCounter = estimate_tokens,
) -> ModelHistory:
    """The messages to send for `history` (oldest first), trimmed to `token_budget`.

    `multi_member=None` detects it: more than one distinct author among member messages
    (over the whole history, so prefixes do not change as old turns are trimmed away).
    """
    if multi_member is None:
        multi_member = len({m.author_id for m in history if m.role == "user"}) > 1
    turns = _build_turns(history, multi_member)

    head: list[ChatMessage] = []
    if system_prompt:
        head.append(ChatMessage(role="system", content=system_prompt))
    fixed = sum(message_tokens(m, count_tokens) for m in head)
    fit = fit_turns(turns, fixed_tokens=fixed, budget=token_budget, count=count_tokens)

    messages = head
    for turn in turns[fit.start :]:
        messages.extend(turn.messages)
    if fit.start:
        log.debug("history trimmed: %d oldest turns left out", fit.start)
    return ModelHistory(
        messages=messages,
        omitted_turns=fit.start,
        estimated_tokens=fit.tokens,
        shortened_tool_results=fit.shortened,
    )


def _build_turns(history: Sequence[StoredMessage], multi_member: bool) -> list[Turn]:
    turns: list[Turn] = []
    current: Turn | None = None  # None until the first member message
    ids = _IdAllocator()
    for stored in history:
        if stored.role == "user":
            user = ChatMessage("user", _member_text(stored, multi_member))
            if current is not None and len(current.messages) == 1:
                # Nothing answered the previous member message: one user message, not two.
                current.messages[0] = _merge(current.messages[0], user)
            else:
                current = Turn(user)
                turns.append(current)
        elif current is not None:
            # Answers before any member message are left out: the conversation part must
            # start with a user message.
            _append_answer(current.messages, stored, ids)
    return turns


def _member_text(stored: StoredMessage, multi_member: bool) -> str:
    text = stored.content
    if not text or text.isspace():
        text = EMPTY_MEMBER_MESSAGE
    if not multi_member:
        return text
    name = stored.author_name or (
        f"member {stored.author_id}" if stored.author_id is not None else "member"
    )
    return f"[{name}]: {text}"


class _Call:
    __slots__ = ("arguments", "id", "name", "result")

    def __init__(self, call_id: str, name: str, arguments: str) -> None:
        self.id = call_id
        self.name = name
        self.arguments = arguments
        self.result: str | None = None


# One round of an answer: its text pieces and its tool calls.
_Round = tuple[list[str], list[_Call]]


class _IdAllocator:
    """Keeps tool call ids unique across the history (some providers repeat `call_0`)."""

    __slots__ = ("suffix", "used")

    def __init__(self) -> None:
        self.used: set[str] = set()
        # wanted id → the last suffix tried for it, so a thousand `call_0`s stay linear.
        self.suffix: dict[str, int] = {}

    def claim(self, wanted: str) -> str:
        call_id = wanted
        if call_id in self.used:
            n = self.suffix.get(wanted, 1)
            while call_id in self.used:
                n += 1
                call_id = f"{wanted}_{n}"
            self.suffix[wanted] = n
        self.used.add(call_id)
        return call_id


def _append_answer(out: list[ChatMessage], answer: StoredMessage, ids: _IdAllocator) -> None:
    """Append the replay of one answer to `out` (a turn's messages)."""
    emitted = bool(answer.steps) and _append_rounds(
        out, _rounds(answer, answer.steps), MISSING_RESULTS[answer.status], ids
    )
    if not emitted:
        content = answer.content
        if not content or content.isspace():
            return  # nothing at all: skipped
        # Legacy answer without steps, or steps with nothing replayable (reasoning only).
        _push(out, ChatMessage(role="assistant", content=content))
    marker = END_MARKERS.get(answer.status)
    if marker is None:
        return
    last = out[-1]
    if last.role == "assistant" and last.content is not None and not last.tool_calls:
        out[-1] = ChatMessage(role="assistant", content=f"{last.content}\n\n{marker}")
    else:
        # The answer ended on tool results: say so, so the model knows it never answered.
        _push(out, ChatMessage(role="assistant", content=marker))


def _rounds(answer: StoredMessage, steps: Sequence[Step]) -> list[_Round]:
    """Group an answer's steps into rounds, pairing each result with its open call."""
    by_round: dict[int, _Round] = {}
    # id → the latest call with that id still waiting for its result.
    open_calls: dict[str, _Call] = {}
    previous_seq = -1
    round_no: int | None = None
    texts: list[str] = []
    calls: list[_Call] = []
    for step in steps:
        if step.seq < previous_seq:
            # Stored out of order (should not happen): start again on sorted steps.
            return _rounds(answer, sorted(steps, key=_seq))
        previous_seq = step.seq
        kind = step.kind
        if kind == "reasoning":
            continue  # never replayed
        if kind == "tool_result":
            call = open_calls.pop(step.tool_call_id, None) if step.tool_call_id else None
            if call is not None:  # else: no matching call, or a repeated result
                call.result = step.content
            continue
        if step.round != round_no:
            round_no = step.round
            rnd = by_round.get(round_no)
            if rnd is None:
                rnd = by_round[round_no] = ([], [])
            texts, calls = rnd
        if kind == "text":
            texts.append(step.content)
        elif kind == "tool_call":
            call_id = step.tool_call_id or f"call_{answer.id}_{step.seq}"
            if calls and any(c.id == call_id for c in calls):
                continue  # the same id twice in one round would break pairing; keep the first
            call = _Call(call_id, step.tool_name or "unknown_tool", step.tool_arguments or "")
            calls.append(call)
            open_calls[call_id] = call
    if len(by_round) == 1:
        return list(by_round.values())
    return [by_round[r] for r in sorted(by_round)]


def _append_rounds(
    out: list[ChatMessage], rounds: list[_Round], missing: str, ids: _IdAllocator
) -> bool:
    """Append the rounds' messages; whether there was anything to append."""
    emitted = False
    used = ids.used
    for texts, calls in rounds:
        if not texts:
            content = None
        else:
            text = texts[0] if len(texts) == 1 else "".join(texts)
            content = text if text and not text.isspace() else None
        if not calls:
            if content is not None:
                _push(out, ChatMessage("assistant", content))
                emitted = True
            continue
        emitted = True
        tool_calls: list[ToolCall] = []
        for c in calls:
            if c.id in used:
                c.id = ids.claim(c.id)
            else:
                used.add(c.id)
            tool_calls.append(ToolCall(c.id, c.name, _json_object(c.arguments)))
        _push(out, ChatMessage("assistant", content, tuple(tool_calls)))
        for c in calls:
            result = missing if c.result is None else (c.result or EMPTY_TOOL_RESULT)
            out.append(ChatMessage("tool", result, (), c.id))
    return emitted


_decode_json = json.JSONDecoder().raw_decode


def _json_object(arguments: str) -> str:
    """The arguments if they are one JSON object, else `{}`.

    The model may have produced malformed JSON (its tool got an error result saying so);
    several servers (llama.cpp, vLLM templates) parse replayed arguments and reject the whole
    request when they are not an object.
    """
    text = arguments.strip()
    if not text.startswith("{"):
        return "{}"
    try:
        _, end = _decode_json(text)
    except ValueError:
        return "{}"
    return text if end == len(text) else "{}"


def _push(out: list[ChatMessage], message: ChatMessage) -> None:
    """Append an assistant message, merging it into a preceding assistant text message."""
    if out:
        last = out[-1]
        if last.role == "assistant" and not last.tool_calls and message.role == "assistant":
            out[-1] = _merge(last, message)
            return
    out.append(message)


def _merge(first: ChatMessage, second: ChatMessage) -> ChatMessage:
    """One message of the same role from two: texts a blank line apart, second's tool calls."""
    if first.content and second.content:
        content: str | None = f"{first.content}\n\n{second.content}"
    else:
        content = first.content or second.content
    return ChatMessage(role=second.role, content=content, tool_calls=second.tool_calls)
