"""The wire protocols `LLMClient` speaks; see `bot.llm.protocols.base`."""
