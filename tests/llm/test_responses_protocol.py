"""`ResponsesProtocol` requests: the endpoint and headers, and the request body built from a
`ChatRequest` — system prompts as instructions, turns (with reasoning artefacts, tool calls and
tool results) as input items, tools, output limits, and when encrypted reasoning is asked for.
Decoding the streamed reply is covered in `test_responses_decoding.py` and
`test_responses_stream_errors.py`."""

from __future__ import annotations

from typing import Any

import pytest

from bot.llm.protocols.base import CallOptions
from bot.llm.protocols.responses import ResponsesProtocol, is_reasoning_model
from bot.llm.types import Artefacts, ChatMessage, ChatRequest, ToolCall, ToolSpec

PROTOCOL = ResponsesProtocol()
OPTIONS = CallOptions()
SPEC = ToolSpec("echo", "Echo the arguments.", {"type": "object", "properties": {}})


def body(request: ChatRequest, **params: Any) -> dict[str, Any]:
    return PROTOCOL.body(request, CallOptions(params=params))


REASONING_ITEM = {
    "id": "rs_abc",
    "type": "reasoning",
    "summary": [{"type": "summary_text", "text": "Plan."}],
    "encrypted_content": "gAAAAABsecret",
}


# --- the request ------------------------------------------------------------------------------


def test_protocol_endpoint_and_headers() -> None:
    assert PROTOCOL.name == "responses" and PROTOCOL.requires_end_event
    assert PROTOCOL.endpoint("https://api.openai.com/v1") == "https://api.openai.com/v1/responses"
    assert PROTOCOL.headers("sk-test") == {"Authorization": "Bearer sk-test"}
    assert PROTOCOL.headers("") == {}


def test_body_maps_system_to_instructions_and_turns_to_input_items() -> None:
    request = ChatRequest(
        "gpt-4.1-mini",
        [
            ChatMessage("system", "Be brief."),
            ChatMessage("system", "Answer in French."),
            ChatMessage("user", "hi"),
            ChatMessage("assistant", "Bonjour."),
            ChatMessage("user", "again"),
        ],
    )

    sent = body(request)

    assert sent == {
        "model": "gpt-4.1-mini",
        "instructions": "Be brief.\n\nAnswer in French.",
        "input": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Bonjour."},
            {"role": "user", "content": "again"},
        ],
        "stream": True,
        "store": False,
    }


def test_body_sends_reasoning_text_and_calls_of_a_turn_in_order_without_item_ids() -> None:
    calls = (ToolCall("call_1", "echo", '{"a": 1}'), ToolCall("call_2", "echo", "{}"))
    request = ChatRequest(
        "o4-mini",
        [
            ChatMessage("user", "hi"),
            ChatMessage(
                "assistant",
                "Let me check.",
                calls,
                artefacts=Artefacts("openai/o4-mini", {"reasoning_items": [REASONING_ITEM]}),
            ),
            ChatMessage("tool", "one", tool_call_id="call_1"),
            ChatMessage("tool", "two", tool_call_id="call_2"),
        ],
        tools=[SPEC],
    )

    sent = body(request)

    reasoning = {k: v for k, v in REASONING_ITEM.items() if k != "id"}
    assert sent["input"] == [
        {"role": "user", "content": "hi"},
        reasoning,
        {"role": "assistant", "content": "Let me check."},
        {"type": "function_call", "call_id": "call_1", "name": "echo", "arguments": '{"a": 1}'},
        {"type": "function_call", "call_id": "call_2", "name": "echo", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "one"},
        {"type": "function_call_output", "call_id": "call_2", "output": "two"},
    ]
    assert sent["input"][1]["encrypted_content"] == "gAAAAABsecret"
    assert REASONING_ITEM["id"] == "rs_abc"  # the artefact itself is left as received


def test_body_skips_an_assistant_turn_with_nothing_to_send() -> None:
    artefacts = Artefacts("openai/o4-mini", {"reasoning_items": [REASONING_ITEM]})
    request = ChatRequest(
        "o4-mini",
        [ChatMessage("user", "a"), ChatMessage("assistant", "", artefacts=artefacts)],
    )

    assert body(request)["input"] == [{"role": "user", "content": "a"}]


def test_body_tools_are_flat_and_not_strict_with_tool_choice_only_beside_tools() -> None:
    with_tools = ChatRequest("gpt-4.1", [ChatMessage("user", "x")], [SPEC], tool_choice="none")
    without = ChatRequest("gpt-4.1", [ChatMessage("user", "x")], tool_choice="none")

    assert body(with_tools)["tools"] == [
        {
            "type": "function",
            "name": "echo",
            "description": "Echo the arguments.",
            "parameters": {"type": "object", "properties": {}},
            "strict": False,
        }
    ]
    assert body(with_tools)["tool_choice"] == "none"
    assert "tools" not in body(without) and "tool_choice" not in body(without)


def test_body_output_limit_and_temperature() -> None:
    request = ChatRequest("gpt-4.1", [ChatMessage("user", "x")], max_tokens=500, temperature=0.2)
    tiny = ChatRequest("gpt-4.1", [ChatMessage("user", "x")], max_tokens=5)

    assert body(request)["max_output_tokens"] == 500
    assert body(request)["temperature"] == 0.2
    assert body(tiny)["max_output_tokens"] == 16  # the API's minimum


@pytest.mark.parametrize(
    ("model", "reasoning"),
    [
        ("o4-mini", True),
        ("o3", True),
        ("o1-pro", True),
        ("gpt-5", True),
        ("gpt-5-mini", True),
        ("gpt-5.1-codex", True),
        ("codex-mini-latest", True),
        ("openai/o3-mini", True),
        ("gpt-5-chat-latest", False),
        ("gpt-4.1-mini", False),
        ("gpt-4o", False),
        ("omni-moderation-latest", False),
    ],
)
def test_body_asks_for_encrypted_reasoning_only_from_reasoning_models(
    model: str, reasoning: bool
) -> None:
    sent = body(ChatRequest(model, [ChatMessage("user", "x")]))

    assert is_reasoning_model(model) is reasoning
    assert ("include" in sent) is reasoning
    if reasoning:
        assert sent["include"] == ["reasoning.encrypted_content"]


def test_body_params_merge_and_decide_include() -> None:
    request = ChatRequest("my-reasoner", [ChatMessage("user", "x")])

    configured = body(request, reasoning={"effort": "medium", "summary": "auto"})
    switched_off = body(ChatRequest("o3", [ChatMessage("user", "x")]), include=[])

    assert configured["reasoning"] == {"effort": "medium", "summary": "auto"}
    assert configured["include"] == ["reasoning.encrypted_content"]
    assert switched_off["include"] == []
