"""What `/settings` does, without Discord: validation, the model catalogue, and where each
effective value comes from (set on this channel or thread, inherited from the parent channel,
or the bot's default).

A thread's settings are its own overrides over its parent channel's (SPEC §6); changing a
setting in a thread changes the thread only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bot.errors import InvalidInputError, UserFacingError
from bot.llm.client import LLMClient
from bot.services.config import ChannelConfig, ChannelConfigService
from bot.storage.channel_settings import ChannelSettingsRepository
from bot.storage.models import ChannelMode, ChannelSettings, ReasoningMode

log = logging.getLogger(__name__)

MODEL_NAME_MAX = 100
SYSTEM_PROMPT_MAX = 4000
MODELS_CACHE_S = 300.0

Source = Literal["here", "parent", "default"]


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


def validate_system_prompt(text: str | None) -> str | None:
    """The prompt to store, or None to go back to the inherited/default one."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if len(text) > SYSTEM_PROMPT_MAX:
        raise InvalidInputError(
            f"The system prompt is {len(text):,} characters; the limit is {SYSTEM_PROMPT_MAX:,}."
        )
    return text


class ModelCatalog:
    """The endpoint's model ids from `GET /models`, cached for a few minutes.

    When the endpoint does not answer, the list is just the default model (and `known()`
    can't tell, so it returns None rather than a false "unknown model")."""

    def __init__(
        self,
        llm: LLMClient,
        default_model: str,
        *,
        ttl_s: float = MODELS_CACHE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._llm = llm
        self._default = default_model
        self._ttl = ttl_s
        self._clock = clock
        self._fetched_at: float | None = None
        self._names: list[str] = []
        self._answered = False

    async def _refresh(self) -> None:
        if self._fetched_at is not None and self._clock() - self._fetched_at < self._ttl:
            return
        try:
            self._names = sorted({m.id for m in await self._llm.list_models()})
            self._answered = True
        except UserFacingError as exc:
            log.info("could not list models: %s", exc.user_message)
            self._names, self._answered = [self._default], False
        self._fetched_at = self._clock()

    async def names(self) -> list[str]:
        await self._refresh()
        return list(self._names)

    async def known(self, name: str) -> bool | None:
        """Whether the endpoint lists `name`; None when it did not answer."""
        await self._refresh()
        if not self._answered:
            return None
        return name in self._names

    async def suggest(self, current: str, limit: int = 25) -> list[str]:
        """Names containing what was typed so far, best matches (prefix) first."""
        wanted = current.strip().lower()
        names = [n for n in await self.names() if wanted in n.lower()]
        names.sort(key=lambda n: (not n.lower().startswith(wanted), n))
        return names[:limit]


@dataclass(frozen=True, slots=True)
class EffectiveSettings:
    """A channel's effective configuration and, per value, where it comes from."""

    config: ChannelConfig
    sources: dict[str, Source]  # "model", …, "mentions", "tool:<name>"
    is_thread: bool

    def source(self, name: str) -> Source:
        return self.sources.get(name, "default")


@dataclass(frozen=True, slots=True)
class Place:
    """Where a setting is changed: a channel, or a thread and its parent."""

    channel_id: int
    guild_id: int | None
    parent_id: int | None = None

    @property
    def is_thread(self) -> bool:
        return self.parent_id is not None


class SettingsService:
    def __init__(
        self,
        repository: ChannelSettingsRepository,
        config: ChannelConfigService,
        catalog: ModelCatalog,
        *,
        tool_names: tuple[str, ...],
    ) -> None:
        self._repo = repository
        self._config = config
        self.catalog = catalog
        self.tool_names = tool_names

    async def effective(self, place: Place) -> EffectiveSettings:
        config = await self._config.for_channel(place.channel_id, place.parent_id)
        own = await self._repo.get(place.channel_id)
        parent = await self._repo.get(place.parent_id) if place.parent_id is not None else None
        sources: dict[str, Source] = {}
        layers: tuple[tuple[Source, ChannelSettings | None], ...] = (
            ("parent", parent),
            ("here", own),  # applied last: the channel's own values win
        )
        for origin, stored in layers:
            for name, value in _explicit(stored).items():
                if value is not None:
                    sources[name] = origin
        return EffectiveSettings(config=config, sources=sources, is_thread=place.is_thread)

    async def set_model(self, place: Place, name: str) -> bool | None:
        """Store the model; returns whether the endpoint lists it (None: it didn't answer)."""
        name = validate_model_name(name)
        await self._repo.update(place.channel_id, place.guild_id, model=name)
        return await self.catalog.known(name)

    async def set_system_prompt(self, place: Place, text: str | None) -> str | None:
        prompt = validate_system_prompt(text)
        await self._repo.update(place.channel_id, place.guild_id, system_prompt=prompt)
        return prompt

    async def set_tool(self, place: Place, tool: str, enabled: bool) -> None:
        if tool not in self.tool_names:
            known = ", ".join(self.tool_names)
            raise InvalidInputError(f"There is no tool called {tool!r}. Tools: {known}.")
        await self._repo.set_tool(place.channel_id, place.guild_id, tool, enabled)

    async def set_reasoning(self, place: Place, mode: ReasoningMode) -> None:
        await self._repo.update(place.channel_id, place.guild_id, reasoning_mode=mode)

    async def set_mode(self, place: Place, mode: ChannelMode) -> None:
        await self._repo.update(place.channel_id, place.guild_id, mode=mode)

    async def set_mentions(self, place: Place, enabled: bool) -> None:
        await self._repo.update(place.channel_id, place.guild_id, mentions=enabled)


def _explicit(stored: ChannelSettings | None) -> dict[str, object]:
    if stored is None:
        return {}
    values: dict[str, object] = {
        "model": stored.model,
        "system_prompt": stored.system_prompt,
        "reasoning_mode": stored.reasoning_mode,
        "mode": stored.mode,
        "mentions": stored.mentions,
    }
    values.update({f"tool:{tool}": on for tool, on in stored.tools})
    return values
