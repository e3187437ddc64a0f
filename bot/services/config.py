"""A channel's effective configuration: stored overrides over the bot-wide defaults.

Threads inherit their parent channel's settings (tool by tool as well); a DM has no settings
of its own and uses the defaults.

Configs are cached: every /chat reads one before it may acknowledge the interaction, and a
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
from bot.storage.models import ChannelMode, ChannelSettings, ReasoningMode

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
class ChannelConfig:
    model: str
    system_prompt: str
    reasoning_mode: ReasoningMode
    mode: ChannelMode
    mentions: bool
    enabled_tools: frozenset[str]
    # Whether each value came from an override (for `/settings show`).
    overridden: frozenset[str] = frozenset()


def merge(
    stored: ChannelSettings | None,
    *,
    default_model: str,
    available_tools: Iterable[str],
    default_enabled: Iterable[str],
) -> ChannelConfig:
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
    return ChannelConfig(
        model=stored.model or default_model,
        system_prompt=stored.system_prompt or DEFAULT_SYSTEM_PROMPT,
        reasoning_mode=stored.reasoning_mode or "show",
        mode=stored.mode or "threads",
        mentions=True if stored.mentions is None else stored.mentions,
        # Toggles of tools not available now stay: an MCP server's tools come and go.
        enabled_tools=frozenset(enabled),
        overridden=frozenset(overridden),
    )


class ChannelConfigService:
    def __init__(
        self,
        settings: ChannelSettingsRepository,
        *,
        default_model: str,
        available_tools: Iterable[str],
        default_enabled: Iterable[str],
    ) -> None:
        self._settings = settings
        self._default_model = default_model
        self._available = tuple(available_tools)
        self._default_enabled = tuple(default_enabled)
        self._cache: OrderedDict[_Key, ChannelConfig] = OrderedDict()
        self._loading: dict[_Key, asyncio.Future[ChannelConfig]] = {}
        self._version = settings.version

    @property
    def default_model(self) -> str:
        return self._default_model

    async def for_channel(
        self, channel_id: int | None, parent_channel_id: int | None = None
    ) -> ChannelConfig:
        if self._settings.version != self._version:
            self._cache.clear()
            self._version = self._settings.version
        key = (channel_id, parent_channel_id)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        loading = self._loading.get(key)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[ChannelConfig] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        version = self._settings.version
        try:
            config = await self._load(channel_id, parent_channel_id)
        except BaseException as exc:
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # its waiters re-raise it; nobody else must be warned
            else:
                future.cancel()
            raise
        finally:
            self._loading.pop(key, None)
        future.set_result(config)
        if self._settings.version == version:
            self._cache[key] = config
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return config

    async def _load(self, channel_id: int | None, parent_channel_id: int | None) -> ChannelConfig:
        stored = None
        if channel_id is not None:
            stored = await self._settings.effective(channel_id, parent_channel_id)
        return merge(
            stored,
            default_model=self._default_model,
            available_tools=self._available,
            default_enabled=self._default_enabled,
        )
