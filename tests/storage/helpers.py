"""Small builders shared by the storage tests."""

from __future__ import annotations

from bot.storage.conversations import ConversationRepository
from bot.storage.models import Conversation


async def new_thread(
    conversations: ConversationRepository, channel_id: int = 1000, parent: int = 10
) -> Conversation:
    return await conversations.create(
        kind="thread",
        guild_id=1,
        channel_id=channel_id,
        parent_channel_id=parent,
        title="a thread",
        model=None,
        created_by=42,
    )
