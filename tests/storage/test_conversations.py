"""ConversationRepository: create, lookup by channel, one open conversation per channel."""

from __future__ import annotations

import asyncio

import pytest

from bot.storage.conversations import ConversationAlreadyOpenError, ConversationRepository
from bot.storage.database import Database
from bot.storage.models import Conversation
from bot.storage.sql import IntegrityError
from tests.storage.helpers import new_thread


async def test_conversations_create_and_get(conversations: ConversationRepository) -> None:
    created = await new_thread(conversations, channel_id=500, parent=50)
    assert created.id > 0
    assert created.created_at.tzinfo is not None
    assert created.closed_at is None
    assert await conversations.get(created.id) == created
    assert await conversations.get(created.id + 1) is None


async def test_conversations_open_for_channel_maps_channel_to_conversation(
    conversations: ConversationRepository,
) -> None:
    dm = await conversations.create("dm", None, 77, None, None, None, 5)
    assert await conversations.open_for_channel(77) == dm
    assert await conversations.open_for_channel(78) is None


async def test_conversations_only_one_open_per_channel(
    conversations: ConversationRepository,
) -> None:
    await new_thread(conversations, channel_id=600)
    with pytest.raises(ConversationAlreadyOpenError):
        await new_thread(conversations, channel_id=600)


async def test_conversations_close_allows_a_fresh_one(
    conversations: ConversationRepository,
) -> None:
    first = await conversations.create("inline", 1, 700, None, None, None, 5)
    assert await conversations.close(first.id) is True
    assert await conversations.close(first.id) is False
    assert await conversations.open_for_channel(700) is None
    closed = await conversations.get(first.id)
    assert closed is not None and closed.closed_at is not None

    second = await conversations.create("inline", 1, 700, None, None, None, 5)
    assert second.id != first.id
    assert await conversations.open_for_channel(700) == second


async def test_conversations_open_or_create_under_race_yields_one(
    conversations: ConversationRepository,
) -> None:
    results = await asyncio.gather(
        *(conversations.open_or_create("inline", 1, 800, None, None, None, n) for n in range(10))
    )
    ids = {conversation.id for conversation, _ in results}
    assert len(ids) == 1
    assert sum(created for _, created in results) == 1


async def test_conversations_set_title_and_model(
    conversations: ConversationRepository, thread: Conversation
) -> None:
    await conversations.set_title(thread.id, "renamed")
    await conversations.set_model(thread.id, "gpt-x")
    updated = await conversations.get(thread.id)
    assert updated is not None
    assert (updated.title, updated.model) == ("renamed", "gpt-x")
    await conversations.set_model(thread.id, None)
    cleared = await conversations.get(thread.id)
    assert cleared is not None and cleared.model is None
    with pytest.raises(LookupError):
        await conversations.set_title(thread.id + 100, "nobody")


async def test_conversations_dm_has_no_guild(conversations: ConversationRepository) -> None:
    with pytest.raises(IntegrityError):
        await conversations.create("dm", 1, 90, None, None, None, 5)
    with pytest.raises(IntegrityError):
        await conversations.create("thread", None, 91, 9, None, None, 5)


async def test_conversations_create_joins_a_callers_transaction(
    db: Database, conversations: ConversationRepository
) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conversations.create("inline", 1, 900, None, None, None, 5, conn=conn)
            assert await conversations.open_for_channel(900, conn=conn) is not None
            raise RuntimeError("abort")
    assert await conversations.open_for_channel(900) is None
