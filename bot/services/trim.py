"""Fitting a rebuilt conversation into the model's context budget.

Owns the token estimate of chat messages and the trimming policy used by
`bot.services.history.build_model_messages`. The unit of trimming is a *turn*: one member
message (consecutive member messages already merged) plus every answer message that follows
it, so a tool call can never be separated from its result.

Policy, applied only while the estimate exceeds the budget, each stage stopping as soon as it
fits:

1. Tool results longer than `SHORTENED_TOOL_RESULT_CHARS` in turns *older than the newest* are
   cut to that length with a marker, oldest first. Old tool output (a fetched page, a long
   search listing) is usually the bulk of the context and the least valuable part of it;
   keeping the conversation itself beats keeping a full copy of an old page.
2. Whole turns are left out, oldest first, never the newest turn.
3. Long tool results of the newest turn are shortened the same way (last resort before the
   request would be rejected as too long).

The newest turn is always kept, even when it alone exceeds the budget: the caller compares
`estimated_tokens` with the budget to tell the member the context is too long.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.llm.types import ChatMessage

# Per-message framing (role, separators) that the chat template adds around the text.
MESSAGE_OVERHEAD_TOKENS = 4
# A tool call's id, type and JSON framing, beside its name and arguments.
TOOL_CALL_OVERHEAD_TOKENS = 8
# How much of an old tool result survives shortening (characters, ~250 tokens).
SHORTENED_TOOL_RESULT_CHARS = 1000

TokenCounter = Callable[[str], int]


def estimate_tokens(text: str) -> int:
    """A provider-neutral estimate of the tokens of `text`: about 4 characters per token.

    Per-message overhead is added by `message_tokens`, not here, so any plain text counter
    (e.g. a real tokenizer) can be passed in its place.
    """
    return (len(text) + 3) // 4


def message_tokens(message: ChatMessage, count: TokenCounter) -> int:
    """Estimated prompt tokens of one message, framing included."""
    tokens = MESSAGE_OVERHEAD_TOKENS
    if message.content:
        tokens += count(message.content)
    for call in message.tool_calls:
        tokens += TOOL_CALL_OVERHEAD_TOKENS + count(call.name) + count(call.arguments)
    return tokens


def shorten_tool_result(content: str, keep_chars: int = SHORTENED_TOOL_RESULT_CHARS) -> str:
    """The first `keep_chars` characters of a tool result and a marker saying what was cut."""
    if len(content) <= keep_chars:
        return content
    cut = len(content) - keep_chars
    return f"{content[:keep_chars]}\n[… {cut} more characters of this old tool result omitted]"


class Turn:
    """A member message and the answer messages after it, with their token estimate."""

    __slots__ = ("messages", "tokens")

    def __init__(self, first: ChatMessage) -> None:
        self.messages: list[ChatMessage] = [first]
        self.tokens = 0


@dataclass(frozen=True, slots=True)
class Fit:
    start: int  # index of the first kept turn; turns before it are left out
    tokens: int  # estimate of everything kept, fixed part included
    shortened: int  # how many tool results were shortened


def fit_turns(turns: list[Turn], *, fixed_tokens: int, budget: int, count: TokenCounter) -> Fit:
    """Trim `turns` in place (shortened tool results) and choose the first turn to keep.

    `fixed_tokens` is what is always sent (the system prompt). Every `Turn.tokens` is filled in.
    Linear in the size of the turns.
    """
    total = fixed_tokens
    for turn in turns:
        turn.tokens = sum(message_tokens(m, count) for m in turn.messages)
        total += turn.tokens
    shortened = 0
    if total > budget and len(turns) > 1:
        for turn in turns[:-1]:
            total, n = _shorten_turn(turn, total, budget, count)
            shortened += n
            if total <= budget:
                break
    start = 0
    last = len(turns) - 1
    while total > budget and start < last:
        total -= turns[start].tokens
        start += 1
    if total > budget and turns:
        total, n = _shorten_turn(turns[last], total, budget, count)
        shortened += n
    return Fit(start=start, tokens=total, shortened=shortened)


def _shorten_turn(turn: Turn, total: int, budget: int, count: TokenCounter) -> tuple[int, int]:
    """Shorten the turn's long tool results in order until the total fits; new total, count."""
    shortened = 0
    messages = turn.messages
    for i, message in enumerate(messages):
        content = message.content
        if message.role != "tool" or content is None or len(content) <= SHORTENED_TOOL_RESULT_CHARS:
            continue
        short = ChatMessage(
            role="tool", content=shorten_tool_result(content), tool_call_id=message.tool_call_id
        )
        saved = message_tokens(message, count) - message_tokens(short, count)
        messages[i] = short
        turn.tokens -= saved
        total -= saved
        shortened += 1
        if total <= budget:
            break
    return total, shortened
