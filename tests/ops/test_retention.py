"""Retention deletes old conversation content and never the usage ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.storage.conversations import ConversationRepository
from bot.storage.database import Database
from bot.storage.messages import MessageRepository
from bot.storage.retention import delete_older_than
from bot.storage.timeutil import to_ms

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with Database.open(tmp_path / "retention.db") as database:
        yield database


async def age(db: Database, table: str, row_id: int, days: float) -> None:
    async with db.transaction() as conn:
        column = "created_at" if table == "messages" else "closed_at"
        moment = to_ms(NOW - timedelta(days=days))
        await conn.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (moment, row_id))


async def ledger_row(db: Database, key: str, conversation_id: int) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO usage_ledger (idempotency_key, created_at, guild_id, user_id,"
            " conversation_id, model, prompt_tokens, completion_tokens, cost_micros,"
            " price_source, status, usage_source)"
            " VALUES (?, ?, 1, 5, ?, 'm', 100, 20, 42, 'catalog', 'completed', 'provider')",
            (key, to_ms(NOW - timedelta(days=400)), conversation_id),
        )


async def test_retention_deletes_old_content_and_keeps_the_ledger(db: Database) -> None:
    conversations, messages = ConversationRepository(db), MessageRepository(db)
    old = await conversations.create("inline", 1, 10, None, None, None, 5)
    stale = await messages.add_user_message(old.id, "ancient secret plan", 5, "Ann", 111)
    answer = await messages.start_answer(old.id, "m", stale.id)
    await messages.finish_answer(answer.id, "complete", "old reply")
    await messages.add_discord_message(answer.id, 0, 10, 222)
    fresh = await messages.add_user_message(old.id, "recent question", 5, "Ann", 333)
    for row_id in (stale.id, answer.id):
        await age(db, "messages", row_id, 40)
    closed = await conversations.create("inline", 1, 11, None, None, None, 5)
    gone = await messages.add_user_message(closed.id, "closed long ago", 5, "Ann", None)
    await age(db, "messages", gone.id, 40)
    await conversations.close(closed.id)
    await age(db, "conversations", closed.id, 40)
    await ledger_row(db, "k1", old.id)
    await ledger_row(db, "k2", closed.id)

    result = await delete_older_than(db, 30, NOW)

    assert (result.messages, result.conversations) == (3, 1)
    remaining = await messages.history(old.id)
    assert [m.id for m in remaining] == [fresh.id]
    assert await messages.search(old.id, "ancient secret") == []
    assert await messages.discord_messages(answer.id) == []
    assert await conversations.get(closed.id) is None
    assert await conversations.get(old.id) is not None  # open: still mapped to its channel
    async with db.reading() as conn:
        rows = await conn.execute_fetchall("SELECT COUNT(*), SUM(cost_micros) FROM usage_ledger")
        daily = await conn.execute_fetchall("SELECT SUM(calls) FROM usage_daily")
    assert tuple(next(iter(rows))) == (2, 84)
    assert next(iter(daily))[0] == 2


async def test_retention_never_deletes_a_streaming_answer(db: Database) -> None:
    conversations, messages = ConversationRepository(db), MessageRepository(db)
    conversation = await conversations.create("inline", 1, 10, None, None, None, 5)
    question = await messages.add_user_message(conversation.id, "q", 5, "Ann", None)
    answer = await messages.start_answer(conversation.id, "m", question.id)
    await age(db, "messages", answer.id, 90)
    await delete_older_than(db, 30, NOW)
    assert await messages.get(answer.id) is not None
