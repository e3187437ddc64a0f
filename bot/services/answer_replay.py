"""Replaying one stored answer as the messages of the model's history.

An answer is replayed round by round from its steps: one `assistant` message per round (its
text, or None, plus its tool calls and, for rounds that called tools, the provider artefacts
stored with them), then exactly one `tool` message per call, in call order. Reasoning is
never replayed as text. A call without a result gets a synthetic result saying why; results
without a call and repeated results are dropped (the first wins); arguments that are not a
JSON object are replayed as `{}`. An answer that did not complete ends with a short marker
such as `[stopped by the member]`. Two assistant messages never follow each other.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from bot.llm.citations import CITED_SOURCES
from bot.llm.types import Artefacts
from bot.services.trim import Draft, DraftCall
from bot.storage.models import RoundArtefacts, Step, StoredMessage
from bot.vocabulary import AnswerStatus

log = logging.getLogger(__name__)

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


def replayable(answer: StoredMessage) -> bool:
    """Whether `append_answer` will produce anything for this answer."""
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


def append_answer(out: list[Draft], answer: StoredMessage) -> None:
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
    role, text, calls, _, artefacts, _ = out[-1]
    if role == "assistant" and text is not None and not calls:
        out[-1] = ("assistant", f"{text}\n\n{marker}", (), None, artefacts, ())
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
            out.append(("tool", result, (), c.id, None, ()))
    return emitted


def _artefacts(stored: RoundArtefacts) -> Artefacts | None:
    try:
        data = json.loads(stored.data)
    except ValueError:
        log.warning("unreadable provider artefacts of round %d; not sent back", stored.round)
        return None
    if not isinstance(data, dict):
        return None
    # Sources the provider's web search cited are for the footer; no provider takes them back.
    data.pop(CITED_SOURCES, None)
    return Artefacts(stored.source, data)


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
        role, previous, previous_calls, _, previous_artefacts, _ = out[-1]
        if role == "assistant" and not previous_calls:
            # Two assistant messages in a row are rejected: one message, texts a blank line
            # apart, carrying the second one's tool calls (and the artefacts that go with
            # them).
            merged = f"{previous}\n\n{content}" if previous and content else previous or content
            out[-1] = ("assistant", merged, calls, None, artefacts or previous_artefacts, ())
            return
    out.append(("assistant", content, calls, None, artefacts, ()))
