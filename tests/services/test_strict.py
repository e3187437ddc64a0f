"""The strict-provider checker must catch what strict providers reject."""

from __future__ import annotations

import pytest

from bot.llm.types import ChatMessage, ToolCall
from tests.services.strict import assert_valid_for_strict_provider

SYSTEM = ChatMessage(role="system", content="sys")
USER = ChatMessage(role="user", content="q")
TEXT = ChatMessage(role="assistant", content="a")
CALL = ChatMessage(role="assistant", tool_calls=(ToolCall("c1", "calculator", "{}"),))
RESULT = ChatMessage(role="tool", content="2", tool_call_id="c1")


def test_strict_accepts_a_valid_conversation() -> None:
    assert_valid_for_strict_provider([SYSTEM, USER, CALL, RESULT, TEXT, USER, TEXT])
    assert_valid_for_strict_provider([])


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ([TEXT, USER], "does not start with a user"),
        ([SYSTEM, RESULT], "does not start with a user"),
        ([USER, SYSTEM], "system message not first"),
        ([USER, CALL], "never answered"),
        ([USER, CALL, USER], "not answered before it"),
        ([USER, CALL, RESULT, RESULT], "answers no open call"),
        ([USER, TEXT, RESULT], "answers no open call"),
        ([USER, TEXT, TEXT], "two assistant messages"),
        ([USER, USER], "two user messages"),
        ([USER, CALL, RESULT, TEXT, USER, CALL, RESULT], "reused"),
        ([ChatMessage(role="user", content=" ")], "empty user"),
        ([USER, ChatMessage(role="assistant", content="")], "empty assistant"),
        (
            [USER, ChatMessage(role="assistant", tool_calls=(ToolCall("c1", "t", "{bad"),))],
            "not a JSON object",
        ),
    ],
)
def test_strict_rejects(messages: list[ChatMessage], problem: str) -> None:
    with pytest.raises(AssertionError, match=problem):
        assert_valid_for_strict_provider(messages)


def test_strict_rejects_replayed_reasoning() -> None:
    thinking = ChatMessage(role="assistant", content="so I think SECRET then")
    with pytest.raises(AssertionError, match="reasoning replayed"):
        assert_valid_for_strict_provider([USER, thinking], reasoning_texts=["SECRET"])


def test_strict_can_allow_consecutive_user_messages() -> None:
    assert_valid_for_strict_provider([USER, USER], allow_consecutive_user=True)
