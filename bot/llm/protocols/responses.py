"""OpenAI's Responses API (`protocol = "responses"`), used statelessly: `POST {base}/responses`.

Owns the endpoint, the headers and the request body; the streamed events are decoded in
`bot.llm.protocols.responses_stream`.

Request: system messages become `instructions`; the conversation becomes `input` items (user
and assistant messages, `function_call` and `function_call_output` items, and before an
assistant turn the `reasoning` items its model produced). `store` is false, so nothing lives on
OpenAI's side between calls: every item the model needs is sent again, and no item carries an
`id` (ids point at stored items; OpenAI answers "Item with id … not found" or rejects an item
whose paired reasoning or follow-up is missing, and Azure rejects reasoning ids outright when
`store` is false). Reasoning items keep their `encrypted_content`, which is what carries the
model's state across calls; `include: ["reasoning.encrypted_content"]` asks for it, but only
for reasoning models (o-series, gpt-5 except its chat variants, codex) or when the model's
params configure `reasoning`, because other models reject the request outright ("Encrypted
content is not supported with this model"). Params can override `include` either way. Tools
are sent with `strict: false` because the Responses API otherwise normalises schemas into
strict mode, making every optional parameter required.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.llm.protocols.base import CallOptions, merge_params
from bot.llm.protocols.responses_stream import ResponsesDecoder
from bot.llm.types import Artefacts, ChatRequest, ToolCall

__all__ = ["ResponsesProtocol", "is_reasoning_model"]

# The Responses API refuses a smaller output limit (chat completions accepts any).
_MIN_OUTPUT_TOKENS = 16
# o1, o3-mini, o4-mini, gpt-5, gpt-5.1-codex, codex-mini… but not gpt-5-chat-latest, which
# rejects encrypted reasoning like the non-reasoning models do.
_REASONING_MODEL = re.compile(r"^(?:o\d|gpt-5(?!.*chat))|codex")


def is_reasoning_model(model: str) -> bool:
    """Whether an OpenAI model name is a reasoning model (a `provider/` prefix is ignored)."""
    return _REASONING_MODEL.search(model.rsplit("/", 1)[-1].lower()) is not None


def _reasoning_input(item: Mapping[str, Any]) -> dict[str, Any]:
    """A received reasoning item as an input item: everything but its `id` (see the module
    docstring: with `store` false an id references nothing, and servers reject it)."""
    return {key: value for key, value in item.items() if key != "id"}


class ResponsesProtocol:
    name = "responses"
    requires_end_event = True

    def endpoint(self, base_url: str) -> str:
        return f"{base_url}/responses"

    def headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def body(self, request: ChatRequest, options: CallOptions) -> dict[str, Any]:
        instructions: list[str] = []
        items: list[dict[str, Any]] = []
        for message in request.messages:
            role = message.role
            if role == "system":
                if message.content:
                    instructions.append(message.content)
            elif role == "user" and message.images:
                parts: list[dict[str, Any]] = [
                    {"type": "input_text", "text": message.content or ""}
                ]
                parts += [
                    {"type": "input_image", "image_url": image.data_url} for image in message.images
                ]
                items.append({"role": "user", "content": parts})
            elif role == "user":
                items.append({"role": "user", "content": message.content or ""})
            elif role == "tool":
                output: str | list[dict[str, Any]] = message.content or ""
                if message.images:  # an output may be a list of input parts, images too
                    output = [{"type": "input_text", "text": message.content or ""}]
                    output += [
                        {"type": "input_image", "image_url": image.data_url}
                        for image in message.images
                    ]
                items.append(
                    {
                        "type": "function_call_output",
                        "call_id": message.tool_call_id or "",
                        "output": output,
                    }
                )
            else:
                _assistant_items(message.content, message.tool_calls, message.artefacts, items)
        body: dict[str, Any] = {"model": request.model}
        if instructions:
            body["instructions"] = "\n\n".join(instructions)
        body["input"] = items
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": dict(tool.parameters),
                    "strict": False,
                }
                for tool in request.tools
            ]
            if request.tool_choice is not None:
                body["tool_choice"] = request.tool_choice
        if request.max_tokens is not None:
            body["max_output_tokens"] = max(request.max_tokens, _MIN_OUTPUT_TOKENS)
        if request.temperature is not None:
            body["temperature"] = request.temperature
        body["stream"] = True
        body["store"] = False
        if is_reasoning_model(request.model) or "reasoning" in options.params:
            body["include"] = ["reasoning.encrypted_content"]
        return merge_params(body, options.params) if options.params else body

    def decoder(self, request: ChatRequest, options: CallOptions) -> ResponsesDecoder:
        return ResponsesDecoder()


def _assistant_items(
    content: str | None,
    calls: Sequence[ToolCall],
    artefacts: Artefacts | None,
    items: list[dict[str, Any]],
) -> None:
    """One assistant turn as input items: its reasoning, its text, its function calls."""
    if not content and not calls:
        return  # nothing to send; reasoning alone would lack the item it must precede
    if artefacts is not None:
        reasoning = artefacts.data.get("reasoning_items")
        if isinstance(reasoning, list):
            items.extend(_reasoning_input(r) for r in reasoning if isinstance(r, Mapping))
    if content:
        items.append({"role": "assistant", "content": content})
    for call in calls:
        # No item `id`: `call_id` pairs the call with its output, and ids are not stored.
        items.append(
            {
                "type": "function_call",
                "call_id": call.id,
                "name": call.name,
                "arguments": call.arguments,
            }
        )
