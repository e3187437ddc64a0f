"""Typed values that cross the boundary of `bot.llm`: messages, requests, usage and events.

Two event families:
- `StreamEvent`: what one streamed chat completion produces (`LLMClient.stream`).
- `LoopEvent`: what the tool loop produces for a whole answer (`run_tool_loop`).
Consumers match on the dataclass type; all are frozen so they can be shared safely.

Provider artefacts: thinking models require parts of their own output back, unchanged, in
later requests (DeepSeek's `reasoning_content`, OpenRouter's `reasoning_details`, Gemini's
`thought_signature` on tool calls, Anthropic's signed thinking blocks, the Responses API's
encrypted reasoning items). A protocol's decoder collects them into `Completion.artefacts`
(message level, a JSON object whose keys only that protocol reads) and `ToolCall.extra` (per
call); the tool loop wraps them in `Artefacts` tagged with the model reference that produced
them, and `bot.llm.foreign.for_model` keeps them from any other model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call as the model asked for it. `arguments` is the raw JSON text.

    `extra` holds provider fields that came with the call and must go back with it exactly
    as received (Gemini's `extra_content`); only the protocol that produced them reads them.
    """

    id: str
    name: str
    arguments: str
    extra: Mapping[str, Any] | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }
        if self.extra:
            for key, value in self.extra.items():
                wire.setdefault(key, value)
        return wire


@dataclass(frozen=True, slots=True)
class Artefacts:
    """What a provider requires back with one assistant message, exactly as it sent it.

    `source` is the model reference (`provider/model`) that produced them: they are sent to
    that model only. `data` is a JSON object read by the protocol of that provider alone
    (e.g. `{"reasoning_content": "..."}` for chat completions, `{"thinking_blocks": [...]}`
    for Anthropic, `{"reasoning_items": [...]}` for the Responses API).
    """

    source: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image a member attached, for models that see images (downscaled, base64)."""

    mime: str
    data_b64: str
    tokens: int  # estimated, for the context budget and the budget reservation
    name: str = "image"

    @property
    def data_url(self) -> str:
        return f"data:{self.mime};base64,{self.data_b64}"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a conversation, in the chat-completions shape every protocol maps from.

    `artefacts` (assistant messages only) carry the provider's own reasoning state; the
    chat-completions wire form merges their `data` into the message object.
    """

    role: Role
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    artefacts: Artefacts | None = None
    # A member's images, or the images a tool returned (its result's `ToolOutput.images`).
    images: tuple[ImagePart, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"role": self.role}
        if self.images and self.role != "tool":  # a tool's go in a user message after it
            parts: list[dict[str, Any]] = [{"type": "text", "text": self.content or ""}]
            parts += [
                {"type": "image_url", "image_url": {"url": image.data_url}} for image in self.images
            ]
            wire["content"] = parts
        elif self.role == "assistant" and self.tool_calls:
            # Strict providers want content null (not "") beside tool calls when there is none.
            wire["content"] = self.content or None
            wire["tool_calls"] = [call.to_wire() for call in self.tool_calls]
        else:
            wire["content"] = self.content or ""
        if self.role == "tool":
            wire["tool_call_id"] = self.tool_call_id
        if self.artefacts is not None and self.role == "assistant":
            for key, value in self.artefacts.data.items():
                wire.setdefault(key, value)
        return wire


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """What the model is told about a tool: the `tools[]` entry of a request."""

    name: str
    description: str
    parameters: Mapping[str, Any]

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: Sequence[ChatMessage]
    tools: Sequence[ToolSpec] = ()
    max_tokens: int | None = None
    temperature: float | None = None
    # "none" forces a text answer while keeping the tool list valid for strict providers.
    tool_choice: Literal["auto", "none"] | None = None

    def to_wire(self) -> dict[str, Any]:
        """The chat-completions body (other protocols build theirs in `bot.llm.protocols`)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": _messages_wire(self.messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.tools:
            body["tools"] = [t.to_wire() for t in self.tools]
            if self.tool_choice is not None:
                body["tool_choice"] = self.tool_choice
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if self.temperature is not None:
            body["temperature"] = self.temperature
        return body


def _messages_wire(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """Chat-completions messages. A tool message carries text only, so the images tools
    returned follow the round's results as one user message, each labelled as a tool's."""
    wire: list[dict[str, Any]] = []
    held: list[ImagePart] = []
    for message in messages:
        if held and message.role != "tool":
            wire.append(_tool_images_wire(held))
            held = []
        wire.append(message.to_wire())
        if message.role == "tool":
            held.extend(message.images)
    if held:
        wire.append(_tool_images_wire(held))
    return wire


def _tool_images_wire(images: Sequence[ImagePart]) -> dict[str, Any]:
    names = ", ".join(image.name for image in images)
    parts: list[dict[str, Any]] = [
        {"type": "text", "text": f"[The images the tool results above refer to: {names}]"}
    ]
    parts += [{"type": "image_url", "image_url": {"url": image.data_url}} for image in images]
    return {"role": "user", "content": parts}


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one call, normalised to OpenAI's inclusive convention.

    `cached_tokens` is a part of `prompt_tokens` and `reasoning_tokens` a part of
    `completion_tokens`; billing subtracts them so each token is priced exactly once.
    `estimated` is true when the provider did not report usage and we counted ourselves.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False
    # Cost the provider reported itself (OpenRouter), in dollars; informational only.
    provider_cost_usd: float | None = None
    # Prompt tokens written to the provider's cache (Anthropic's cache_creation_input_tokens),
    # a part of `prompt_tokens` like `cached_tokens` (which counts cache reads), billed at
    # the model's cache-write price.
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


FinishReason = Literal["stop", "tool_calls", "length", "content_filter", "other"]


# --- events of one streamed completion (LLMClient.stream) -------------------------------------


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallProgress:
    """A tool call is being streamed; lets a UI show the tool's name before it runs."""

    index: int
    name: str


