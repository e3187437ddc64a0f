"""The wire protocols `LLMClient` speaks; see `bot.llm.protocols.base`."""

from __future__ import annotations

from bot.llm.protocols.base import WireProtocol

__all__ = ["protocol_for"]


def protocol_for(name: str) -> WireProtocol:
    """The protocol called `name` in the configuration file."""
    if name == "openai":
        from bot.llm.protocols.chat_completions import ChatCompletionsProtocol

        return ChatCompletionsProtocol()
    if name == "responses":
        from bot.llm.protocols.responses import ResponsesProtocol

        return ResponsesProtocol()
    if name == "anthropic":
        from bot.llm.protocols.anthropic import AnthropicProtocol

        return AnthropicProtocol()
    raise ValueError(f"unknown protocol {name!r}")
