"""Every provider's models as references, for checking a typed model name and for
autocomplete (`ModelCatalog`), and the rules of a model name (`validate_model_name`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.errors import InvalidInputError, UserFacingError
from bot.llm.router import ModelRouter

log = logging.getLogger(__name__)

MODEL_NAME_MAX = 100
MODELS_CACHE_S = 300.0


def validate_model_name(name: str) -> str:
    """A model id as endpoints spell them: non-empty, ≤ 100 characters, no whitespace."""
    name = name.strip()
    if not name:
        raise InvalidInputError("Give a model name, e.g. the one LLM_MODEL is set to.")
    if len(name) > MODEL_NAME_MAX:
        raise InvalidInputError(f"A model name is at most {MODEL_NAME_MAX} characters.")
    if any(c.isspace() for c in name):
        raise InvalidInputError("A model name has no spaces (e.g. `gpt-4o-mini`).")
    return name


def unknown_model_text(ref: str) -> str:
    return (
        f"I don't know the model `{ref}`. Start typing in the `model` option to see every "
        "provider's models (`provider/model`, or a plain name for the main endpoint), or "
        "leave it out to use this channel's model (`/settings show` names it)."
    )


class ModelCatalog:
    """Every provider's models as references (`NAME/model`, bare for `default`), cached for a
    few minutes per provider.

    A provider's list is its `models` from the configuration file, else its `GET /models`.
    Models configured under `[models]` and the default model are always offered. When a
    provider's endpoint does not answer, `known()` can't tell for its models and returns
    None rather than a false "unknown model"."""

    def __init__(
        self,
        router: ModelRouter,
        default_model: str,
        *,
        ttl_s: float = MODELS_CACHE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._router = router
        self._directory = router.directory
        self._default = self._directory.canonical(default_model)
        self._ttl = ttl_s
        self._clock = clock
        # provider → (fetched at, model ids, whether the list is authoritative)
        self._lists: dict[str, tuple[float, list[str], bool]] = {}
        self._refreshing: dict[str, asyncio.Future[None]] = {}

    async def _models_of(self, provider: str) -> tuple[list[str], bool]:
        configured = self._directory.configured_models(provider)
        if configured is not None:
            return list(configured), True
        cached = self._lists.get(provider)
        if cached is not None and self._clock() - cached[0] < self._ttl:
            return cached[1], cached[2]
        running = self._refreshing.get(provider)
        if running is None:
            future = asyncio.ensure_future(self._fetch(provider))
            self._refreshing[provider] = future
            future.add_done_callback(lambda _: self._refreshing.pop(provider, None))
            running = future
        await asyncio.shield(running)
        _, names, answered = self._lists[provider]
        return names, answered

    async def _fetch(self, provider: str) -> None:
        try:
            models = await self._router.client(provider).list_models()
            self._lists[provider] = (self._clock(), sorted({m.id for m in models}), True)
        except UserFacingError as exc:
            log.info("could not list the models of provider %s: %s", provider, exc.user_message)
            self._lists[provider] = (self._clock(), [], False)

    async def names(self) -> list[str]:
        """Every model reference on offer, the default model first."""
        providers = list(self._directory.providers)
        lists = await asyncio.gather(*(self._models_of(p) for p in providers))
        names = [self._default]
        names.extend(self._directory.models)
        for provider, (models, _) in zip(providers, lists, strict=True):
            names.extend(self._directory.reference(provider, m) for m in models)
        return list(dict.fromkeys(names))

    async def known(self, ref: str, *, wait_s: float | None = None) -> bool | None:
        """Whether `ref` names a model its provider offers; None when the provider did not
        answer its model list (within `wait_s`, if given: a command that must acknowledge
        within Discord's 3 s can't wait on a slow endpoint)."""
        canonical = self._directory.canonical(ref)
        if canonical == self._default or canonical in self._directory.models:
            return True
        provider, model = self._directory.split(ref)
        try:
            async with asyncio.timeout(wait_s):
                models, answered = await self._models_of(provider)
        except TimeoutError:
            return None
        if not answered:
            return None
        return model in models

    async def check_choice(self, ref: str, *, wait_s: float | None = None) -> str:
        """`ref` in canonical form, or `InvalidInputError` saying how to find a model when
        its provider lists its models and this one is not among them."""
        name = validate_model_name(ref)
        if await self.known(name, wait_s=wait_s) is False:
            raise InvalidInputError(unknown_model_text(name))
        return self.canonical(name)

    def provider_of(self, ref: str) -> str:
        return self._directory.provider_of(ref)

    def canonical(self, ref: str) -> str:
        return self._directory.canonical(ref)

    async def suggest(self, current: str, limit: int = 25) -> list[str]:
        """References containing what was typed so far, best matches (prefix) first."""
        wanted = current.strip().lower()
        names = [n for n in await self.names() if wanted in n.lower()]
        names.sort(key=lambda n: (not n.lower().startswith(wanted), n))
        return names[:limit]
