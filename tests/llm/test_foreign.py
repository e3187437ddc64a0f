"""`for_model`: another model's tool rounds retold as text, valid for strict providers."""

from __future__ import annotations

from bot.llm.foreign import for_model
from bot.llm.types import Artefacts, ChatMessage, ToolCall
from tests.services.strict import assert_valid_for_strict_provider

MINE, OTHER = "deepseek/deepseek-v4-flash", "gemini/gemini-3-pro-preview"


def round_of(source: str, call_id: str, text: str | None = None) -> list[ChatMessage]:
    call = ToolCall(call_id, "calculator", '{"expression":"6*7"}', {"extra_content": {"k": 1}})
    return [
        ChatMessage("assistant", text, (call,), artefacts=Artefacts(source, {"x": call_id})),
        ChatMessage("tool", "42", tool_call_id=call_id),
    ]


def test_foreign_own_rounds_pass_unchanged() -> None:
    messages = [ChatMessage("user", "q"), *round_of(MINE, "a"), ChatMessage("assistant", "42.")]
    assert for_model(messages, MINE) == tuple(messages)


def test_foreign_rounds_become_one_assistant_text() -> None:
    messages = [
        ChatMessage("system", "be brief"),
        ChatMessage("user", "q"),
        *round_of(OTHER, "a", "Let me compute."),
        *round_of(OTHER, "b"),
        ChatMessage("assistant", "It is 42."),
        ChatMessage("user", "again"),
        *round_of(MINE, "c"),
    ]
    adapted = for_model(messages, MINE)
    assert_valid_for_strict_provider(list(adapted))
    assert [m.role for m in adapted] == ["system", "user", "assistant", "user", "assistant", "tool"]
    retold = adapted[2]
    assert retold.content == (
        "Let me compute.\n\n"
        '(I used the tool `calculator` with {"expression":"6*7"}; it returned: 42)\n\n'
        '(I used the tool `calculator` with {"expression":"6*7"}; it returned: 42)\n\n'
        "It is 42."
    )
    assert retold.tool_calls == () and retold.artefacts is None
    # The own round keeps its call, its provider fields and its artefacts.
    assert adapted[4].artefacts == Artefacts(MINE, {"x": "c"})
    assert adapted[4].tool_calls[0].extra == {"extra_content": {"k": 1}}


def test_foreign_round_without_a_result_says_so() -> None:
    call = ToolCall("a", "current_time", "{}")
    messages = [
        ChatMessage("user", "q"),
        ChatMessage("assistant", None, (call,), artefacts=Artefacts(OTHER, {})),
        ChatMessage("user", "hello?"),
    ]
    adapted = for_model(messages, MINE)
    assert adapted[1].content == "(I used the tool `current_time` with {}; no result was recorded)"


def test_foreign_text_only_messages_lose_only_their_artefacts() -> None:
    messages = [
        ChatMessage("user", "q"),
        ChatMessage("assistant", "hi", artefacts=Artefacts(OTHER, {"reasoning_content": "r"})),
    ]
    assert for_model(messages, MINE)[1] == ChatMessage("assistant", "hi")
