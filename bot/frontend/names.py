"""Names a usage report shows: members' display names and channels' names, from Discord.

Discord's cache first, then a bounded number of REST look-ups; what stays unknown (a member
who left, a deleted channel) is left out and the report shows the id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import discord

from bot.storage.usage_reports import GroupBy

log = logging.getLogger(__name__)

# Names a report looks up over REST when Discord's cache doesn't have them; beyond this the
# id is shown (a CSV of thousands of members must not turn into thousands of requests).
MAX_NAME_LOOKUPS = 25
_LOOKUP_CONCURRENCY = 4


async def resolve_names(
    client: discord.Client,
    guild: discord.Guild,
    kind: GroupBy,
    ids: Iterable[int],
    *,
    max_lookups: int = MAX_NAME_LOOKUPS,
) -> dict[int, str]:
    """Display names of members (or names of channels and threads) for a report.

    Discord's cache first; then up to `max_lookups` REST look-ups; what stays unknown (a
    member who left, a deleted channel) is left out and the report shows the id."""
    names: dict[int, str] = {}
    missing: list[int] = []
    for ident in ids:
        name = _cached_name(guild, kind, ident)
        if name is None:
            missing.append(ident)
        else:
            names[ident] = name
    gate = asyncio.Semaphore(_LOOKUP_CONCURRENCY)

    async def look_up(ident: int) -> None:
        async with gate:
            name = await _fetched_name(client, guild, kind, ident)
        if name is not None:
            names[ident] = name

    await asyncio.gather(*(look_up(i) for i in missing[:max_lookups]))
    return names


def _cached_name(guild: discord.Guild, kind: GroupBy, ident: int) -> str | None:
    if kind == "user":
        member = guild.get_member(ident)
        if member is not None:
            return member.display_name
        return None
    channel = guild.get_channel_or_thread(ident)
    return None if channel is None else channel.name


async def _fetched_name(
    client: discord.Client, guild: discord.Guild, kind: GroupBy, ident: int
) -> str | None:
    try:
        if kind == "user":
            try:
                return (await guild.fetch_member(ident)).display_name
            except discord.NotFound:
                # Left the server: their account name is still better than an id.
                user = client.get_user(ident) or await client.fetch_user(ident)
                return user.display_name
        channel = await client.fetch_channel(ident)
    except discord.HTTPException as exc:
        log.debug("no name for %s %s: %s", kind, ident, exc)
        return None
    if isinstance(channel, discord.abc.GuildChannel | discord.Thread):
        # Never show another server's channel name.
        return channel.name if channel.guild.id == guild.id else None
    return None
