"""Retention: deleting conversation content older than a number of days.

Messages (with their steps, Discord message ids and full-text index entries, by cascade and
trigger) older than the cut-off are deleted, then closed conversations left empty. Open
conversations keep their row so a thread or channel stays mapped to its conversation. The
usage ledger and its rollup are never touched: they have no foreign keys to this content.
Answers still streaming are never deleted.

With several processes on one database, retention runs once per `RETENTION_EVERY_MS` across
all of them (`retention_if_due`, through `bot.storage.jobs`), not once per process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.storage.database import Database
from bot.storage.jobs import run_if_due
from bot.storage.sql import Conn
from bot.storage.timeutil import to_ms

log = logging.getLogger(__name__)

RETENTION_EVERY_MS = 6 * 3600 * 1000

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


async def retention_if_due(
    db: Database,
    days: int,
    now: datetime,
    *,
    owner: str | None = None,
    every_ms: int = RETENTION_EVERY_MS,
) -> RetentionResult | None:
    """`delete_older_than` if no process ran it in the last `every_ms`; None if skipped."""

    async def work(conn: Conn) -> RetentionResult:
        return await delete_older_than(db, days, now, conn=conn)

    _, result = await run_if_due(db, "retention", every_ms, work, owner=owner)
    return result


async def delete_older_than(
    db: Database, days: int, now: datetime, *, conn: Conn | None = None
) -> RetentionResult:
    """Delete content older than `days` days before `now` (aware UTC)."""
    cutoff = to_ms(now - timedelta(days=days))
    async with db.maybe_transaction(conn) as c:
        messages = await c.execute(_DELETE_MESSAGES, (cutoff,))
        conversations = await c.execute(_DELETE_EMPTY_CLOSED, {"cutoff": cutoff})
    result = RetentionResult(messages.rowcount, conversations.rowcount)
    if result.messages or result.conversations:
        log.info(
            "retention: deleted %d messages and %d conversations older than %d days",
            result.messages,
            result.conversations,
            days,
        )
    return result
