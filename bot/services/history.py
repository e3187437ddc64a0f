"""Rebuilding, from storage, the messages the model sees.

Owns `build_model_messages`: a pure function from stored messages and answer steps to a
chat-completions `messages` list that strict providers accept:

- member messages become `user` messages; when more than one member takes part each is
  prefixed `[Name]: ` (the `name` field is rejected by many providers, so it is not used);
  consecutive member messages are merged into one, a blank line apart, each keeping its
  prefix (some templates reject two user messages in a row);
- a member message carries the images the caller chose to send with it (recent ones);
- an answer is replayed round by round from its steps (`bot.services.answer_replay`): one
  `assistant` message per round (the round's text, or None, plus its tool calls and the
  provider artefacts stored with them), then exactly one `tool` message per call, in call
  order. Reasoning is never replayed as text. Tool call ids are made unique among the
  messages sent (some providers reuse `call_0` in every round);
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

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.llm.tokens import TokenCounter, estimate_tokens
from bot.llm.types import ChatMessage, ImagePart, ToolCall
from bot.services.answer_replay import END_MARKERS, MISSING_RESULTS, append_answer, replayable
from bot.services.trim import (
    Draft,
    HistoryTurn,
    draft_tokens,
    fit_turns,
)
from bot.storage.models import StoredMessage

log = logging.getLogger(__name__)

__all__ = [
    "END_MARKERS",
    "MISSING_RESULTS",
    "ModelHistory",
    "build_model_messages",
]

EMPTY_MEMBER_MESSAGE = "(empty message)"


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
    images: Mapping[int, tuple[ImagePart, ...]] | None = None,
) -> ModelHistory:
    """The messages to send for `history` (oldest first), trimmed to `token_budget`.

    `multi_member=None` detects it: more than one distinct author among member messages
    (over the whole history, so prefixes do not change as old turns are trimmed away).
    `count_tokens` counts the tokens of a text; message framing is added on top.
    `images` are the images to send with member messages, by message id (the caller
    chooses which: only recent ones are worth their tokens).
    """
    attached = images or {}
    if multi_member is None:
        multi_member = len({m.author_id for m in history if m.role == "user"}) > 1
    starts = _turn_starts(history)
    ends = [*starts[1:], len(history)]

    def build_turn(index: int) -> HistoryTurn:
        return _build_turn(history, starts[index], ends[index], multi_member, attached)

    head: list[Draft] = [("system", system_prompt, (), None, None, ())] if system_prompt else []
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
        elif not answered and replayable(stored):
            answered = True
    return starts


def _build_turn(
    history: Sequence[StoredMessage],
    start: int,
    end: int,
    multi_member: bool,
    images: Mapping[int, tuple[ImagePart, ...]],
) -> HistoryTurn:
    first = history[start]
    turn = HistoryTurn(
        ("user", _member_text(first, multi_member), (), None, None, images.get(first.id, ()))
    )
    drafts = turn.drafts
    for i in range(start + 1, end):
        stored = history[i]
        if stored.role != "user":
            append_answer(drafts, stored)
        elif len(drafts) == 1:
            # Nothing answered the previous member message: one user message, not two.
            text = _member_text(stored, multi_member)
            seen = (*drafts[0][5], *images.get(stored.id, ()))
            drafts[0] = ("user", f"{drafts[0][1]}\n\n{text}", (), None, None, seen)
        else:  # not reached when _replayable agrees with _append_answer; still valid
            member = _member_text(stored, multi_member)
            drafts.append(("user", member, (), None, None, images.get(stored.id, ())))
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
        for role, content, calls, call_id, artefacts, images in drafts:
            if call_id is not None:
                append(message(role, content, (), renamed.get(call_id, call_id)))
            elif images:
                append(message(role, content, images=images))
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
