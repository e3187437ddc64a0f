"""Each model's context window: what the configuration file says, else what the endpoint
says (`bot.llm.model_info`), else the `LLM_CONTEXT_TOKENS` default.

Discovered windows are cached per model reference for an hour (a local server may be
restarted with another window); concurrent asks for one model share one discovery.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import aiohttp

from bot.llm.model_info import discover_context_tokens
from bot.llm.providers import ModelDirectory

__all__ = ["ContextWindows"]

log = logging.getLogger(__name__)

CACHE_S = 3600.0


class ContextWindows:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        directory: ModelDirectory,
        default_tokens: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._directory = directory
        self._default = default_tokens
        self._clock = clock
        self._known: dict[str, tuple[float, int | None]] = {}
        self._asking: dict[str, asyncio.Future[int | None]] = {}

    async def tokens(self, ref: str) -> int:
        """The context window of the model `ref`, in tokens."""
        resolved = self._directory.resolve(ref)
        if resolved.config.context_tokens is not None:
            return resolved.config.context_tokens
        cached = self._known.get(resolved.ref)
        if cached is not None and self._clock() - cached[0] < CACHE_S:
            return cached[1] or self._default
        asking = self._asking.get(resolved.ref)
        if asking is None:
            provider = resolved.provider
            asking = asyncio.ensure_future(
                discover_context_tokens(
                    self._session, provider.base_url, provider.api_key, resolved.model
                )
            )
            self._asking[resolved.ref] = asking
            asking.add_done_callback(lambda _: self._asking.pop(resolved.ref, None))
        found = await asyncio.shield(asking)
        if found is not None and (cached is None or cached[1] != found):
            log.info("context window of %s: %d tokens (from its endpoint)", resolved.ref, found)
        self._known[resolved.ref] = (self._clock(), found)
        return found or self._default
