"""What Discord things look like to the model and in thread names: the text of a member's
message, a thread's title from a prompt, display names, and a line saying where the
conversation takes place (for the system prompt)."""

from __future__ import annotations

import re
from typing import Any

import discord

THREAD_NAME_MAX = 100


def thread_title(prompt: str) -> str:
    """A thread name from the prompt: its first line, squeezed, at most 100 characters."""
    first = next((line for line in prompt.splitlines() if line.strip()), "")
    title = " ".join(re.sub(r"[*_`~|>#]+", "", first).split()) or "Conversation"
    if len(title) > THREAD_NAME_MAX:
        title = title[: THREAD_NAME_MAX - 1].rstrip() + "…"
    return title


def strip_mention(content: str, bot_id: int) -> str:
    return re.sub(rf"<@!?{bot_id}>", "", content).strip()


def display_name(user: discord.User | discord.Member) -> str:
    return user.display_name


def place_description(channel: Any) -> str:
    if isinstance(channel, discord.DMChannel):
        return "This is a direct message conversation on Discord."
    guild = getattr(channel, "guild", None)
    name = getattr(channel, "name", None)
    if isinstance(channel, discord.Thread) and channel.parent is not None:
        return (
            f"This conversation is the Discord thread “{name}” in #{channel.parent.name} "
            f"on the server “{guild.name if guild else '?'}”."
        )
    return (
        f"This conversation is in #{name} on the Discord server “{guild.name if guild else '?'}”."
    )
