"""/settings: per-channel model, system prompt, tools, reasoning display, mode and mentions.

Thin: it reads the options, checks permissions (`bot.discord_ui.checks.admin_command`, on the
whole group), calls `SettingsCommands` and replies ephemerally through `reply`. Run in a
thread, a setting changes that thread only; threads otherwise inherit their parent channel's.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import SwitchboardBot
from bot.discord_ui.checks import admin_command
from bot.discord_ui.replies import defer, fit_lines, reply
from bot.errors import UserFacingError
from bot.services.model_catalog import MODEL_NAME_MAX, validate_model_name
from bot.services.settings_commands import (
    SYSTEM_PROMPT_MAX,
    SettingsCommands,
    SettingsPlace,
    SettingsWithSources,
    Source,
)
from bot.tools import BUILTIN_TOOL_NAMES
from bot.vocabulary import ChannelMode, ReasoningMode

log = logging.getLogger(__name__)

PROMPT_PREVIEW = 180
FETCH_URL_CAUTION = (
    "⚠️ `fetch_url` lets the model fetch any public web page members point it to "
    "(private and local network addresses stay blocked)."
)
REASONING_CHOICES = [
    app_commands.Choice(name="show — live excerpt while thinking, one line after", value="show"),
    app_commands.Choice(name="summary — one line while and after thinking", value="summary"),
    app_commands.Choice(name="hide — no sign of reasoning", value="hide"),
]
MODE_CHOICES = [
    app_commands.Choice(name="threads — each conversation in its own thread", value="threads"),
    app_commands.Choice(name="inline — answer every message in the channel", value="inline"),
]


def settings_place(interaction: discord.Interaction[Any]) -> SettingsPlace:
    channel = interaction.channel
    if isinstance(channel, discord.Thread):
        return SettingsPlace(channel.id, interaction.guild_id, parent_id=channel.parent_id)
    if interaction.channel_id is None:
        raise UserFacingError("I can't tell which channel this is.")
    return SettingsPlace(interaction.channel_id, interaction.guild_id)


def where(place: SettingsPlace) -> str:
    if place.parent_id is not None:
        return f"this thread (<#{place.parent_id}> and its other threads keep theirs)"
    return "this channel (and its threads, unless a thread sets its own)"


def source_label(source: Source, place: SettingsPlace) -> str:
    if source == "here":
        return "set in this thread" if place.is_thread else "set here"
    if source == "parent":
        return f"from <#{place.parent_id}>"
    return "default"


def prompt_preview(text: str, limit: int = PROMPT_PREVIEW) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def render_settings(
    view: SettingsWithSources,
    place: SettingsPlace,
    tool_names: tuple[str, ...],
    mcp_tools: dict[str, list[str]] | None = None,
) -> str:
    effective = view.effective

    def line(label: str, value: str, key: str) -> str:
        return f"**{label}:** {value} · *{source_label(view.source(key), place)}*"

    title = (
        f"**Settings of this thread** (inherited from <#{place.parent_id}> unless set here)"
        if place.is_thread
        else f"**Settings of <#{place.channel_id}>**"
    )
    lines = [
        title,
        line("Model", f"`{effective.model}` (provider `{view.provider}`)", "model"),
        line("System prompt", f"“{prompt_preview(effective.system_prompt)}”", "system_prompt"),
        line("Reasoning", effective.reasoning_mode, "reasoning_mode"),
        line("Mode", effective.mode, "mode"),
        line("Mentions", "on" if effective.mentions else "off", "mentions"),
        "**Tools:**",
    ]
    for tool in tool_names:
        state = "✅ on" if tool in effective.enabled_tools else "⛔ off"
        source = source_label(view.source(f"tool:{tool}"), place)
        lines.append(f"- `{tool}` {state} · *{source}*")
    for server, names in sorted((mcp_tools or {}).items()):
        on = [name for name in names if name in effective.enabled_tools]
        lines.append(
            f"**MCP server `{server}`** ({len(on)} of {len(names)} tools on; off unless set)"
        )
        lines.extend(f"- `{name}` {'✅ on' if name in on else '⛔ off'}" for name in names)
    return "\n".join(lines)


@admin_command
class SettingsCog(
    commands.GroupCog,
    group_name="settings",
    group_description="Per-channel settings of the bot (needs Manage Server).",
):
    def __init__(self, bot: SwitchboardBot) -> None:
        self.bot = bot
        services = bot.services
        self.catalog = services.catalog
        self.service = SettingsCommands(
            services.channel_settings,
            services.effective_settings,
            services.models,
            tool_names=tuple(n for n in BUILTIN_TOOL_NAMES if n in services.tools),
            tools=services.catalog,
        )

    @app_commands.command(name="show", description="Show this channel's effective settings.")
    async def show(self, interaction: discord.Interaction[Any]) -> None:
        place = settings_place(interaction)
        view = await self.service.effective(place)
        mcp_tools = self.catalog.mcp_tools_by_server()
        text = render_settings(view, place, self.service.tool_names, mcp_tools)
        await reply(interaction, fit_lines(text.split("\n"), "settings"))

    @app_commands.command(name="model", description="Set the model used in this channel.")
    @app_commands.describe(model="Model reference: provider/model, or a model of the main endpoint")
    async def model(
        self,
        interaction: discord.Interaction[Any],
        model: app_commands.Range[str, 1, MODEL_NAME_MAX],
    ) -> None:
        place = settings_place(interaction)
        name = validate_model_name(model)
        await defer(interaction)  # checking the endpoint's model list may take a moment
        name, listed = await self.service.set_model(place, name)
        provider = self.service.catalog.provider_of(name)
        text = f"✅ Model for {where(place)}: `{name}` (provider `{provider}`)."
        if listed is False:
            text += (
                f"\n⚠️ Provider `{provider}` doesn't list `{name}`; answers will fail if the "
                "name is wrong. Start typing in the `model` option to see every provider's "
                "models."
            )
        await reply(interaction, text)

    @model.autocomplete("model")
    async def _model_names(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        names = await self.service.catalog.suggest(current)
        return [app_commands.Choice(name=n, value=n) for n in names]

    @app_commands.command(
        name="system-prompt",
        description="Set this channel's system prompt; leave text empty to reset it.",
    )
    @app_commands.describe(text="Instructions for the model (omit to go back to the default)")
    async def system_prompt(
        self,
        interaction: discord.Interaction[Any],
        text: app_commands.Range[str, 1, SYSTEM_PROMPT_MAX] | None = None,
    ) -> None:
        place = settings_place(interaction)
        prompt = await self.service.set_system_prompt(place, text)
        if prompt is None:
            inherited = "the parent channel's or the default" if place.is_thread else "default"
            message = f"✅ System prompt of {where(place)} reset: it uses the {inherited} one."
        else:
            message = f"✅ System prompt for {where(place)} set ({len(prompt):,} characters)."
        await reply(interaction, message)

    @app_commands.command(name="tools", description="Turn a tool on or off in this channel.")
    @app_commands.describe(tool="Which tool", enabled="Whether the model may use it here")
    async def tools(
        self,
        interaction: discord.Interaction[Any],
        tool: app_commands.Range[str, 1, 100],
        enabled: bool,
    ) -> None:
        place = settings_place(interaction)
        await self.service.set_tool(place, tool, enabled)
        state = "on" if enabled else "off"
        text = f"✅ `{tool}` is {state} in {where(place)}."
        if enabled and tool == "fetch_url":
            text += "\n" + FETCH_URL_CAUTION
        await reply(interaction, text)

    @tools.autocomplete("tool")
    async def _tool_names(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        wanted = current.strip().lower()
        names = [n for n in self.service.all_tool_names() if wanted in n.lower()]
        return [app_commands.Choice(name=n, value=n) for n in names[:25]]

    @app_commands.command(name="reasoning", description="How the model's reasoning is shown.")
    @app_commands.describe(mode="show (default), summary or hide")
    @app_commands.choices(mode=REASONING_CHOICES)
    async def reasoning(
        self, interaction: discord.Interaction[Any], mode: app_commands.Choice[str]
    ) -> None:
        place = settings_place(interaction)
        value: ReasoningMode = _reasoning(mode.value)
        await self.service.set_reasoning(place, value)
        await reply(interaction, f"✅ Reasoning display in {where(place)}: {value}.")

    @app_commands.command(name="mode", description="Threads per conversation, or answer inline.")
    @app_commands.describe(mode="threads (default) or inline")
    @app_commands.choices(mode=MODE_CHOICES)
    async def mode(
        self, interaction: discord.Interaction[Any], mode: app_commands.Choice[str]
    ) -> None:
        place = _channel_only(interaction, "mode")
        value: ChannelMode = "inline" if mode.value == "inline" else "threads"
        await self.service.set_mode(place, value)
        if value == "inline":
            text = (
                "✅ This channel is now one rolling conversation: I answer every message here, "
                "no mention needed. `/new` starts a fresh one."
            )
        else:
            text = (
                "✅ Conversations in this channel now get their own thread (`/chat` or a mention)."
            )
        await reply(interaction, text)

    @app_commands.command(
        name="mentions", description="Whether mentioning the bot here starts a conversation."
    )
    @app_commands.describe(enabled="On (default): a mention starts a thread")
    async def mentions(self, interaction: discord.Interaction[Any], enabled: bool) -> None:
        place = _channel_only(interaction, "mentions")
        await self.service.set_mentions(place, enabled)
        state = "start a conversation" if enabled else "are ignored (use `/chat`)"
        await reply(interaction, f"✅ Mentions of me in this channel now {state}.")


def _reasoning(value: str) -> ReasoningMode:
    if value == "summary":
        return "summary"
    if value == "hide":
        return "hide"
    return "show"


def _channel_only(interaction: discord.Interaction[Any], setting: str) -> SettingsPlace:
    """`mode` and `mentions` decide how conversations start in a channel; a thread is already
    one conversation, so they belong to its parent."""
    place = settings_place(interaction)
    if place.parent_id is not None:
        raise UserFacingError(
            f"`{setting}` is a channel setting: run `/settings {setting}` in <#{place.parent_id}>."
        )
    return place


async def setup(bot: commands.Bot) -> None:
    assert isinstance(bot, SwitchboardBot)
    await bot.add_cog(SettingsCog(bot))
