"""Answering interactions through one door.

`reply()` knows whether the interaction was already answered (then it sends a follow-up) and
`defer()` acknowledges before slow work, so no command ever hits Discord's 3-second deadline
or answers twice. Every reply uses `allowed_mentions` none.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()


async def defer(interaction: discord.Interaction[Any], *, ephemeral: bool = True) -> None:
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)


async def reply(
    interaction: discord.Interaction[Any],
    content: str | None = None,
    *,
    ephemeral: bool = True,
    embed: discord.Embed | None = None,
    file: discord.File | None = None,
) -> None:
    kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS, "ephemeral": ephemeral}
    if content is not None:
        kwargs["content"] = content[:2000]
    if embed is not None:
        kwargs["embed"] = embed
    if file is not None:
        kwargs["file"] = file
    try:
        if interaction.response.is_done():
            await interaction.followup.send(**kwargs)
        else:
            await interaction.response.send_message(**kwargs)
    except discord.NotFound:
        # The interaction expired (over 3 s without an answer, or 15 min for follow-ups).
        log.warning("interaction %s expired before we could reply", interaction.id)


def fit_lines(lines: list[str], what: str, limit: int = 2000) -> str:
    """Join `lines` into one message of at most `limit` characters; when they don't fit,
    the first lines are kept (the header with them) and the last says how many were left out."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        more = f"…and {len(lines) - index} more {what}."
        if size + len(line) + 1 + len(more) > limit:
            return "\n".join([*kept, more])
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)
