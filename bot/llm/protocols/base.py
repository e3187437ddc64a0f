"""What a wire protocol must provide so `LLMClient` can speak it.

`LLMClient` owns HTTP, timeouts, retries, SSE framing and error mapping; a protocol owns the
shape of one provider family's API: where to post, which headers carry the key, how a neutral
`ChatRequest` becomes a request body, and how the streamed JSON events become the neutral
`StreamEvent`s (ending with one `Completion`). Three protocols exist: chat completions
(`openai`), OpenAI's Responses API (`responses`) and Anthropic's Messages API (`anthropic`).

Decoders are pure and synchronous (one parsed JSON event in, events out) so they are tested
and benchmarked without a network. An error the provider reports inside the stream is raised
as `ProviderStreamError` carrying the provider's error object; the client turns it into a
typed, sanitized `LLMError` (it alone knows the key to scrub).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.llm.types import ChatRequest, Completion, StreamEvent

__all__ = ["CallOptions", "ProviderStreamError", "StreamDecoder", "WireProtocol", "merge_params"]


@dataclass(frozen=True, slots=True)
class CallOptions:
    """Per-model settings of one call, from the configuration file."""

    # Merged into the request body (reasoning effort, thinking switches, provider tools).
    params: Mapping[str, Any] = field(default_factory=dict)
    # Split `<think>…</think>` written inline in the text out as reasoning (chat completions).
    think_tags: bool = True


DEFAULT_OPTIONS = CallOptions()


class ProviderStreamError(Exception):
    """The stream carried an error object (`error` is the provider's value, unsanitized)."""

    def __init__(self, error: Any, *, status: int | None = None) -> None:
        super().__init__("provider error in stream")
        self.error = error
        self.status = status


class StreamDecoder(Protocol):
    """State of one streamed response. Feed parsed events in order, then `finish()`."""

    @property
    def chunks(self) -> int:
        """How many events were fed (0 means the stream was empty)."""

    @property
    def ended(self) -> bool:
        """Whether the protocol's own end-of-response event arrived (not just EOF)."""

    def feed(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        """Ingest one parsed event; raise `ProviderStreamError` for an error event."""

    def finish(self) -> Completion:
        """The assembled completion."""


class WireProtocol(Protocol):
    """One provider family's API shape (stateless; one instance serves every request)."""

    name: str
    # Whether the stream is expected to end with its own terminal event (`ended`); chat
    # completions servers often just close the stream, so only the other two require it.
    requires_end_event: bool

    def endpoint(self, base_url: str) -> str:
        """The URL to post a streamed request to."""

    def headers(self, api_key: str) -> dict[str, str]:
        """Headers carrying the key (and any version header), besides content type."""

    def body(self, request: ChatRequest, options: CallOptions) -> dict[str, Any]:
        """The JSON body for `request`, with the model's configured `params` merged in."""

    def decoder(self, request: ChatRequest, options: CallOptions) -> StreamDecoder:
        """A fresh decoder for the response to `request`."""


def merge_params(body: dict[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """Merge a model's configured params into a request body (objects merged key by key,
    `tools` lists joined, anything else replaced), e.g. `{"thinking": {"type": "enabled"}}`
    or `reasoning_effort`. A provider's own tools (`tools = [{ type = "web_search" }]`) join
    the function tools of the answer instead of replacing them."""
    for key, value in params.items():
        current = body.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            body[key] = merge_params(dict(current), value)
        elif key == "tools" and isinstance(current, list) and isinstance(value, list):
            body[key] = [*current, *value]
        else:
            body[key] = value
    return body
