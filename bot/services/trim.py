"""Fitting a rebuilt conversation into the model's context budget.

Owns the trimming policy used by
`bot.services.history.build_model_messages`, and the light `Draft` form messages take until
trimming has decided which to keep (a plain tuple is several times cheaper to build than a
`ChatMessage`, and most of a long conversation is left out).

The unit of trimming is a *turn*: one member message (consecutive member messages already
merged) plus every answer message that follows it, so a tool call is never separated from its
result. The policy:

1. Keep as many of the newest turns as fit, counting the long tool results of every turn but
   the newest as if shortened to `SHORTENED_TOOL_RESULT_CHARS` (with a marker). Shortening an
   old page or listing costs less than losing whole turns: the answer that used it is kept.
   The newest turn is always kept, even when it alone exceeds the budget.
2. Shorten those old results for real, oldest first, only until the kept turns fit.
3. Last resort: shorten long tool results of the newest turn the same way.

Turns are built newest first and building stops at the first turn that cannot fit, so a
long conversation costs in proportion to what is sent, not to its whole length. When even
the newest turn does not fit, `Fit.tokens` exceeds the budget: the caller tells the member
the context is too long.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.llm.tokens import (
    MESSAGE_OVERHEAD_TOKENS,
    TOOL_CALL_OVERHEAD_TOKENS,
    TokenCounter,
    artefact_tokens,
)
from bot.llm.types import Artefacts, ImagePart, Role

# How much of an old tool result survives shortening (characters, ~250 tokens).
SHORTENED_TOOL_RESULT_CHARS = 1000

# A tool call before it becomes a `ToolCall`: (id, name, arguments, provider extra).
DraftCall = tuple[str, str, str, Mapping[str, Any] | None]
# A message before it becomes a `ChatMessage`:
# (role, content, tool calls, tool_call_id, provider artefacts, a member's images).
Draft = tuple[
    Role, str | None, tuple[DraftCall, ...], str | None, Artefacts | None, tuple[ImagePart, ...]
]


def draft_tokens(draft: Draft, count: TokenCounter) -> int:
    """`message_tokens` of the message the draft becomes."""
    _, content, calls, _, artefacts, images = draft
    tokens = MESSAGE_OVERHEAD_TOKENS + count(content) if content else MESSAGE_OVERHEAD_TOKENS
    for _, name, arguments, _ in calls:
        tokens += TOOL_CALL_OVERHEAD_TOKENS + count(name) + count(arguments)
    if artefacts is not None:
        tokens += artefact_tokens(artefacts, count)
    return tokens + sum(image.tokens for image in images)


def shorten_tool_result(content: str, keep_chars: int = SHORTENED_TOOL_RESULT_CHARS) -> str:
    """The first `keep_chars` characters of a tool result and a marker saying what was cut."""
    if len(content) <= keep_chars:
        return content
    cut = len(content) - keep_chars
    return f"{content[:keep_chars]}\n[… {cut} more characters of this tool result left out]"


class HistoryTurn:
    """A member message and the answer drafts after it, with their token estimates."""

    __slots__ = ("cuts", "drafts", "short_tokens", "tokens")

    def __init__(self, first: Draft) -> None:
        self.drafts: list[Draft] = [first]
        self.tokens = 0  # as the drafts stand
        self.short_tokens = 0  # with every cut applied
        # Possible shortenings, in order: (draft index, shortened draft, tokens saved).
        self.cuts: list[tuple[int, Draft, int]] = []

    def measure(self, count: TokenCounter) -> None:
        # Inlined `draft_tokens`: this runs for every message of every turn considered.
        tokens = 0
        saved = 0
        for i, draft in enumerate(self.drafts):
            role, content, calls, call_id, artefacts, images = draft
            n = MESSAGE_OVERHEAD_TOKENS + count(content) if content else MESSAGE_OVERHEAD_TOKENS
            if artefacts is not None:
                n += artefact_tokens(artefacts, count)
            if images:
                n += sum(image.tokens for image in images)
            if calls:
                for _, name, arguments, _ in calls:
                    n += TOOL_CALL_OVERHEAD_TOKENS + count(name) + count(arguments)
            elif role == "tool" and content and len(content) > SHORTENED_TOOL_RESULT_CHARS:
                short: Draft = ("tool", shorten_tool_result(content), (), call_id, None, ())
                cut = n - draft_tokens(short, count)
                if cut > 0:
                    self.cuts.append((i, short, cut))
                    saved += cut
            tokens += n
        self.tokens = tokens
        self.short_tokens = tokens - saved


@dataclass(frozen=True, slots=True)
class Fit:
    turns: list[HistoryTurn]  # the kept turns, oldest first
    omitted: int  # how many older turns were left out
    tokens: int  # estimate of everything kept, the fixed part included
    shortened: int  # how many kept tool results were shortened


def fit_turns(
    count_turns: int,
    build_turn: Callable[[int], HistoryTurn],
    *,
    fixed_tokens: int,
    budget: int,
    count: TokenCounter,
) -> Fit:
    """Choose and trim the turns to send; `build_turn(i)` builds turn i (0 = oldest).

    `fixed_tokens` is what is always sent (the system prompt). Turns older than the first
    that cannot fit are never built.
    """
    if count_turns == 0:
        return Fit(turns=[], omitted=0, tokens=fixed_tokens, shortened=0)
    newest = build_turn(count_turns - 1)
    newest.measure(count)
    kept = [newest]  # newest first until reversed below
    full = fixed_tokens + newest.tokens
    if_shortened = full
    index = count_turns - 2
    while index >= 0:
        turn = build_turn(index)
        turn.measure(count)
        if if_shortened + turn.short_tokens > budget:
            break
        if_shortened += turn.short_tokens
        full += turn.tokens
        kept.append(turn)
        index -= 1
    kept.reverse()

    total = full
    shortened = 0
    if total > budget:
        for turn in kept[:-1]:
            total, n = _shorten(turn, total, budget)
            shortened += n
            if total <= budget:
                break
    if total > budget:
        total, n = _shorten(kept[-1], total, budget)
        shortened += n
    return Fit(turns=kept, omitted=index + 1, tokens=total, shortened=shortened)


def _shorten(turn: HistoryTurn, total: int, budget: int) -> tuple[int, int]:
    """Apply the turn's cuts in order until the total fits; the new total and cuts applied."""
    applied = 0
    for i, short, saved in turn.cuts:
        turn.drafts[i] = short
        turn.tokens -= saved
        total -= saved
        applied += 1
        if total <= budget:
            break
    return total, applied