@dataclass(frozen=True, slots=True)
class TextWasReasoning:
    """Everything streamed as text so far in this call was really reasoning.

    Servers without a reasoning parser put the thinking in `content`; R1-style templates
    send only the closing `</think>`, so the text before it is known to be thinking only
    when that tag arrives. Consumers move the call's text so far into its reasoning.
    """


@dataclass(frozen=True, slots=True)
class SourcesCited:
    """Sources the provider's own tools (its web search) cited in this call, as (title, URL):
    only ones not cited earlier in the call. Shown under the answer; never sent back."""

    sources: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ModelSwitched:
    """The requested model failed before its first token; `used` answers instead."""

    requested: str
    used: str
    reason: str  # plain words, safe to show


@dataclass(frozen=True, slots=True)
class Completion:
    """The last event of a successful stream: everything the completion produced, assembled.

    `model` is the model name the provider reported (may be None); `source` the model
    reference that answered (set by the router; None when the client was called directly).
    `artefacts` is what the provider requires back with this message (see `Artefacts`).
    """

    text: str
    reasoning: str
    tool_calls: tuple[ToolCall, ...]
    finish_reason: FinishReason
    usage: Usage | None
    model: str | None = None
    artefacts: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None
    refusal: bool = False  # the text is the provider's refusal (OpenAI `refusal`)


StreamEvent = (
    ReasoningDelta
    | TextDelta
    | ToolCallProgress
    | TextWasReasoning
    | SourcesCited
    | ModelSwitched
    | Completion
)


# --- events of a whole answer (run_tool_loop) --------------------------------------------------

ToolStatus = Literal["ok", "error", "timeout", "refused", "cancelled"]


@dataclass(frozen=True, slots=True)
class RoundStarted:
    round: int
    request: ChatRequest


@dataclass(frozen=True, slots=True)
class ToolStarted:
    round: int
    call: ToolCall


@dataclass(frozen=True, slots=True)
class ToolFinished:
    round: int
    call: ToolCall
    result: str
    status: ToolStatus
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True, slots=True)
class UsageReported:
    """Usage of one LLM call (one round). Always emitted once per call that was started."""

    round: int
    model: str
    usage: Usage
    status: Literal["completed", "stopped", "error"]


@dataclass(frozen=True, slots=True)
class RoundFinished:
    """One model call is complete: the assistant message it produced (before tools ran)."""

    round: int
    text: str
    reasoning: str
    tool_calls: tuple[ToolCall, ...]
    finish_reason: FinishReason
    artefacts: Artefacts | None = None  # what the provider requires back with this round


StopReason = Literal["complete", "stopped", "max_rounds", "length", "content_filter"]


@dataclass(frozen=True, slots=True)
class LoopDone:
    reason: StopReason
    text: str  # the final answer text of the last round
    note: str | None = None  # plain words for the member when the answer ended unusually
    rounds: int = 1


@dataclass(frozen=True, slots=True)
class LoopError:
    """The answer failed. `error` carries `user_message`; `partial` when output had been shown."""

    error: Exception
    partial: bool


LoopEvent = (
    ReasoningDelta
    | TextDelta
    | ToolCallProgress
    | TextWasReasoning
    | SourcesCited
    | ModelSwitched
    | RoundStarted
    | ToolStarted
    | ToolFinished
    | UsageReported
    | RoundFinished
    | LoopDone
    | LoopError
)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """An entry of `GET /models`."""

    id: str
    owned_by: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
