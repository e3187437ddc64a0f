"""Images a tool returned, in each protocol's request: where the provider takes them (checked
by the strict fakes' own validators), for a round of two parallel calls that both returned an
image, and as a note for a model that can't see them."""

from __future__ import annotations

import base64

from bot.llm.protocols.anthropic import AnthropicProtocol
from bot.llm.protocols.base import CallOptions
from bot.llm.protocols.responses import ResponsesProtocol
from bot.llm.types import ChatMessage, ChatRequest, ImagePart, ToolCall
from bot.llm.vision import without_images
from tests.fakes.anthropic_server import validate_messages_request
from tests.fakes.llm_server import validate_chat_request
from tests.fakes.mcp_server import PIXEL_PNG
from tests.fakes.responses_server import Issued, validate_responses_request

PIXEL = base64.b64encode(PIXEL_PNG).decode()


def image(name: str) -> ImagePart:
    return ImagePart("image/png", PIXEL, 85, name=name)


def two_image_results() -> ChatRequest:
    calls = (ToolCall("call_a", "lab__image", "{}"), ToolCall("call_b", "lab__image", "{}"))
    return ChatRequest(
        "gpt-4.1-mini",
        [
            ChatMessage("user", "both pictures"),
            ChatMessage("assistant", None, calls),
            ChatMessage("tool", "a [image 1]", tool_call_id="call_a", images=(image("a 1"),)),
            ChatMessage("tool", "b [image 1]", tool_call_id="call_b", images=(image("b 1"),)),
        ],
    )


def test_chat_completions_images_follow_every_result_of_the_round() -> None:
    body = two_image_results().to_wire()
    assert validate_chat_request(body) is None
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["user", "assistant", "tool", "tool", "user"]
    assert body["messages"][2]["content"] == "a [image 1]"  # text only in tool messages
    label, *parts = body["messages"][-1]["content"]
    assert "a 1, b 1" in label["text"]
    assert [p["type"] for p in parts] == ["image_url", "image_url"]
    # The strict fake holds the line this relies on: an image in a tool message is refused.
    misplaced = dict(body, messages=[*body["messages"][:2], dict(body["messages"][2])])
    misplaced["messages"][2]["content"] = [parts[0]]
    misplaced["messages"].append({"role": "tool", "tool_call_id": "call_b", "content": "b"})
    assert "only allowed for messages with role 'user'" in (validate_chat_request(misplaced) or "")


def test_anthropic_tool_results_hold_their_images() -> None:
    body = AnthropicProtocol().body(two_image_results(), CallOptions())
    assert validate_messages_request(body) is None
    results = body["messages"][-1]["content"]
    assert [r["tool_use_id"] for r in results] == ["call_a", "call_b"]
    assert [b["type"] for b in results[0]["content"]] == ["text", "image"]


def test_responses_function_call_outputs_hold_their_images() -> None:
    body = ResponsesProtocol().body(two_image_results(), CallOptions())
    assert validate_responses_request(body, Issued()) is None
    outputs = [i for i in body["input"] if i.get("type") == "function_call_output"]
    kinds = [[p["type"] for p in o["output"]] for o in outputs]
    assert kinds == [["input_text", "input_image"]] * 2


def test_a_model_without_vision_gets_the_tools_text_and_a_line() -> None:
    blind = without_images(two_image_results().messages)
    assert not any(m.images for m in blind)
    assert blind[2].content == "a [image 1]\n[This model can't see the images the tool returned.]"
    assert validate_chat_request(ChatRequest("deepseek-chat", blind).to_wire()) is None
