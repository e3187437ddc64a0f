"""Recovery on start: answers a crash left `streaming` become `interrupted`.

Their content becomes the text their steps hold (rounds a blank line apart, as a finished
answer's), which includes what `StreamLog` saved of the round cut off; they are returned
with their steps so their Discord messages can be edited to say so.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.storage.message_rows import (
    MESSAGE_COLUMNS,
    STEP_COLUMNS,
    group_steps,
    message_of,
    visible_text,
)
from bot.storage.models import StoredMessage
from bot.storage.sql import Conn
from bot.storage.timeutil import from_ms, now_ms

log = logging.getLogger(__name__)

_STREAMING = f"""
    SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.status = 'streaming' ORDER BY m.id
"""
_INTERRUPT = """
    UPDATE messages SET status = 'interrupted', finished_at = ?
    WHERE status = 'streaming'
"""
_STEPS_OF_STREAMING = f"""
    SELECT {STEP_COLUMNS} FROM messages m JOIN steps s ON s.message_id = m.id
    WHERE m.status = 'streaming' ORDER BY m.id, s.seq
"""
_SET_CONTENT = "UPDATE messages SET content = ? WHERE id = ?"


async def interrupt_streaming(c: Conn) -> list[StoredMessage]:
    """Inside the caller's transaction `c`: mark every answer left streaming interrupted."""
    rows = await c.execute_fetchall(_STREAMING)
    if not rows:
        return []
    steps = group_steps(await c.execute_fetchall(_STEPS_OF_STREAMING))
    finished = now_ms()
    await c.execute(_INTERRUPT, (finished,))
    contents = {
        row[0]: text for row in rows if not row[3] and (text := visible_text(steps.get(row[0], ())))
    }
    if contents:
        await c.executemany(_SET_CONTENT, [(t, i) for i, t in contents.items()])
    # The rows were read before the update; report them as they are now.
    interrupted = [
        replace(
            message_of(row, steps.get(row[0], ())),
            status="interrupted",
            finished_at=from_ms(finished),
            content=contents.get(row[0], str(row[3])),
        )
        for row in rows
    ]
    log.warning("marked %d answers left streaming as interrupted", len(interrupted))
    return interrupted
