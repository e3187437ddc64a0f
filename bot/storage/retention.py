"""Retention: deleting conversation content older than a number of days.

Messages (with their steps, Discord message ids and full-text index entries, by cascade and
trigger) older than the cut-off are deleted, then closed conversations left empty. Open
conversations keep their row so a thread or channel stays mapped to its conversation. The
usage ledger and its rollup are never touched: they have no foreign keys to this content.
Answers still streaming are never deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.storage.database import Database
from bot.storage.timeutil import to_ms

log = logging.getLogger(__name__)

_DELETE_MESSAGES = "DELETE FROM messages WHERE created_at < ? AND status != 'streaming'"
_DELETE_EMPTY_CLOSED = """
    DELETE FROM conversations
    WHERE closed_at IS NOT NULL AND closed_at < :cutoff
      AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id)
"""


@dataclass(frozen=True, slots=True)
class RetentionResult:
    messages: int
    conversations: int


async def delete_older_than(db: Database, days: int, now: datetime) -> RetentionResult:
    """Delete content older than `days` days before `now` (aware UTC)."""
    cutoff = to_ms(now - timedelta(days=days))
    async with db.transaction() as conn:
        messages = await conn.execute(_DELETE_MESSAGES, (cutoff,))
        conversations = await conn.execute(_DELETE_EMPTY_CLOSED, {"cutoff": cutoff})
    result = RetentionResult(messages.rowcount, conversations.rowcount)
    if result.messages or result.conversations:
        log.info(
            "retention: deleted %d messages and %d conversations older than %d days",
            result.messages,
            result.conversations,
            days,
        )
    return result
