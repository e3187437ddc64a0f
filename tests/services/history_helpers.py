"""Shared helpers for the `build_model_messages` tests: a checked build and short message makers.

`build` asserts every result is valid for strict providers, so each test checks that for free;
the message makers keep expected message lists readable.
"""

from __future__ import annotations

from bot.llm.types import ChatMessage, ToolCall
from bot.services.history import ModelHistory, build_model_messages
from tests.services.builders import HistoryBuilder
from tests.services.strict import assert_valid_for_strict_provider

BIG = 1_000_000


def build(
    builder: HistoryBuilder,
    *,
    system_prompt: str | None = None,
    token_budget: int = BIG,
    multi_member: bool | None = None,
) -> ModelHistory:
    built = build_model_messages(
        builder.messages,
        system_prompt=system_prompt,
        token_budget=token_budget,
        multi_member=multi_member,
    )
    assert_valid_for_strict_provider(built.messages)
    return built


def roles(messages: list[ChatMessage]) -> list[str]:
    return [m.role for m in messages]


def user(content: str) -> ChatMessage:
    return ChatMessage(role="user", content=content)


def assistant(content: str | None, *calls: ToolCall) -> ChatMessage:
    return ChatMessage(role="assistant", content=content, tool_calls=calls)


def tool(call_id: str, content: str) -> ChatMessage:
    return ChatMessage(role="tool", content=content, tool_call_id=call_id)
