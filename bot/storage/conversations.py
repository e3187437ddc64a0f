"""Conversations: which channel (thread, inline channel, DM) holds which conversation.

A channel has at most one open conversation (a partial unique index enforces it); `/new`
closes it so the next message starts a fresh one.
"""

from __future__ import annotations

import logging

from bot.errors import SwitchboardError
from bot.storage.database import Database
from bot.storage.models import Conversation, ConversationKind
from bot.storage.sql import Conn, Outcome, Row
from bot.storage.timeutil import from_ms, from_ms_or_none, now_ms

log = logging.getLogger(__name__)


class ConversationAlreadyOpenError(SwitchboardError):
    """The channel already has an open conversation (someone else just started it)."""

    def __init__(self, channel_id: int) -> None:
        super().__init__(f"channel {channel_id} already has an open conversation")
        self.channel_id = channel_id


_COLUMNS = (
    "id, kind, guild_id, channel_id, parent_channel_id, title, model, created_by,"
    " created_at, closed_at"
)


def _conversation(row: Row) -> Conversation:
    return Conversation(
        id=row.id,
        kind=row.kind,
        guild_id=row.guild_id,
        channel_id=row.channel_id,
        parent_channel_id=row.parent_channel_id,
        title=row.title,
        model=row.model,
        created_by=row.created_by,
        created_at=from_ms(row.created_at),
        closed_at=from_ms_or_none(row.closed_at),
    )


class ConversationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    _CREATE = """
        INSERT INTO conversations
            (kind, guild_id, channel_id, parent_channel_id, title, model, created_by, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (channel_id) WHERE closed_at IS NULL DO NOTHING
        RETURNING id
    """

    async def create(
        self,
        kind: ConversationKind,
        guild_id: int | None,
        channel_id: int,
        parent_channel_id: int | None,
        title: str | None,
        model: str | None,
        created_by: int | None,
        *,
        conn: Conn | None = None,
    ) -> Conversation:
        """A new open conversation in `channel_id`.

        Raises ConversationAlreadyOpenError if the channel has one; use `open_or_create`
        where a racing start is expected (inline channels, DMs).
        """
        created_at = now_ms()
        params = (kind, guild_id, channel_id, parent_channel_id, title, model, created_by)
        async with self._db.maybe_transaction(conn) as c:
            # The one open conversation per channel is a unique index; a conflict is
            # answered without an error, which would abort the whole transaction on
            # PostgreSQL.
            created = (await c.execute(self._CREATE, (*params, created_at))).fetchone()
            if created is None:
                raise ConversationAlreadyOpenError(channel_id)
            conversation_id = int(created[0])
        log.info("conversation %d created in channel %d", conversation_id, channel_id)
        return Conversation(
            id=conversation_id,
            kind=kind,
            guild_id=guild_id,
            channel_id=channel_id,
            parent_channel_id=parent_channel_id,
            title=title,
            model=model,
            created_by=created_by,
            created_at=from_ms(created_at),
            closed_at=None,
        )

    async def open_or_create(
        self,
        kind: ConversationKind,
        guild_id: int | None,
        channel_id: int,
        parent_channel_id: int | None,
        title: str | None,
        model: str | None,
        created_by: int | None,
        *,
        conn: Conn | None = None,
    ) -> tuple[Conversation, bool]:
        """The channel's open conversation, or a new one; `True` when it was just created.

        Check and insert run in one transaction, so two racing callers get the same one
        (on PostgreSQL the loser of the race reads the winner's after its insert yields).
        """
        async with self._db.maybe_transaction(conn) as c:
            row = await self._open_row(c, channel_id)
            if row is not None:
                return _conversation(row), False
            try:
                created = await self.create(
                    kind, guild_id, channel_id, parent_channel_id, title, model, created_by, conn=c
                )
            except ConversationAlreadyOpenError:
                # PostgreSQL: a racing transaction created it after our read and committed
                # while our insert waited on the unique index; a new read now sees it.
                row = await self._open_row(c, channel_id)
                if row is None:
                    raise
                return _conversation(row), False
            return created, True

    _GET = f"SELECT {_COLUMNS} FROM conversations WHERE id = ?"

    async def get(self, conversation_id: int, *, conn: Conn | None = None) -> Conversation | None:
        async with self._db.reading(conn) as c, c.execute(self._GET, (conversation_id,)) as cur:
            row = cur.fetchone()
        return None if row is None else _conversation(row)

    _OPEN_FOR_CHANNEL = (
        f"SELECT {_COLUMNS} FROM conversations WHERE channel_id = ? AND closed_at IS NULL"
    )

    async def open_for_channel(
        self, channel_id: int, *, conn: Conn | None = None
    ) -> Conversation | None:
        """The open conversation of a thread, inline channel or DM channel, if any."""
        async with self._db.reading(conn) as c:
            row = await self._open_row(c, channel_id)
        return None if row is None else _conversation(row)

    async def _open_row(self, conn: Conn, channel_id: int) -> Row | None:
        async with conn.execute(self._OPEN_FOR_CHANNEL, (channel_id,)) as cursor:
            row: Row | None = cursor.fetchone()
        return row

    _COUNT_OPEN = "SELECT COUNT(*) FROM conversations WHERE closed_at IS NULL"

    async def count_open(self, *, conn: Conn | None = None) -> int:
        async with self._db.reading(conn) as c, c.execute(self._COUNT_OPEN) as cursor:
            row = cursor.fetchone()
        return int(row[0]) if row is not None else 0

    _CLOSE = "UPDATE conversations SET closed_at = ? WHERE id = ? AND closed_at IS NULL"

    async def close(self, conversation_id: int, *, conn: Conn | None = None) -> bool:
        """Close the conversation (for `/new`); False if it was already closed or unknown."""
        async with self._db.maybe_transaction(conn) as c:
            cursor = await c.execute(self._CLOSE, (now_ms(), conversation_id))
        closed = cursor.rowcount == 1
        if closed:
            log.info("conversation %d closed", conversation_id)
        return closed

    _SET_TITLE = "UPDATE conversations SET title = ? WHERE id = ?"

    async def set_title(
        self, conversation_id: int, title: str | None, *, conn: Conn | None = None
    ) -> None:
        async with self._db.maybe_transaction(conn) as c:
            cursor = await c.execute(self._SET_TITLE, (title, conversation_id))
        _require_one(cursor, conversation_id)

    _SET_MODEL = "UPDATE conversations SET model = ? WHERE id = ?"

    async def set_model(
        self, conversation_id: int, model: str | None, *, conn: Conn | None = None
    ) -> None:
        """Pin a model for this conversation; None falls back to the channel's model."""
        async with self._db.maybe_transaction(conn) as c:
            cursor = await c.execute(self._SET_MODEL, (model, conversation_id))
        _require_one(cursor, conversation_id)


def _require_one(cursor: Outcome, conversation_id: int) -> None:
    if cursor.rowcount != 1:
        raise LookupError(f"no conversation {conversation_id}")
