"""Renaming threads on Discord (the chat service's `ThreadRenamer` port).

Discord lets a channel's name change only twice per ten minutes; a thread is renamed once,
after its first answer, so the limit is never reached in normal use. Failures (a thread
deleted or archived meanwhile, missing permission) are logged, not shown.
"""

from __future__ import annotations

import logging

import discord

from bot.frontend.text import thread_title

log = logging.getLogger(__name__)


class DiscordThreadRenamer:
    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def rename_thread(self, channel_id: int, title: str) -> bool:
        channel = self._client.get_channel(channel_id)
        try:
            if channel is None:
                channel = await self._client.fetch_channel(channel_id)
            if not isinstance(channel, discord.Thread):
                return False
            await channel.edit(name=thread_title(title))
        except discord.HTTPException as exc:
            log.info("could not rename thread %s: %s", channel_id, exc)
            return False
        return True
