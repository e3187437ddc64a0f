"""Builders for loop events, so tests read as the story of one answer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class CallBilled:
    """The meter's cost of one call, as the chat service hands it to the presenter."""

    micros: int | None
    estimated: bool = False


def feed(state: AnswerState, events: Iterable[tuple[float, LoopEvent | CallBilled]]) -> None:
    for now, event in events:
        if isinstance(event, CallBilled):
            state.add_cost(event.micros, estimated=event.estimated)
        else:
            state.apply(event, now)


def finished_state(call_micros: int | None = 1200) -> AnswerState:
    """Reasoned 12 s, one calculator call, answered in round 2; 1,234 in / 567 out; each
    of the two calls billed `call_micros` (None: the model has no price)."""
    state = AnswerState(answer_id="a1")
    c = call()
    feed(
        state,
        [
            (0, RoundStarted(1, request())),
            (1, ReasoningDelta("thinking")),
            (13, ToolCallProgress(0, "calculator")),
            (13, UsageReported(1, MODEL, Usage(1000, 50), "completed")),
            (13, CallBilled(call_micros)),
            (13, RoundFinished(1, "", "thinking", (c,), "tool_calls")),
            (13, ToolStarted(1, c)),
            (14, ToolFinished(1, c, "4", "ok", 1.234)),
            (14, RoundStarted(2, request())),
            (15, TextDelta("It is **4**.")),
            (16, UsageReported(2, MODEL, Usage(234, 517), "completed")),
            (16, CallBilled(call_micros)),
            (16, LoopDone("complete", "It is **4**.", rounds=2)),
        ],
    )
    return state
