"""OpenAI-compatible chat completions (`protocol = "openai"`): OpenAI, OpenRouter, DeepSeek,
Gemini's compatible API, vLLM, SGLang, Ollama, llama.cpp and the rest.

The body is `ChatRequest.to_wire()` (messages carry their artefacts as the fields the
provider sent: `reasoning_content`, `reasoning_details`, tool calls' `extra_content`) with
the model's params merged in; the stream is decoded by `StreamAccumulator`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.llm.accumulate import StreamAccumulator
from bot.llm.protocols.base import CallOptions, ProviderStreamError, merge_params
from bot.llm.types import ChatRequest, Completion, StreamEvent

__all__ = ["ChatCompletionsProtocol"]


class _Decoder:
    __slots__ = ("_accumulator",)

    def __init__(self, think_tags: bool) -> None:
        self._accumulator = StreamAccumulator(think_tags=think_tags)

    @property
    def chunks(self) -> int:
        return self._accumulator.chunks

    @property
    def ended(self) -> bool:
        return self._accumulator.finish_reason is not None

    def feed(self, event: dict[str, Any]) -> Sequence[StreamEvent]:
        error = event.get("error")
        if error:
            raise ProviderStreamError(error)
        return self._accumulator.feed(event)

    def finish(self) -> Completion:
        return self._accumulator.finish()


class ChatCompletionsProtocol:
    name = "openai"
    requires_end_event = False

    def endpoint(self, base_url: str) -> str:
        return f"{base_url}/chat/completions"

    def headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def body(self, request: ChatRequest, options: CallOptions) -> dict[str, Any]:
        body = request.to_wire()
        return merge_params(body, options.params) if options.params else body

    def decoder(self, request: ChatRequest, options: CallOptions) -> _Decoder:
        return _Decoder(options.think_tags)
