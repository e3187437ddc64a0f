"""A channel's effective settings: its stored overrides (`/settings`) over the bot's defaults.

Threads inherit their parent channel's settings (tool by tool as well); a DM has no settings
of its own and uses the defaults.

They are cached: every /chat reads them before it may acknowledge the interaction, and a
burst of commands would otherwise queue that many reads on the database. The settings
repository bumps a version on every write; a changed version empties the cache, and a read
that overlapped a write is not cached. Concurrent reads of one channel share one load.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from bot.storage.channel_settings import ChannelSettingsRepository
from bot.storage.models import ChannelSettings
from bot.vocabulary import ChannelMode, ReasoningMode

CACHE_SIZE = 10_000  # channels and threads; the least recently used are forgotten first
_Key = tuple[int | None, int | None]

DEFAULT_SYSTEM_PROMPT = (
    "You are Switchboard, a helpful assistant taking part in a Discord conversation. "
    "Several people may write in the same conversation; each of their messages starts with "
    "their name in brackets when more than one person is present. "
    "Answer in Discord markdown, concisely, and use the tools you have when they help "
    "(say so when a tool fails). Never claim to have done something you did not do."
)


@dataclass(frozen=True, slots=True)
class EffectiveSettings:
    model: str
    system_prompt: str
    reasoning_mode: ReasoningMode
    mode: ChannelMode
    mentions: bool
    enabled_tools: frozenset[str]
    # Whether each value came from an override (for `/settings show`).
    overridden: frozenset[str] = frozenset()


def merge_settings(
    stored: ChannelSettings | None,
    *,
    default_model: str,
    available_tools: Iterable[str],
    default_enabled: Iterable[str],
) -> EffectiveSettings:
    enabled = set(default_enabled) & set(available_tools)
    overridden: set[str] = set()
    if stored is None:
        stored = ChannelSettings(channel_id=0, guild_id=None)
    for tool, on in stored.tools:
        overridden.add(f"tool:{tool}")
        if on:
            enabled.add(tool)
        else:
            enabled.discard(tool)
    for name in ("model", "system_prompt", "reasoning_mode", "mode", "mentions"):
        if getattr(stored, name) is not None:
            overridden.add(name)
    return EffectiveSettings(
        model=stored.model or default_model,
        system_prompt=stored.system_prompt or DEFAULT_SYSTEM_PROMPT,
        reasoning_mode=stored.reasoning_mode or "show",
        mode=stored.mode or "threads",
        mentions=True if stored.mentions is None else stored.mentions,
        # Toggles of tools not available now stay: an MCP server's tools come and go.
        enabled_tools=frozenset(enabled),
        overridden=frozenset(overridden),
    )


class EffectiveSettingsCache:
    def __init__(
        self,
        stored: ChannelSettingsRepository,
        *,
        default_model: str,
        available_tools: Iterable[str],
        default_enabled: Iterable[str],
    ) -> None:
        self._stored = stored
        self._default_model = default_model
        self._available = tuple(available_tools)
        self._default_enabled = tuple(default_enabled)
        self._cache: OrderedDict[_Key, EffectiveSettings] = OrderedDict()
        self._loading: dict[_Key, asyncio.Future[EffectiveSettings]] = {}
        self._version = stored.version

    @property
    def default_model(self) -> str:
        return self._default_model

    async def for_channel(
        self, channel_id: int | None, parent_channel_id: int | None = None
    ) -> EffectiveSettings:
        if self._stored.version != self._version:
            self._cache.clear()
            self._version = self._stored.version
        key = (channel_id, parent_channel_id)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        loading = self._loading.get(key)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[EffectiveSettings] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        version = self._stored.version
        try:
            effective = await self._load(channel_id, parent_channel_id)
        except BaseException as exc:
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # its waiters re-raise it; nobody else must be warned
            else:
                future.cancel()
            raise
        finally:
            self._loading.pop(key, None)
        future.set_result(effective)
        if self._stored.version == version:
            self._cache[key] = effective
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return effective

    async def _load(
        self, channel_id: int | None, parent_channel_id: int | None
    ) -> EffectiveSettings:
        stored = None
        if channel_id is not None:
            stored = await self._stored.effective(channel_id, parent_channel_id)
        return merge_settings(
            stored,
            default_model=self._default_model,
            available_tools=self._available,
            default_enabled=self._default_enabled,
        )
