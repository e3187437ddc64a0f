"""Rebuilding, from storage, the messages the model sees (SPEC §2).

Owns `build_model_messages`: a pure function from stored messages and answer steps to a
chat-completions `messages` list that strict providers accept:

- member messages become `user` messages; when more than one member takes part each is
  prefixed `[Name]: ` (the `name` field is rejected by many providers, so it is not used);
  consecutive member messages are merged into one, a blank line apart, each keeping its
  prefix (some templates reject two user messages in a row);
- an answer is replayed round by round from its steps: one `assistant` message per round
  (the round's text, or None, plus its tool calls), then exactly one `tool` message per call,
  in call order. Reasoning is never replayed. A call without a result gets a synthetic
  result saying why; results without a call and repeated results are dropped (the first
  wins); arguments that are not a JSON object are replayed as `{}`; tool call ids are made
  unique among the messages sent (some providers reuse `call_0` in every round);
- an answer that did not complete (`stopped`, `interrupted`, `error`, or `streaming` left by
  a crash) keeps what it wrote and ends with a short marker such as `[stopped by the member]`
  (after its text, or as a last assistant message when it ended on tool results), so the
  model does not take a cut answer for a finished one and knows why the member may repeat
  themselves. An answer whose steps hold nothing replayable falls back to its stored content;
  one with nothing at all is skipped;
- two assistant messages never follow each other (their texts are merged), and the
  conversation part always starts with a `user` message (earlier answers are left out);
- trimming to the token budget is done in whole turns by `bot.services.trim`, which builds
  turns newest first and stops at the first that cannot fit: the cost is linear in what is
  sent (plus one cheap scan of the whole history), not in the length of the conversation.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from bot.llm.types import Artefacts, ChatMessage, ToolCall
from bot.services.trim import (
    Draft,
    DraftCall,
    TokenCounter,
    Turn,
    draft_tokens,
    estimate_tokens,
    fit_turns,
)
from bot.storage.models import AnswerStatus, RoundArtefacts, Step, StoredMessage

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
    `count_tokens` counts the tokens of a text; message framing is added on top.
    """
    if multi_member is None:
        multi_member = len({m.author_id for m in history if m.role == "user"}) > 1
    starts = _turn_starts(history)
    ends = [*starts[1:], len(history)]

    def build_turn(index: int) -> Turn:
        return _build_turn(history, starts[index], ends[index], multi_member)

    head: list[Draft] = [("system", system_prompt, (), None, None)] if system_prompt else []
    fit = fit_turns(
        len(starts),
        build_turn,
        fixed_tokens=sum(draft_tokens(d, count_tokens) for d in head),
        budget=token_budget,
        count=count_tokens,
    )
    if fit.omitted:
        log.debug("history trimmed: %d oldest turns left out", fit.omitted)
    return ModelHistory(
        messages=_to_messages([head, *(turn.drafts for turn in fit.turns)]),
        omitted_turns=fit.omitted,
        estimated_tokens=fit.tokens,
        shortened_tool_results=fit.shortened,
    )


def _turn_starts(history: Sequence[StoredMessage]) -> list[int]:
    """Where each turn begins: a member message after a replayable answer (or the first).

    Answers before the first member message belong to no turn: the conversation part must
    start with a user message. A member message after answers with nothing to replay joins
    the turn before it, as there will be no assistant message between them.
    """
    starts: list[int] = []
    answered = True
    for i, stored in enumerate(history):
        if stored.role == "user":
            if answered:
                starts.append(i)
                answered = False
        elif not answered and _replayable(stored):
            answered = True
    return starts


def _replayable(answer: StoredMessage) -> bool:
    """Whether `_append_answer` will produce anything for this answer."""
    content = answer.content
    if content and not content.isspace():
        return True
    for step in answer.steps:
        kind = step.kind
        if kind == "tool_call":
            return True
        if kind == "text" and step.content and not step.content.isspace():
            return True
    return False


def _build_turn(history: Sequence[StoredMessage], start: int, end: int, multi_member: bool) -> Turn:
    turn = Turn(("user", _member_text(history[start], multi_member), (), None, None))
    drafts = turn.drafts
    for i in range(start + 1, end):
        stored = history[i]
        if stored.role != "user":
            _append_answer(drafts, stored)
        elif len(drafts) == 1:
            # Nothing answered the previous member message: one user message, not two.
            text = _member_text(stored, multi_member)
            drafts[0] = ("user", f"{drafts[0][1]}\n\n{text}", (), None, None)
        else:  # not reached when _replayable agrees with _append_answer; still valid
            drafts.append(("user", _member_text(stored, multi_member), (), None, None))
    return turn


def _to_messages(parts: list[list[Draft]]) -> list[ChatMessage]:
    """The kept drafts as messages, tool call ids made unique oldest first."""
    ids = _IdAllocator()
    used = ids.used
    renamed: dict[str, str] = {}  # raw → sent id, for the calls of the last assistant message
    messages: list[ChatMessage] = []
    append = messages.append
    message = ChatMessage  # a local name: this loop runs once per message sent
    for drafts in parts:
        for role, content, calls, call_id, artefacts in drafts:
            if call_id is not None:
                append(message(role, content, (), renamed.get(call_id, call_id)))
            elif not calls:
                append(message(role, content, artefacts=artefacts))
            else:
                renamed = {}
                tool_calls: list[ToolCall] = []
                for raw, name, arguments, extra in calls:
                    if raw in used:
                        sent = renamed[raw] = ids.claim(raw)
                    else:
                        used.add(raw)
                        sent = raw
                    tool_calls.append(ToolCall(sent, name, arguments, extra))
                append(message(role, content, tuple(tool_calls), artefacts=artefacts))
    return messages


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
    __slots__ = ("arguments", "extra", "id", "name", "result")

    def __init__(self, call_id: str, name: str, arguments: str, extra: str | None) -> None:
        self.id = call_id
        self.name = name
        self.arguments = arguments
        self.extra = extra  # JSON text of provider fields, parsed only when replayed
        self.result: str | None = None


