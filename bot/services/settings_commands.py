"""What `/settings` does, without Discord: validation, the model catalogue, and where each
effective value comes from (set on this channel or thread, inherited from the parent channel,
or the bot's default).

A thread's settings are its own overrides over its parent channel's; changing a
setting in a thread changes the thread only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.errors import InvalidInputError
from bot.services.effective_settings import EffectiveSettings, EffectiveSettingsCache
from bot.services.model_catalog import ModelCatalog, validate_model_name
from bot.services.tool_catalog import ToolCatalog
from bot.storage.channel_settings import ChannelSettingsRepository
from bot.storage.models import ChannelSettings
from bot.vocabulary import ChannelMode, ReasoningMode

SYSTEM_PROMPT_MAX = 4000

Source = Literal["here", "parent", "default"]


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


@dataclass(frozen=True, slots=True)
class SettingsWithSources:
    """A channel's effective configuration and, per value, where it comes from."""

    effective: EffectiveSettings
    sources: dict[str, Source]  # "model", …, "mentions", "tool:<name>"
    is_thread: bool
    provider: str = "default"  # which provider the model reference goes to

    def source(self, name: str) -> Source:
        return self.sources.get(name, "default")


@dataclass(frozen=True, slots=True)
class SettingsPlace:
    """Where a setting is changed: a channel, or a thread and its parent."""

    channel_id: int
    guild_id: int | None
    parent_id: int | None = None

    @property
    def is_thread(self) -> bool:
        return self.parent_id is not None


class SettingsCommands:
    def __init__(
        self,
        repository: ChannelSettingsRepository,
        effective: EffectiveSettingsCache,
        catalog: ModelCatalog,
        *,
        tool_names: tuple[str, ...],
        tools: ToolCatalog | None = None,
    ) -> None:
        self._repo = repository
        self._effective = effective
        self.catalog = catalog
        self.tool_names = tool_names  # the built-ins, always listed
        self._tools = tools

    def all_tool_names(self) -> tuple[str, ...]:
        """Every tool a channel can switch: the built-ins and the MCP tools there are now."""
        extra = self._tools.names() if self._tools is not None else ()
        return tuple(dict.fromkeys((*self.tool_names, *extra)))

    async def effective(self, place: SettingsPlace) -> SettingsWithSources:
        effective = await self._effective.for_channel(place.channel_id, place.parent_id)
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
        return SettingsWithSources(
            effective=effective,
            sources=sources,
            is_thread=place.is_thread,
            provider=self.catalog.provider_of(effective.model),
        )

    async def set_model(self, place: SettingsPlace, name: str) -> tuple[str, bool | None]:
        """Store the model reference; returns it in canonical form and whether its provider
        lists it (None: it didn't answer)."""
        name = self.catalog.canonical(validate_model_name(name))
        await self._repo.update(place.channel_id, place.guild_id, model=name)
        return name, await self.catalog.known(name)

    async def set_system_prompt(self, place: SettingsPlace, text: str | None) -> str | None:
        prompt = validate_system_prompt(text)
        await self._repo.update(place.channel_id, place.guild_id, system_prompt=prompt)
        return prompt

    async def set_tool(self, place: SettingsPlace, tool: str, enabled: bool) -> None:
        if tool not in self.all_tool_names():
            known = ", ".join(self.all_tool_names())
            raise InvalidInputError(f"There is no tool called {tool!r}. Tools: {known}.")
        await self._repo.set_tool(place.channel_id, place.guild_id, tool, enabled)

    async def set_reasoning(self, place: SettingsPlace, mode: ReasoningMode) -> None:
        await self._repo.update(place.channel_id, place.guild_id, reasoning_mode=mode)

    async def set_mode(self, place: SettingsPlace, mode: ChannelMode) -> None:
        await self._repo.update(place.channel_id, place.guild_id, mode=mode)

    async def set_mentions(self, place: SettingsPlace, enabled: bool) -> None:
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
