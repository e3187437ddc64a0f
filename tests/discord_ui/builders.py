"""Builders for loop events, so tests read as the story of one answer."""

from __future__ import annotations

from collections.abc import Iterable

from bot.discord_ui.state import AnswerState
from bot.llm.types import ChatMessage, ChatRequest, LoopEvent, ToolCall

MODEL = "gpt-4o-mini"


def request(model: str = MODEL) -> ChatRequest:
    return ChatRequest(model=model, messages=[ChatMessage(role="user", content="hi")])


def call(
    call_id: str = "c1", name: str = "calculator", arguments: str = '{"expression": "2+2"}'
) -> ToolCall:
    return ToolCall(id=call_id, name=name, arguments=arguments)


def feed(state: AnswerState, events: Iterable[tuple[float, LoopEvent]]) -> None:
    for now, event in events:
        state.apply(event, now)
