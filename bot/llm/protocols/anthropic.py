"""Anthropic's Messages API (`protocol = "anthropic"`): the request, and the protocol object.

Request body (`AnthropicProtocol.body`): system messages become the top-level `system`
string; the rest become strictly alternating `user` / `assistant` messages of content blocks.
Consecutive messages of one role are merged into one message; `tool` results become
`tool_result` blocks of a user message (every result of a round in one message, a member
message that follows them joining it after the results). An assistant message carries, in
this order, the signed `thinking` / `redacted_thinking` blocks it was produced with (its
artefacts, `{"thinking_blocks": [...]}`, sent back exactly as received: with thinking
enabled, Anthropic rejects a tool-use turn whose thinking is missing or altered), its text,
then its `tool_use` blocks. Empty text blocks are never sent (Anthropic rejects them).

The stream is decoded by `bot.llm.protocols.anthropic_stream.AnthropicDecoder`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.llm.protocols.anthropic_stream import AnthropicDecoder
from bot.llm.protocols.base import CallOptions, merge_params
from bot.llm.types import ChatMessage, ChatRequest

__all__ = [
    "ANTHROPIC_VERSION",
    "DEFAULT_MAX_TOKENS",
    "AnthropicProtocol",
    "build_messages",
]

ANTHROPIC_VERSION = "2023-06-01"
# Anthropic requires `max_tokens`; used when the request does not set one.
DEFAULT_MAX_TOKENS = 4096
THINKING_BLOCK_TYPES = frozenset({"thinking", "redacted_thinking"})

# --- request body -------------------------------------------------------------------------


def _text_block(text: str | None) -> list[dict[str, Any]]:
    # Whitespace-only text is rejected like empty text ("must contain non-whitespace text").
    return [{"type": "text", "text": text}] if text and not text.isspace() else []


def _tool_input(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _thinking_blocks(message: ChatMessage) -> list[dict[str, Any]]:
    if message.artefacts is None:
        return []
    blocks = message.artefacts.data.get("thinking_blocks")
    if not isinstance(blocks, Sequence) or isinstance(blocks, str):
        return []
    return [
        dict(block)
        for block in blocks
        if isinstance(block, Mapping) and block.get("type") in THINKING_BLOCK_TYPES
    ]


def _image_blocks(message: ChatMessage) -> list[dict[str, Any]]:
    return [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": image.mime, "data": image.data_b64},
        }
        for image in message.images
    ]


def _blocks(message: ChatMessage) -> list[dict[str, Any]]:
    """The content blocks of one non-system message, in the order Anthropic wants them."""
    if message.role == "tool":
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id}
        if message.images:  # a tool_result holds image blocks beside its text
            result["content"] = _text_block(message.content) + _image_blocks(message)
        elif message.content:
            result["content"] = message.content
        return [result]
    if message.role == "user":
        # Anthropic reads images best before the text that asks about them.
        return _image_blocks(message) + _text_block(message.content)
    blocks = _thinking_blocks(message)
    blocks += _text_block(message.content)
    blocks += [
        {"type": "tool_use", "id": call.id, "name": call.name, "input": _tool_input(call.arguments)}
        for call in message.tool_calls
    ]
    return blocks


def build_messages(
    messages: Sequence[ChatMessage],
) -> tuple[str, list[dict[str, Any]]]:
    """(system text, alternating Anthropic messages) for a neutral conversation."""
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            if message.content:
                system.append(message.content)
            continue
        blocks = _blocks(message)
        if not blocks:
            continue  # nothing Anthropic would accept (e.g. an empty member message)
        role = "assistant" if message.role == "assistant" else "user"
        if out and out[-1]["role"] == role:
            # Anthropic wants roles to alternate: tool results of one round, and a member
            # message right after them, form one user message (results first).
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return "\n\n".join(system), out


class AnthropicProtocol:
    name = "anthropic"
    requires_end_event = True

    def endpoint(self, base_url: str) -> str:
        return f"{base_url}/messages"

    def headers(self, api_key: str) -> dict[str, str]:
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if api_key:
            headers["x-api-key"] = api_key
        return headers

    def body(self, request: ChatRequest, options: CallOptions) -> dict[str, Any]:
        system, messages = build_messages(request.messages)
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        }
        if system:
            body["system"] = system
        body["messages"] = messages
        if request.tools:
            body["tools"] = [
                {
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": dict(tool.parameters),
                }
                for tool in request.tools
            ]
            if request.tool_choice is not None:
                body["tool_choice"] = {"type": request.tool_choice}
        if request.temperature is not None:
            body["temperature"] = request.temperature
        body["stream"] = True
        return merge_params(body, options.params) if options.params else body

    def decoder(self, request: ChatRequest, options: CallOptions) -> AnthropicDecoder:
        return AnthropicDecoder()
