"""What members attached to their messages, as it was read (table `message_attachments`):
extracted text, images as their downscaled bytes, and the reasons others were skipped."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict

from bot.storage.database import Database
from bot.storage.models import StoredAttachment
from bot.storage.sql import Conn

_ADD_ATTACHMENT = """
    INSERT INTO message_attachments (message_id, position, kind, filename, mime, text, data,
                                     width, height, tokens)
    VALUES (:message_id, :position, :kind, :filename, :mime, :text, :data, :width, :height,
            :tokens)
"""


async def add_attachments(
    conn: Conn, message_id: int, attachments: Sequence[StoredAttachment]
) -> None:
    """Store a message's attachments inside the caller's transaction (with the message)."""
    await conn.executemany(
        _ADD_ATTACHMENT, [{"message_id": message_id, **asdict(a)} for a in attachments]
    )


class AttachmentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    _IMAGES_OF = """
        SELECT message_id, position, kind, filename, mime, text, data, width, height, tokens
        FROM message_attachments WHERE kind = 'image' AND message_id IN ({marks})
        ORDER BY message_id, position
    """

    async def images_of(
        self, message_ids: Sequence[int], *, conn: Conn | None = None
    ) -> dict[int, list[StoredAttachment]]:
        """The stored images of these messages (by message id, in attachment order)."""
        if not message_ids:
            return {}
        sql = self._IMAGES_OF.format(marks=", ".join("?" * len(message_ids)))
        async with self._db.reading(conn) as c:
            rows = await c.execute_fetchall(sql, tuple(message_ids))
        found: dict[int, list[StoredAttachment]] = defaultdict(list)
        for row in rows:
            found[row[0]].append(StoredAttachment(*row[1:]))
        return dict(found)