# One round of an answer: its text pieces, its tool calls and its round number.
_Round = tuple[list[str], list[_Call], int]


class _IdAllocator:
    """Keeps tool call ids unique across the history (some providers repeat `call_0`).

    Ids are claimed oldest first over what is sent, so they do not change as newer messages
    arrive: the prompt prefix stays cacheable until trimming moves its start anyway.
    """

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


def _append_answer(out: list[Draft], answer: StoredMessage) -> None:
    """Append the replay of one answer to `out` (a turn's drafts)."""
    emitted = bool(answer.steps) and _append_rounds(
        out, _rounds(answer, answer.steps), MISSING_RESULTS[answer.status], answer.artefacts
    )
    if not emitted:
        content = answer.content
        if not content or content.isspace():
            return  # nothing at all: skipped
        # Legacy answer without steps, or steps with nothing replayable (reasoning only).
        _push_assistant(out, content, ())
    marker = END_MARKERS.get(answer.status)
    if marker is None:
        return
    role, text, calls, _, artefacts = out[-1]
    if role == "assistant" and text is not None and not calls:
        out[-1] = ("assistant", f"{text}\n\n{marker}", (), None, artefacts)
    else:
        # The answer ended on tool results: say so, so the model knows it never answered.
        _push_assistant(out, marker, ())


def _rounds(answer: StoredMessage, steps: Sequence[Step]) -> list[_Round]:
    """Group an answer's steps into rounds, pairing each result with its open call."""
    by_round: dict[int, _Round] = {}
    # id → the latest call with that id still waiting for its result.
    open_calls: dict[str, _Call] = {}
    previous_seq = -1
    round_no: int | None = None
    highest = -1  # the highest round seen so far
    in_order = True  # rounds first seen in increasing order (always, in practice)
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
            rnd = by_round.get(step.round)
            if rnd is None:
                if step.round < highest:
                    in_order = False
                highest = max(highest, step.round)
                rnd = by_round[step.round] = ([], [], step.round)
            round_no = step.round
            texts, calls, _ = rnd
        if kind == "text":
            texts.append(step.content)
        elif kind == "tool_call":
            call_id = step.tool_call_id or f"call_{answer.id}_{step.seq}"
            if calls and any(c.id == call_id for c in calls):
                continue  # the same id twice in one round would break pairing; keep the first
            call = _Call(
                call_id,
                step.tool_name or "unknown_tool",
                step.tool_arguments or "",
                step.tool_extra,
            )
            calls.append(call)
            open_calls[call_id] = call
    if in_order:
        return list(by_round.values())
    return [by_round[r] for r in sorted(by_round)]


def _append_rounds(
    out: list[Draft], rounds: list[_Round], missing: str, saved: Sequence[RoundArtefacts]
) -> bool:
    """Append the rounds' drafts; whether there was anything to append.

    Provider artefacts go back with the rounds that called tools, which is where every
    provider requires them (DeepSeek, Gemini, OpenRouter, Anthropic, the Responses API);
    on rounds that only answered, providers ignore or drop them, so they would only cost
    context."""
    by_round = {a.round: a for a in saved} if saved else None
    emitted = False
    for texts, calls, round_no in rounds:
        if not texts:
            content = None
        else:
            text = texts[0] if len(texts) == 1 else "".join(texts)
            content = text if text and not text.isspace() else None
        if not calls:
            if content is not None:
                _push_assistant(out, content, ())
                emitted = True
            continue
        emitted = True
        stored = by_round.get(round_no) if by_round is not None else None
        artefacts = _artefacts(stored) if stored is not None else None
        drafted = tuple(
            [
                (
                    c.id,
                    c.name,
                    _json_object(c.arguments),
                    _extra(c.extra) if artefacts is not None and c.extra else None,
                )
                for c in calls
            ]
        )
        _push_assistant(out, content, drafted, artefacts)
        for c in calls:
            result = missing if c.result is None else (c.result or EMPTY_TOOL_RESULT)
            out.append(("tool", result, (), c.id, None))
    return emitted


def _artefacts(stored: RoundArtefacts) -> Artefacts | None:
    try:
        data = json.loads(stored.data)
    except ValueError:
        log.warning("unreadable provider artefacts of round %d; not sent back", stored.round)
        return None
    return Artefacts(stored.source, data) if isinstance(data, dict) else None


def _extra(raw: str) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


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


def _push_assistant(
    out: list[Draft],
    content: str | None,
    calls: tuple[DraftCall, ...],
    artefacts: Artefacts | None = None,
) -> None:
    """Append an assistant draft, merged into a preceding assistant text if there is one."""
    if out:
        role, previous, previous_calls, _, previous_artefacts = out[-1]
        if role == "assistant" and not previous_calls:
            # Two assistant messages in a row are rejected: one message, texts a blank line
            # apart, carrying the second one's tool calls (and the artefacts that go with
            # them).
            merged = f"{previous}\n\n{content}" if previous and content else previous or content
            out[-1] = ("assistant", merged, calls, None, artefacts or previous_artefacts)
            return
    out.append(("assistant", content, calls, None, artefacts))
