"""Recovery: answers left `streaming` by a dead owner become `interrupted`.

Only orphaned answers are touched (`bot.storage.owners`): those whose owner's heartbeat is
stale or gone, and at start-up also those with no owner (written before owners existed).
A live sibling process's answers are never touched, however long they stream.

Their content becomes the text their steps hold (rounds a blank line apart, as a finished
answer's), which includes what `StreamLog` saved of the round cut off; they are returned
with their steps so their Discord messages can be edited to say so.

The UPDATE decides which answers are taken (`… AND status = 'streaming' RETURNING id`): on
PostgreSQL two processes sweeping at once wait for each other's row locks, and the second
finds the rows no longer streaming, so every answer is recovered by exactly one process.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from bot.storage.message_rows import (
    MESSAGE_COLUMNS,
    STEP_COLUMNS,
    group_steps,
    message_of,
    visible_text,
)
from bot.storage.models import StoredMessage
from bot.storage.owners import STALE_AFTER_MS, orphan_params, orphaned
from bot.storage.sql import Conn
from bot.storage.timeutil import now_ms

log = logging.getLogger(__name__)

_SET_CONTENT = "UPDATE messages SET content = ? WHERE id = ?"
# Ids come from our own RETURNING (integers), so they are written into the statement.
_CHUNK = 500


def _interrupt(dialect: str) -> str:
    return f"""
        UPDATE messages SET status = 'interrupted', finished_at = :finished
        WHERE status = 'streaming' AND {orphaned("messages.owner", dialect)}
        RETURNING id
    """


async def interrupt_orphaned(
    c: Conn, *, unowned: bool, stale_ms: int = STALE_AFTER_MS
) -> list[StoredMessage]:
    """Inside the caller's transaction `c`: mark the answers dead owners left streaming
    interrupted (with `unowned`, also those with no owner); returns them with their steps."""
    params = {"finished": now_ms(), **orphan_params(unowned=unowned, stale_ms=stale_ms)}
    ids = sorted(int(row[0]) for row in await c.execute_fetchall(_interrupt(c.dialect), params))
    interrupted: list[StoredMessage] = []
    for start in range(0, len(ids), _CHUNK):
        interrupted += await _read_and_fill(c, ids[start : start + _CHUNK])
    if interrupted:
        log.warning("marked %d answers left streaming as interrupted", len(interrupted))
    return interrupted


async def _read_and_fill(c: Conn, ids: Sequence[int]) -> list[StoredMessage]:
    listed = ", ".join(str(int(i)) for i in ids)
    rows = await c.execute_fetchall(
        f"SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id IN ({listed}) ORDER BY m.id"
    )
    steps = group_steps(
        await c.execute_fetchall(
            f"SELECT {STEP_COLUMNS} FROM steps s WHERE s.message_id IN ({listed})"
            " ORDER BY s.message_id, s.seq"
        )
    )
    contents = {
        row[0]: text for row in rows if not row[3] and (text := visible_text(steps.get(row[0], ())))
    }
    if contents:
        await c.executemany(_SET_CONTENT, [(t, i) for i, t in contents.items()])
    return [
        replace(message_of(row, steps.get(row[0], ())), content=contents.get(row[0], str(row[3])))
        for row in rows
    ]
