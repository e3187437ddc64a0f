"""Saving answers while they stream: one process-wide writer for the open round of every answer.

Members see an answer's words as they stream, but a round's reasoning and text are final only
when the round finishes. So that a kill, an out-of-memory or a power cut mid-round does not
lose what members already saw, every answer in flight registers here (`watch`) with a function
that returns its open round (`RoundDraft`), says when that round grew (`DraftHandle.changed`,
O(1), called per delta), and every `interval_s` ONE transaction writes the open round of every
answer that changed since the last flush, as ordinary `steps` rows (kinds `reasoning` and
`text` of that round) updated in place by later flushes. So after a crash the stored answer
looks exactly like a stopped round, and history rebuilding needs nothing of its own.

`messages.content` is not written here: every update of it re-indexes the whole text for
full-text search, which made a flush of long answers several times slower. Recovery fills it
from these steps instead (`MessageRepository.interrupt_orphaned`).

`DraftHandle.save_round` writes a round's final steps in one transaction that first deletes
the round's draft rows: the final write replaces the draft, never duplicates it. Snapshots are
taken inside the flush's transaction (the database lock is held), and `save_round` seals its
round before it waits for the lock, so no flush can write a draft after the round's final
write. `DraftHandle.close` ends an answer's registration when it finishes, so nothing is
pending once an answer has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bot.storage.database import Database, DatabaseUnavailableError
from bot.storage.messages import MessageRepository, NewStep
from bot.storage.models import RoundArtefacts
from bot.tasks import spawn

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 1.0


@dataclass(frozen=True, slots=True)
class RoundDraft:
    """An answer's open round as it stands."""

    round: int
    reasoning: str
    text: str


DraftSource = Callable[[], RoundDraft | None]  # None: no open round to save


@dataclass(frozen=True, slots=True)
class FlushStats:
    answers: int  # answers written by the flush
    seconds: float  # from the snapshot (the lock held) to the commit


# Portable SQL (named parameters, no SQLite-only functions): the row is found by its round and
# kind, since a draft is at most one reasoning and one text row per round.
_UPDATE_DRAFT = """
    UPDATE steps SET content = :content
    WHERE message_id = :message_id AND round = :round AND kind = :kind
"""
_INSERT_DRAFT = """
    INSERT INTO steps (message_id, seq, round, kind, content)
    SELECT :message_id,
           (SELECT COALESCE(MAX(seq) + 1, 0) FROM steps WHERE message_id = :message_id),
           :round, :kind, :content
    WHERE NOT EXISTS (
        SELECT 1 FROM steps WHERE message_id = :message_id AND round = :round AND kind = :kind
    )
"""
_DELETE_DRAFT = """
    DELETE FROM steps
    WHERE message_id = ? AND round = ? AND kind IN ('reasoning', 'text')
"""


class DraftHandle:
    """One answer's registration with the `StreamLog`."""

    __slots__ = (
        "_closed",
        "_dirty",
        "_drafted",
        "_log",
        "_sealed",
        "_written",
        "answer_id",
        "source",
    )

    def __init__(self, stream_log: StreamLog, answer_id: int, source: DraftSource) -> None:
        self._log = stream_log
        self.answer_id = answer_id
        self.source = source
        self._dirty = False
        self._closed = False
        self._sealed = -1  # rounds up to this one have their final steps: never draft them
        self._drafted = -1  # the last round a flush may have written draft rows for
        self._written: RoundDraft | None = None  # what the last committed flush wrote

    def changed(self) -> None:
        """The open round grew: save it with the next flush."""
        if not self._dirty and not self._closed:
            self._dirty = True
            self._log._dirty[self.answer_id] = self

    async def save_round(
        self,
        round_no: int,
        steps: Sequence[NewStep],
        *,
        artefacts: RoundArtefacts | None = None,
    ) -> None:
        """Write round `round_no`'s final steps, replacing whatever draft of it was saved."""
        # Sealed before the first await: a flush that takes the lock after this point skips
        # the round, one that already holds it commits first and is then replaced here.
        self._sealed = max(self._sealed, round_no)
        if not steps and artefacts is None and self._drafted < round_no:
            return
        stream_log = self._log
        async with stream_log._db.transaction() as conn:
            await conn.execute(_DELETE_DRAFT, (self.answer_id, round_no))
            await stream_log._messages.append_steps(
                self.answer_id, steps, artefacts=artefacts, conn=conn
            )
        self._written = None

    def close(self) -> None:
        """The answer has ended (its final state is written by its owner): stop saving it."""
        self._closed = True
        self._dirty = False
        self._log._dirty.pop(self.answer_id, None)

    def _rows(
        self, updates: list[dict[str, Any]], inserts: list[dict[str, Any]]
    ) -> RoundDraft | None:
        """Add this answer's changed rows; returns the snapshot written, None if nothing."""
        self._dirty = False
        if self._closed:
            return None
        draft = self.source()
        if draft is None or draft.round <= self._sealed:
            return None
        written = self._written
        same_round = written is not None and written.round == draft.round
        changed = False
        for kind, content, before in (
            ("reasoning", draft.reasoning, written.reasoning if written else ""),
            ("text", draft.text, written.text if written else ""),
        ):
            if same_round and content == before:
                continue
            if not content and not same_round and self._drafted < draft.round:
                continue  # no flush wrote this round yet: no row to clear
            row = {
                "message_id": self.answer_id,
                "round": draft.round,
                "kind": kind,
                "content": content,
            }
            updates.append(row)
            # A row known to exist needs only the update; otherwise it may be missing.
            if content and not (same_round and before):
                inserts.append(row)
            changed = True
        if not changed:
            return None
        self._drafted = draft.round
        return draft


