"""Streaming through the model directory: one client per provider, fallbacks, artefacts.

`ModelRouter.stream(request)` reads `request.model` as a model reference, sends the request
to that reference's provider with the model's own options (params, `<think>` handling), and
on a failure before the first token (connection error, timeout, 429 or 5xx after the
client's own retries, overloaded) tries the reference's `fallback` chain in order, saying so
with a `ModelSwitched` event. Every `Completion` carries the reference that answered
(`source`), which is what the usage is billed to and what its artefacts are tagged with.

Before each request, tool rounds made by any other model are retold as text and their
artefacts dropped (`bot.llm.foreign`): a provider never receives another provider's (or
another model's) reasoning state, nor tool rounds without the state it requires.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

import aiohttp

from bot.errors import LLMError, LLMModelNotFoundError
from bot.llm.client import LLMClient
from bot.llm.foreign import for_model
from bot.llm.protocols import protocol_for
from bot.llm.providers import ModelDirectory, Resolved
from bot.llm.types import (
    ChatRequest,
    Completion,
    ModelSwitched,
    StreamEvent,
)

__all__ = ["ModelRouter", "build_router"]

log = logging.getLogger(__name__)


class ModelRouter:
    """Implements the loop's `ChatStreamer` over every configured provider."""

    def __init__(self, directory: ModelDirectory, clients: Mapping[str, LLMClient]) -> None:
        missing = set(directory.providers) - set(clients)
        if missing:
            raise ValueError(f"no client for providers {sorted(missing)}")
        self._directory = directory
        self._clients = dict(clients)

    @property
    def directory(self) -> ModelDirectory:
        return self._directory

    def client(self, provider: str) -> LLMClient:
        return self._clients[provider]

    def chain(self, ref: str) -> list[Resolved]:
        """The reference and its fallbacks, resolved, in the order they are tried."""
        first = self._directory.resolve(ref)
        chain = [first]
        seen = {first.ref}
        for fallback in first.config.fallback:
            resolved = self._directory.resolve(fallback)
            if resolved.ref not in seen:
                seen.add(resolved.ref)
                chain.append(resolved)
        return chain

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        chain = self.chain(request.model)
        requested = chain[0].ref
        reason = ""
        for position, target in enumerate(chain):
            call = replace(
                request,
                model=target.model,
                messages=for_model(request.messages, target.ref),
            )
            client = self._clients[target.provider.name]
            started = False
            try:
                async for event in client.stream(call, target.options):
                    if not started:
                        started = True
                        if position:
                            yield ModelSwitched(requested, target.ref, reason)
                    if isinstance(event, Completion):
                        event = replace(event, source=target.ref)
                    yield event
                return
            except LLMError as exc:
                last = position == len(chain) - 1
                if started or exc.partial or last or not _falls_back(exc):
                    raise
                log.warning(
                    "model %s failed before its first token (%s); trying %s",
                    target.ref,
                    exc.detail or type(exc).__name__,
                    chain[position + 1].ref,
                )
                reason = exc.user_message


def _falls_back(error: LLMError) -> bool:
    """Failures another model can help with: the endpoint is down, overloaded or limiting us,
    or does not have the model."""
    return error.retryable or isinstance(error, LLMModelNotFoundError)


def build_router(
    session: aiohttp.ClientSession, directory: ModelDirectory, **client_options: Any
) -> ModelRouter:
    """One `LLMClient` per provider on the shared session; `client_options` are the
    timeouts and retries of `LLMClient` (the same for every provider)."""
    clients = {
        provider.name: LLMClient(
            session,
            provider.base_url,
            provider.api_key,
            protocol=protocol_for(provider.protocol),
            **client_options,
        )
        for provider in directory
    }
    return ModelRouter(directory, clients)
