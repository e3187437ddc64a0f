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

from bot.errors import LLMBadRequestError, LLMError, LLMModelNotFoundError
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
from bot.llm.vision import IMAGE_REFUSAL, known_vision, without_images

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
        # Models whose provider refused images: they get a note instead from now on.
        self._blind: set[str] = set()

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

    def sees_images(self, target: Resolved) -> bool:
        """Whether to send images to `target` (config, then what we learnt, then its name)."""
        if target.config.vision is not None:
            return target.config.vision
        if target.ref in self._blind:
            return False
        return known_vision(target.model) is not False

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        chain = self.chain(request.model)
        requested = chain[0].ref
        reason = ""
        for position, target in enumerate(chain):
            messages = for_model(request.messages, target.ref)
            with_images = any(m.images for m in messages)
            if with_images and not self.sees_images(target):
                messages, with_images = without_images(messages), False
            call = replace(request, model=target.model, messages=messages)
            switch = ModelSwitched(requested, target.ref, reason) if position else None
            attempt = _Attempt(self._clients[target.provider.name], target, switch)
            try:
                try:
                    async for event in attempt.events(call):
                        yield event
                    return
                except LLMBadRequestError as exc:
                    if attempt.started or not with_images:
                        raise
                    if not IMAGE_REFUSAL.search(exc.detail or ""):
                        raise
                    # The provider refuses images for this model: once more without them,
                    # and a note instead of images for it from now on.
                    log.info("model %s refused images; sending without them", target.ref)
                    self._blind.add(target.ref)
                    async for event in attempt.events(
                        replace(call, messages=without_images(messages))
                    ):
                        yield event
                    return
            except LLMError as exc:
                last = position == len(chain) - 1
                if attempt.started or exc.partial or last or not _falls_back(exc):
                    raise
                log.warning(
                    "model %s failed before its first token (%s); trying %s",
                    target.ref,
                    exc.detail or type(exc).__name__,
                    chain[position + 1].ref,
                )
                reason = exc.user_message


class _Attempt:
    """One model's call: its events, the answering reference on the completion, and the
    switch announced before the first event when a fallback answers."""

    def __init__(self, client: LLMClient, target: Resolved, switch: ModelSwitched | None) -> None:
        self._client = client
        self._target = target
        self._switch = switch
        self.started = False

    async def events(self, call: ChatRequest) -> AsyncIterator[StreamEvent]:
        async for event in self._client.stream(call, self._target.options):
            if not self.started:
                self.started = True
                if self._switch is not None:
                    yield self._switch
            if isinstance(event, Completion):
                event = replace(event, source=self._target.ref)
            yield event


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
