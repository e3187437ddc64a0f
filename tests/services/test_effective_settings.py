"""Effective channel configuration: merging, caching and exact invalidation on writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services.effective_settings import EffectiveSettingsCache
from bot.storage.channel_settings import ChannelSettingsRepository
from bot.storage.database import Database
from bot.storage.models import ChannelSettings


class CountingSettings(ChannelSettingsRepository):
    """The real repository, counting reads (and optionally holding one until released)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.reads = 0
        self.hold: asyncio.Event | None = None

    async def effective(
        self, channel_id: int, parent_channel_id: int | None, **kw: object
    ) -> ChannelSettings:  # type: ignore[override]
        self.reads += 1
        if self.hold is not None:
            await self.hold.wait()
        return await super().effective(channel_id, parent_channel_id)


@pytest.fixture
async def settings(tmp_path: Path) -> AsyncIterator[CountingSettings]:
    async with Database.open(tmp_path / "effective.db") as db:
        yield CountingSettings(db)


def service(settings: ChannelSettingsRepository) -> EffectiveSettingsCache:
    return EffectiveSettingsCache(
        settings,
        default_model="base-model",
        available_tools=("calculator", "fetch_url"),
        default_enabled=("calculator",),
    )


async def test_config_thread_inherits_parent_and_defaults_fill_the_rest(
    settings: CountingSettings,
) -> None:
    await settings.update(10, 1, model="channel-model", mode="inline")
    await settings.set_tool(10, 1, "fetch_url", True)
    effective = await service(settings).for_channel(99, 10)
    assert (effective.model, effective.mode, effective.reasoning_mode) == (
        "channel-model",
        "inline",
        "show",
    )
    assert effective.enabled_tools == frozenset({"calculator", "fetch_url"})


async def test_config_is_cached_between_reads(settings: CountingSettings) -> None:
    configs = service(settings)
    await configs.for_channel(10)
    await configs.for_channel(10)
    assert settings.reads == 1


async def test_config_cache_drops_on_any_settings_write(settings: CountingSettings) -> None:
    configs = service(settings)
    assert (await configs.for_channel(10)).model == "base-model"
    await settings.update(10, 1, model="new-model")
    assert (await configs.for_channel(10)).model == "new-model"
    await settings.set_tool(10, 1, "calculator", False)
    assert "calculator" not in (await configs.for_channel(10)).enabled_tools


async def test_config_concurrent_reads_share_one_load(settings: CountingSettings) -> None:
    configs = service(settings)
    settings.hold = asyncio.Event()
    readers = [asyncio.ensure_future(configs.for_channel(10)) for _ in range(20)]
    await asyncio.sleep(0.01)
    settings.hold.set()
    results = await asyncio.gather(*readers)
    assert settings.reads == 1
    assert {r.model for r in results} == {"base-model"}


async def test_config_read_overlapping_a_write_is_not_cached(settings: CountingSettings) -> None:
    configs = service(settings)
    gate = asyncio.Event()
    settings.hold = gate
    reader = asyncio.ensure_future(configs.for_channel(10))
    await asyncio.sleep(0.01)  # the read is now waiting inside the repository
    settings.hold = None
    await settings.update(10, 1, model="changed-meanwhile")
    await configs.for_channel(20)  # another channel: the cache has seen the new version
    gate.set()
    await reader
    assert (await configs.for_channel(10)).model == "changed-meanwhile"
    assert settings.reads == 3  # the overlapping read of channel 10 was not kept
