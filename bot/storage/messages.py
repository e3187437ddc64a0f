"""Messages of a conversation: members' messages, answers with their steps, the Discord
messages that show each answer, crash recovery of half-streamed answers, and full-text search.

History is rebuilt with a fixed number of queries (messages, then all their steps in one go),
so a 10,000-message conversation costs two queries, not 10,001.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, replace

from bot.errors import DuplicateMessageError
from bot.storage.attachments import add_attachments
from bot.storage.database import Database
from bot.storage.fts import search_messages
from bot.storage.message_rows import (
    ARTEFACT_COLUMNS,
    MESSAGE_COLUMNS,
    STEP_COLUMNS,
    NewStep,
    group_artefacts,
    group_steps,
    message_of,
)
from bot.storage.models import (
    DiscordMessageRef,
    RoundArtefacts,
    SearchHit,
    Step,
    StoredAttachment,
    StoredMessage,
)
from bot.storage.owners import STALE_AFTER_MS
from bot.storage.recovery import interrupt_orphaned
from bot.storage.sql import Conn, IntegrityError
from bot.storage.timeutil import now_ms, to_ms, utc_now
from bot.vocabulary import AnswerStatus

__all__ = ["FINAL_STATUSES", "MessageRepository", "NewStep"]

log = logging.getLogger(__name__)

_NO_LIMIT = 2**63 - 1
FINAL_STATUSES: frozenset[AnswerStatus] = frozenset({"complete", "stopped", "interrupted", "error"})


class MessageRepository:
    def __init__(self, db: Database, *, owner: str | None = None) -> None:
        """`owner`: this process run's id (`bot.storage.owners`), written on its answers."""
        self._db = db
        self._owner = owner

    @property
    def db(self) -> Database:
        return self._db

    _INSERT = """
        INSERT INTO messages (conversation_id, role, content, author_id, author_name,
                              discord_message_id, status, model, reply_to_message_id, created_at,
                              owner)
        VALUES (:conversation_id, :role, :content, :author_id, :author_name,
                :discord_message_id, :status, :model, :reply_to_message_id, :created_at,
                :owner)
        RETURNING id
    """

    async def add_user_message(
        self,
        conversation_id: int,
        content: str,
        author_id: int | None,
        author_name: str | None,
        discord_message_id: int | None,
        *,
        attachments: Sequence[StoredAttachment] = (),
        conn: Conn | None = None,
    ) -> StoredMessage:
        """Store a member's message with what was read of its attachments, in one
        transaction; `DuplicateMessageError` when the Discord message is already stored."""
        if not attachments:
            return await self._add_user_message(
                conversation_id, content, author_id, author_name, discord_message_id, conn
            )
        async with self._db.maybe_transaction(conn) as c:
            stored = await self._add_user_message(
                conversation_id, content, author_id, author_name, discord_message_id, c
            )
            await add_attachments(c, stored.id, attachments)
        return stored

    async def _add_user_message(
        self,
        conversation_id: int,
        content: str,
        author_id: int | None,
        author_name: str | None,
        discord_message_id: int | None,
        conn: Conn | None,
    ) -> StoredMessage:
        message = StoredMessage(
            id=0,
            conversation_id=conversation_id,
            role="user",
            content=content,
            author_id=author_id,
            author_name=author_name,
            discord_message_id=discord_message_id,
            status="complete",
            model=None,
            created_at=utc_now(),
        )
        try:
            return await self._insert(message, None, conn)
        except IntegrityError as exc:
            if discord_message_id is None:
                raise
            # A Discord message is stored once (unique index): a replayed gateway event.
            raise DuplicateMessageError(f"Discord message {discord_message_id}") from exc

    _SET_USER_CONTENT = "UPDATE messages SET content = ? WHERE id = ? AND role = 'user'"

    async def update_user_content(
        self, message_id: int, content: str, *, conn: Conn | None = None
    ) -> None:
        """A member edited their message: the model sees the new text from now on."""
        async with self._db.maybe_transaction(conn) as c:
            await c.execute(self._SET_USER_CONTENT, (content, message_id))

    async def start_answer(
        self,
        conversation_id: int,
        model: str | None,
        reply_to_message_id: int | None,
        *,
        conn: Conn | None = None,
    ) -> StoredMessage:
        """An empty answer in status `streaming`; finish it with `finish_answer`."""
        message = StoredMessage(
            id=0,
            conversation_id=conversation_id,
            role="assistant",
            content="",
            author_id=None,
            author_name=None,
            discord_message_id=None,
            status="streaming",
            model=model,
            created_at=utc_now(),
        )
        message = replace(message, reply_to_message_id=reply_to_message_id)
        return await self._insert(message, reply_to_message_id, conn)

    async def _insert(
        self,
        message: StoredMessage,
        reply_to_message_id: int | None,
        conn: Conn | None,
    ) -> StoredMessage:
        params = {
            "conversation_id": message.conversation_id,
            "role": message.role,
            "content": message.content,
            "author_id": message.author_id,
            "author_name": message.author_name,
            "discord_message_id": message.discord_message_id,
            "status": message.status,
            "model": message.model,
            "reply_to_message_id": reply_to_message_id,
            "created_at": to_ms(message.created_at),
            # Only answers have an owner: the run streaming it (members' messages are done).
            "owner": self._owner if message.role == "assistant" else None,
        }
        async with self._db.maybe_transaction(conn) as c:
            row = (await c.execute(self._INSERT, params)).fetchone()
        assert row is not None
        return replace(message, id=int(row[0]))

    _NEXT_SEQ = "SELECT COALESCE(MAX(seq) + 1, 0) FROM steps WHERE message_id = ?"
    _INSERT_STEP = """
        INSERT INTO steps (message_id, seq, round, kind, content, tool_call_id, tool_name,
                           tool_arguments, tool_status, duration_ms, tool_extra)
        VALUES (:message_id, :seq, :round, :kind, :content, :tool_call_id, :tool_name,
                :tool_arguments, :tool_status, :duration_ms, :tool_extra)
    """
    _SAVE_ARTEFACTS = """
        INSERT INTO round_artefacts (message_id, round, source, data) VALUES (?, ?, ?, ?)
        ON CONFLICT (message_id, round) DO UPDATE SET
            source = excluded.source, data = excluded.data
    """

    async def append_steps(
        self,
        message_id: int,
        steps: Sequence[NewStep],
        *,
        artefacts: RoundArtefacts | None = None,
        conn: Conn | None = None,
    ) -> list[Step]:
        """Append steps after the answer's existing ones; `seq` counts 0, 1, 2, … in order.

        `artefacts` of the steps' round are written in the same transaction, so a round is
        never stored without what its provider requires back with it."""
        if not steps and artefacts is None:
            return []
        async with self._db.maybe_transaction(conn) as c:
            if artefacts is not None:
                await c.execute(
                    self._SAVE_ARTEFACTS,
                    (message_id, artefacts.round, artefacts.source, artefacts.data),
                )
            if not steps:
                return []
            async with c.execute(self._NEXT_SEQ, (message_id,)) as cursor:
                row = cursor.fetchone()
            first = int(row[0]) if row is not None else 0
            stored = [Step(seq=first + i, **asdict(step)) for i, step in enumerate(steps)]
            await c.executemany(
                self._INSERT_STEP, [{"message_id": message_id, **asdict(s)} for s in stored]
            )
        return stored

    _FINISH = """
        UPDATE messages SET status = ?, content = ?, error_text = ?, finished_at = ?
        WHERE id = ? AND role = 'assistant'
    """

    async def finish_answer(
        self,
        message_id: int,
        status: AnswerStatus,
        content: str,
        error_text: str | None = None,
        *,
        conn: Conn | None = None,
    ) -> None:
        """Record the answer's final text and how it ended (any status but `streaming`)."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"an answer can't finish as {status!r}")
        async with self._db.maybe_transaction(conn) as c:
            cursor = await c.execute(
                self._FINISH, (status, content, error_text, now_ms(), message_id)
            )
        if cursor.rowcount != 1:
            raise LookupError(f"no answer {message_id}")

    _GET = f"SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id = ?"
    _STEPS_OF = f"SELECT {STEP_COLUMNS} FROM steps s WHERE s.message_id = ? ORDER BY s.seq"
    _ARTEFACTS_OF = (
        f"SELECT {ARTEFACT_COLUMNS} FROM round_artefacts a WHERE a.message_id = ? ORDER BY a.round"
    )

    async def get(self, message_id: int, *, conn: Conn | None = None) -> StoredMessage | None:
        """One message with its steps."""
        async with self._db.reading(conn) as c:
            return await self._get(c, message_id)

    async def _get(self, conn: Conn, message_id: int) -> StoredMessage | None:
        async with conn.execute(self._GET, (message_id,)) as cursor:
            row = cursor.fetchone()
        if row is None:
            return None
        steps = group_steps(await conn.execute_fetchall(self._STEPS_OF, (message_id,)))
        artefacts = group_artefacts(await conn.execute_fetchall(self._ARTEFACTS_OF, (message_id,)))
        return message_of(row, steps.get(message_id, ()), artefacts.get(message_id, ()))

    _HISTORY = f"""
        SELECT {MESSAGE_COLUMNS} FROM messages m
        WHERE m.conversation_id = ? ORDER BY m.id DESC LIMIT ?
    """
    _HISTORY_STEPS = f"""
        SELECT {STEP_COLUMNS} FROM messages m JOIN steps s ON s.message_id = m.id
        WHERE m.conversation_id = ? AND m.id >= ?
        ORDER BY m.id, s.seq
    """
    _HISTORY_ARTEFACTS = f"""
        SELECT {ARTEFACT_COLUMNS} FROM messages m JOIN round_artefacts a ON a.message_id = m.id
        WHERE m.conversation_id = ? AND m.id >= ?
        ORDER BY m.id, a.round
    """

    async def history(
        self,
        conversation_id: int,
        limit: int | None = None,
        *,
        conn: Conn | None = None,
    ) -> list[StoredMessage]:
        """The conversation's messages (the last `limit` if given), oldest first, with steps.

        Three queries whatever the length: the messages, every step of those messages, and
        the provider artefacts of their rounds.
        """
        async with self._db.reading(conn) as c:
            # Newest-first so LIMIT keeps the latest; the largest BIGINT is "no limit" on
            # both engines.
            rows = list(
                await c.execute_fetchall(
                    self._HISTORY, (conversation_id, _NO_LIMIT if limit is None else limit)
                )
            )
            if not rows:
                return []
            rows.reverse()
            first = rows[0][0]
            step_rows = await c.execute_fetchall(self._HISTORY_STEPS, (conversation_id, first))
            artefact_rows = await c.execute_fetchall(
                self._HISTORY_ARTEFACTS, (conversation_id, first)
            )
        steps = group_steps(step_rows)
        artefacts = group_artefacts(artefact_rows)
        return [message_of(row, steps.get(row[0], ()), artefacts.get(row[0], ())) for row in rows]

    _ADD_DISCORD_MESSAGE = """
        INSERT INTO answer_discord_messages (message_id, position, channel_id, discord_message_id)
        VALUES (?, ?, ?, ?)
        ON CONFLICT (message_id, position) DO UPDATE SET
            channel_id = excluded.channel_id, discord_message_id = excluded.discord_message_id
    """

    async def add_discord_message(
        self,
        message_id: int,
        position: int,
        channel_id: int,
        discord_message_id: int,
        *,
        conn: Conn | None = None,
    ) -> None:
        """Record that Discord message `discord_message_id` shows part `position` of the
        answer; recording a position again replaces it (a resent message)."""
        params = (message_id, position, channel_id, discord_message_id)
        async with self._db.maybe_transaction(conn) as c:
            await c.execute(self._ADD_DISCORD_MESSAGE, params)

    _DISCORD_MESSAGES = """
        SELECT message_id, position, channel_id, discord_message_id
        FROM answer_discord_messages WHERE message_id = ? ORDER BY position
    """

    async def discord_messages(
        self, message_id: int, *, conn: Conn | None = None
    ) -> list[DiscordMessageRef]:
        async with self._db.reading(conn) as c:
            rows = await c.execute_fetchall(self._DISCORD_MESSAGES, (message_id,))
        return [DiscordMessageRef(r[0], r[1], r[2], r[3]) for r in rows]

    _FIND_BY_DISCORD_MESSAGE = """
        SELECT id FROM messages WHERE discord_message_id = :d
        UNION ALL
        SELECT message_id FROM answer_discord_messages WHERE discord_message_id = :d
        LIMIT 1
    """

    async def find_by_discord_message(
        self, discord_message_id: int, *, conn: Conn | None = None
    ) -> StoredMessage | None:
        """The member's message or the answer a Discord message shows (with its steps)."""
        async with self._db.reading(conn) as c:
            async with c.execute(self._FIND_BY_DISCORD_MESSAGE, {"d": discord_message_id}) as cur:
                row = cur.fetchone()
            return None if row is None else await self._get(c, row[0])

    async def interrupt_orphaned(
        self, *, unowned: bool, stale_ms: int = STALE_AFTER_MS, conn: Conn | None = None
    ) -> list[StoredMessage]:
        """Answers that dead owners left `streaming` (with `unowned`, also those with no owner)
        become `interrupted`; returns them (with their steps) so their Discord messages can be
        edited to say so (see `bot.storage.recovery`)."""
        async with self._db.maybe_transaction(conn) as c:
            return await interrupt_orphaned(c, unowned=unowned, stale_ms=stale_ms)

    async def search(
        self,
        conversation_id: int,
        query: str,
        limit: int = 5,
        before_message_id: int | None = None,
        *,
        conn: Conn | None = None,
    ) -> list[SearchHit]:
        """Messages of this conversation matching the words of `query`, best first (see
        `bot.storage.fts.search_messages`)."""
        async with self._db.reading(conn) as c:
            return await search_messages(c, conversation_id, query, limit, before_message_id)