class StreamLog:
    """The process-wide writer of answers in flight; build it with `StreamLog.running(db)`."""

    def __init__(self, db: Database, *, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self._db = db
        self._messages = MessageRepository(db)
        self.interval_s = interval_s
        self._dirty: dict[int, DraftHandle] = {}
        self._task: asyncio.Task[None] | None = None
        self.transactions = 0  # flush transactions committed (each writes every changed answer)
        self.last_flush: FlushStats | None = None

    @classmethod
    @asynccontextmanager
    async def running(
        cls, db: Database, *, interval_s: float = DEFAULT_INTERVAL_S
    ) -> AsyncIterator[StreamLog]:
        """A StreamLog flushing every `interval_s`; the last flush runs on exit."""
        stream_log = cls(db, interval_s=interval_s)
        stream_log._task = spawn(stream_log._run(), name="stream-log")
        try:
            yield stream_log
        finally:
            await stream_log.close()

    def watch(self, answer_id: int, source: DraftSource) -> DraftHandle:
        """Register an answer in flight; `source` is called at flush time, on the event loop."""
        return DraftHandle(self, answer_id, source)

    @property
    def pending(self) -> int:
        """Answers whose open round changed since the last flush."""
        return len(self._dirty)

    async def flush(self) -> FlushStats:
        """Write the open round of every answer that changed, in one transaction."""
        if not self._dirty:
            return FlushStats(0, 0.0)
        handles: list[DraftHandle] = []
        written: list[tuple[DraftHandle, RoundDraft]] = []
        try:
            async with self._db.transaction() as conn:
                # Taken under the lock: a round sealed from now on is not in this snapshot.
                started = time.perf_counter()
                handles = list(self._dirty.values())
                self._dirty.clear()
                updates: list[dict[str, Any]] = []
                inserts: list[dict[str, Any]] = []
                for handle in handles:
                    draft = handle._rows(updates, inserts)
                    if draft is not None:
                        written.append((handle, draft))
                if updates:
                    await conn.executemany(_UPDATE_DRAFT, updates)
                if inserts:
                    await conn.executemany(_INSERT_DRAFT, inserts)
                for handle, draft in written:
                    handle._written = draft
        except BaseException:
            # Rolled back: whatever this flush took is written again by the next one.
            for handle in handles:
                handle._written = None
                handle.changed()
            raise
        stats = FlushStats(len(written), time.perf_counter() - started)
        self.transactions += 1
        self.last_flush = stats
        return stats

    async def close(self) -> None:
        """Stop the periodic flush and write what is still pending."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.flush()
        except DatabaseUnavailableError:
            # Their steps up to the last flush are saved; the next start's recovery closes
            # these answers with that text.
            log.warning("the last drafts of %d answers could not be saved", self.pending)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            outage = self._db.outage
            if not self._dirty or (outage is not None and outage.down):
                continue  # while PostgreSQL is gone, its reconnecting does the knocking
            try:
                await self.flush()
            except DatabaseUnavailableError:
                pass  # said once by the reconnecting; the drafts are written again after it
            except Exception:
                log.exception("saving the answers in flight failed; trying again")
