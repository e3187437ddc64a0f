"""Anthropic's Messages API request side, without a network: the endpoint and headers, and the
body `AnthropicProtocol` builds — system prompts lifted top level, tool results and same-role
messages merged, thinking blocks sent back first and verbatim, no empty text blocks, and tools,
limits and extra params passed through. The stream decoder is in `test_anthropic_stream.py`."""

from __future__ import annotations

import json
from typing import Any

from bot.llm.protocols.anthropic import AnthropicProtocol
from bot.llm.protocols.base import CallOptions
from bot.llm.types import Artefacts, ChatMessage, ChatRequest, ToolCall, ToolSpec
from tests.fakes.anthropic_server import validate_messages_request
from tests.llm.anthropic_helpers import MODEL, signed

PROTOCOL = AnthropicProtocol()
SOURCE = f"anthropic/{MODEL}"
SCHEMA = {"type": "object", "properties": {"x": {"type": "integer"}}}


def body(*messages: ChatMessage, **options: Any) -> dict[str, Any]:
    params = options.pop("params", {})
    return PROTOCOL.body(ChatRequest(MODEL, messages, **options), CallOptions(params=params))


# --- request body ---------------------------------------------------------------------------


def test_anthropic_protocol_endpoint_and_headers() -> None:
    assert PROTOCOL.endpoint("https://api.anthropic.com/v1") == (
        "https://api.anthropic.com/v1/messages"
    )
    assert PROTOCOL.headers("sk-ant-x") == {
        "x-api-key": "sk-ant-x",
        "anthropic-version": "2023-06-01",
    }
    assert PROTOCOL.headers("") == {"anthropic-version": "2023-06-01"}  # a keyless proxy


def test_anthropic_body_system_goes_top_level() -> None:
    sent = body(
        ChatMessage("system", "Be brief."),
        ChatMessage("system", "Answer in French."),
        ChatMessage("user", "hi"),
    )
    assert sent["system"] == "Be brief.\n\nAnswer in French."
    assert sent["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert all(m["role"] != "system" for m in sent["messages"])


def test_anthropic_body_tool_results_form_one_user_message_with_the_next_member_message() -> None:
    calls = (ToolCall("toolu_a", "echo", '{"x": 1}'), ToolCall("toolu_b", "echo", "{}"))
    sent = body(
        ChatMessage("user", "go"),
        ChatMessage("assistant", None, calls),
        ChatMessage("tool", "one", tool_call_id="toolu_a"),
        ChatMessage("tool", "two", tool_call_id="toolu_b"),
        ChatMessage("user", "and then?"),
    )
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_a", "content": "one"},
        {"type": "tool_result", "tool_use_id": "toolu_b", "content": "two"},
        {"type": "text", "text": "and then?"},
    ]
    assert validate_messages_request(sent) is None


def test_anthropic_body_assistant_blocks_thinking_first_then_text_then_tool_use() -> None:
    blocks = [signed("let me think"), {"type": "redacted_thinking", "data": "EmwKAhgB"}]
    calls = (
        ToolCall("toolu_a", "echo", '{"x": 1}'),
        ToolCall("toolu_b", "echo", "[1, 2]"),  # not an object: sent as {}
        ToolCall("toolu_c", "echo", '{"x": '),  # cut off: sent as {}
    )
    assistant = ChatMessage(
        "assistant", "Checking.", calls, artefacts=Artefacts(SOURCE, {"thinking_blocks": blocks})
    )
    sent = body(ChatMessage("user", "go"), assistant)
    assert sent["messages"][1]["content"] == [
        *blocks,
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_a", "name": "echo", "input": {"x": 1}},
        {"type": "tool_use", "id": "toolu_b", "name": "echo", "input": {}},
        {"type": "tool_use", "id": "toolu_c", "name": "echo", "input": {}},
    ]
    # Exactly as received: the same keys and values, byte for byte once serialised.
    assert json.dumps(sent["messages"][1]["content"][:2]) == json.dumps(blocks)


def test_anthropic_body_never_sends_empty_text_blocks() -> None:
    calls = (ToolCall("toolu_a", "echo", "{}"),)
    sent = body(
        ChatMessage("user", "go"),
        ChatMessage("assistant", "", calls),
        ChatMessage("tool", "done", tool_call_id="toolu_a"),
        ChatMessage("assistant", "  \n"),  # nothing sendable: left out
        ChatMessage("user", ""),
        ChatMessage("user", "next"),
    )
    texts = [
        block
        for message in sent["messages"]
        for block in message["content"]
        if block["type"] == "text"
    ]
    assert texts == [{"type": "text", "text": "go"}, {"type": "text", "text": "next"}]
    assert sent["messages"][1]["content"] == [
        {"type": "tool_use", "id": "toolu_a", "name": "echo", "input": {}}
    ]
    assert validate_messages_request(sent) is None


def test_anthropic_body_merges_consecutive_messages_of_one_role() -> None:
    sent = body(
        ChatMessage("user", "first"),
        ChatMessage("user", "second"),
        ChatMessage("assistant", "a"),
        ChatMessage("assistant", "b"),
        ChatMessage("user", "third"),
    )
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}],
        },
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
        },
        {"role": "user", "content": [{"type": "text", "text": "third"}]},
    ]
    assert validate_messages_request(sent) is None


def test_anthropic_body_tools_choice_limits_and_params() -> None:
    tools = (ToolSpec("echo", "Echo things", SCHEMA),)
    sent = body(
        ChatMessage("user", "go"),
        tools=tools,
        tool_choice="none",
        temperature=0.3,
        params={"thinking": {"type": "enabled", "budget_tokens": 2048}, "top_k": 5},
    )
    assert sent["tools"] == [{"name": "echo", "description": "Echo things", "input_schema": SCHEMA}]
    assert sent["tool_choice"] == {"type": "none"}
    assert sent["max_tokens"] == 4096  # Anthropic requires it: the default when unset
    assert sent["temperature"] == 0.3
    assert sent["stream"] is True
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert sent["top_k"] == 5
    assert "system" not in sent
    assert body(ChatMessage("user", "go"), max_tokens=512)["max_tokens"] == 512
    plain = body(ChatMessage("user", "go"))
    assert "tools" not in plain and "tool_choice" not in plain and "temperature" not in plain


def test_anthropic_body_ignores_artefacts_that_are_not_thinking_blocks() -> None:
    data = {
        "reasoning_content": "chat-completions state",
        "thinking_blocks": [{"type": "reasoning.text", "text": "x"}, "junk", signed("kept")],
    }
    assistant = ChatMessage("assistant", "ok", artefacts=Artefacts(SOURCE, data))
    sent = body(ChatMessage("user", "go"), assistant, ChatMessage("user", "more"))
    assert sent["messages"][1]["content"] == [signed("kept"), {"type": "text", "text": "ok"}]
