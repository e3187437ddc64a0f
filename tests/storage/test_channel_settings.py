"""ChannelSettingsRepository: overrides, clearing, tool toggles, thread → parent inheritance."""

from __future__ import annotations

from bot.storage.channel_settings import ChannelSettingsRepository
from bot.storage.models import ChannelSettings


async def test_channel_settings_absent_channel_has_none(
    channel_settings: ChannelSettingsRepository,
) -> None:
    assert await channel_settings.get(10) is None


async def test_channel_settings_update_changes_only_given_fields(
    channel_settings: ChannelSettingsRepository,
) -> None:
    first = await channel_settings.update(10, 1, model="m1", mentions=False)
    assert first == ChannelSettings(channel_id=10, guild_id=1, model="m1", mentions=False)
    second = await channel_settings.update(10, 1, system_prompt="be brief", mode="inline")
    assert (second.model, second.mentions) == ("m1", False)
    assert (second.system_prompt, second.mode) == ("be brief", "inline")
    assert await channel_settings.get(10) == second


async def test_channel_settings_none_clears_a_field(
    channel_settings: ChannelSettingsRepository,
) -> None:
    await channel_settings.update(10, 1, model="m1", reasoning_mode="hide")
    cleared = await channel_settings.update(10, 1, model=None)
    assert (cleared.model, cleared.reasoning_mode) == (None, "hide")


async def test_channel_settings_tool_toggles(channel_settings: ChannelSettingsRepository) -> None:
    await channel_settings.set_tool(10, 1, "web_search", False)
    await channel_settings.set_tool(10, 1, "calculator", True)
    await channel_settings.set_tool(10, 1, "web_search", True)
    stored = await channel_settings.get(10)
    assert stored is not None
    assert stored.tools == (("calculator", True), ("web_search", True))
    await channel_settings.set_tool(10, 1, "calculator", None)
    stored = await channel_settings.get(10)
    assert stored is not None and stored.tools == (("web_search", True),)


async def test_channel_settings_thread_inherits_from_parent(
    channel_settings: ChannelSettingsRepository,
) -> None:
    await channel_settings.update(
        10, 1, model="parent-model", system_prompt="parent prompt", mentions=True
    )
    await channel_settings.set_tool(10, 1, "web_search", False)
    await channel_settings.set_tool(10, 1, "calculator", True)
    await channel_settings.update(500, 1, model="thread-model", reasoning_mode="summary")
    await channel_settings.set_tool(500, 1, "web_search", True)

    merged = await channel_settings.effective(500, 10)
    assert merged == ChannelSettings(
        channel_id=500,
        guild_id=1,
        model="thread-model",
        system_prompt="parent prompt",
        reasoning_mode="summary",
        mode=None,
        mentions=True,
        tools=(("calculator", True), ("web_search", True)),
    )


async def test_channel_settings_effective_without_rows_or_parent(
    channel_settings: ChannelSettingsRepository,
) -> None:
    assert await channel_settings.effective(77, None) == ChannelSettings(77, None)
    await channel_settings.update(10, 1, mode="inline")
    only_parent = await channel_settings.effective(500, 10)
    assert (only_parent.channel_id, only_parent.guild_id, only_parent.mode) == (500, 1, "inline")
    await channel_settings.update(77, None, mentions=False)
    assert (await channel_settings.effective(77, None)).mentions is False
