"""Builders for loop events, so tests read as the story of one answer."""

from __future__ import annotations

from collections.abc import Iterable

from bot.discord_ui.state import AnswerState
from bot.llm.types import (
    ChatMessage,
    ChatRequest,
    LoopDone,
    LoopEvent,
    ReasoningDelta,
    RoundFinished,
    RoundStarted,
    TextDelta,
    ToolCall,
    ToolCallProgress,
    ToolFinished,
    ToolStarted,
    Usage,
    UsageReported,
)

MODEL = "gpt-4o-mini"
REASONING = "The member asks for a sum. I will use the calculator tool to be exact about it. " * 4


def request(model: str = MODEL) -> ChatRequest:
    return ChatRequest(model=model, messages=[ChatMessage(role="user", content="hi")])


def call(
    call_id: str = "c1", name: str = "calculator", arguments: str = '{"expression": "2+2"}'
) -> ToolCall:
    return ToolCall(id=call_id, name=name, arguments=arguments)


def feed(state: AnswerState, events: Iterable[tuple[float, LoopEvent]]) -> None:
    for now, event in events:
        state.apply(event, now)


def finished_state(pricer_micros: int | None = 1200) -> AnswerState:
    """Reasoned 12 s, one calculator call, answered in round 2; 1,234 in / 567 out."""
    state = AnswerState(answer_id="a1", pricer=lambda model, usage: pricer_micros)
    c = call()
    feed(
        state,
        [
            (0, RoundStarted(1, request())),
            (1, ReasoningDelta("thinking")),
            (13, ToolCallProgress(0, "calculator")),
            (13, UsageReported(1, MODEL, Usage(1000, 50), "completed")),
            (13, RoundFinished(1, "", "thinking", (c,), "tool_calls")),
            (13, ToolStarted(1, c)),
            (14, ToolFinished(1, c, "4", "ok", 1.234)),
            (14, RoundStarted(2, request())),
            (15, TextDelta("It is **4**.")),
            (16, UsageReported(2, MODEL, Usage(234, 517), "completed")),
            (16, LoopDone("complete", "It is **4**.", rounds=2)),
        ],
    )
    return state
