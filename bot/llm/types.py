"""Typed values that cross the boundary of `bot.llm`: messages, requests, usage and events.

Two event families:
- `StreamEvent`: what one streamed chat completion produces (`LLMClient.stream`).
- `LoopEvent`: what the tool loop produces for a whole answer (`run_tool_loop`).
Consumers match on the dataclass type; all are frozen so they can be shared safely.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call as the model asked for it. `arguments` is the raw JSON text."""

    id: str
    name: str
    arguments: str

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of the chat-completions `messages` array."""

    role: Role
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"role": self.role}
        if self.role == "assistant" and self.tool_calls:
            # Strict providers want content null (not "") beside tool calls when there is none.
            wire["content"] = self.content or None
            wire["tool_calls"] = [call.to_wire() for call in self.tool_calls]
        else:
            wire["content"] = self.content or ""
        if self.role == "tool":
            wire["tool_call_id"] = self.tool_call_id
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
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [m.to_wire() for m in self.messages],
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
class Completion:
    """The last event of a successful stream: everything the completion produced, assembled."""

    text: str
    reasoning: str
    tool_calls: tuple[ToolCall, ...]
    finish_reason: FinishReason
    usage: Usage | None
    model: str | None = None


StreamEvent = ReasoningDelta | TextDelta | ToolCallProgress | Completion


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


StopReason = Literal["complete", "stopped", "max_rounds", "length", "content_filter"]


@dataclass(frozen=True, slots=True)
class Done:
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
    | RoundStarted
    | ToolStarted
    | ToolFinished
    | UsageReported
    | RoundFinished
    | Done
    | LoopError
)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """An entry of `GET /models`."""

    id: str
    owned_by: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
