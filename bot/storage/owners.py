"""Owners: which run of which process streams an answer or holds a budget, and whether it is
still alive.

Each run of the bot is an owner: a random id made at start (a restart is a new owner), with
the host, pid and shards for people reading the table. It registers a row in
`process_heartbeats` before it writes anything, updates the row's `beat_at` every
`BEAT_EVERY_S` (one UPDATE), and deletes it on a clean shutdown. Answers it streams
(`messages.owner`) and holds it writes (`reservations.owner`) carry its id, so a process
recovers only what a dead owner left: an owner is dead when its heartbeat is older than
`STALE_AFTER_MS` or its row is gone (deregistered, or forgotten as stale).

Heartbeats are stamped and judged by the database's clock, not each process's: processes
on several hosts share one PostgreSQL server and agree on its time whatever their own
clocks say.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.storage.database import Database, DatabaseUnavailableError
from bot.storage.sql import SyncConn
from bot.storage.timeutil import now_ms

log = logging.getLogger(__name__)

BEAT_EVERY_S = 5.0
# Three beats missed, plus a margin: a beat can wait its turn behind other processes' write
# transactions (SQLite admits one writer at a time) or behind an event loop busy under load,
# and a live process must never be taken for dead because one beat was slow. A dead one is
# noticed within about half a minute (plus the sweep interval below).
STALE_AFTER_MS = 3 * int(BEAT_EVERY_S * 1000) + 15_000
# How often a running process looks for answers and holds left by owners that died while it
# runs (a start-up recovers at once).
SWEEP_EVERY_S = 60.0

# The database's clock in unix milliseconds.
_NOW_MS = {
    "sqlite": "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
    "postgresql": "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
}


def db_now_ms(dialect: str) -> str:
    """SQL for the database's current time in unix milliseconds."""
    return _NOW_MS[dialect]


def orphaned(column: str, dialect: str) -> str:
    """SQL that is true when the owner in `column` is dead: its heartbeat is older than
    `:stale_ms` or it has none. With `:unowned` = 1, rows with no owner (written before
    owners existed, or by a version without them) count as orphaned too."""
    return f"""(({column} IS NULL AND :unowned = 1) OR ({column} IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM process_heartbeats h
        WHERE h.owner = {column} AND h.beat_at >= {db_now_ms(dialect)} - :stale_ms)))"""


def orphan_params(*, unowned: bool, stale_ms: int = STALE_AFTER_MS) -> dict[str, int]:
    return {"unowned": int(unowned), "stale_ms": stale_ms}


@dataclass(frozen=True, slots=True)
class ProcessOwner:
    """One run of one process."""

    id: str
    host: str
    pid: int
    shard_ids: tuple[int, ...] | None = None  # None: every shard the process runs

    @classmethod
    def new(cls, shard_ids: Sequence[int] | None = None) -> ProcessOwner:
        shards = None if shard_ids is None else tuple(shard_ids)
        return cls(uuid.uuid4().hex, socket.gethostname(), os.getpid(), shards)

    def describe(self) -> str:
        shards = "all" if self.shard_ids is None else ",".join(map(str, self.shard_ids))
        return f"{self.id[:12]} (pid {self.pid} on {self.host}, shards {shards})"


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A row of `process_heartbeats`."""

    owner: str
    host: str
    pid: int
    shard_ids: str | None
    started_at_ms: int
    beat_at_ms: int


class Heartbeats:
    """The heartbeat of one owner (`running` keeps it beating in the background)."""

    def __init__(self, db: Database, owner: ProcessOwner) -> None:
        self._db = db
        self.owner = owner
        now = db_now_ms(db.dialect)
        self._register = f"""
            INSERT INTO process_heartbeats (owner, host, pid, shard_ids, started_at, beat_at)
            VALUES (?, ?, ?, ?, ?, {now})
            ON CONFLICT (owner) DO UPDATE SET beat_at = excluded.beat_at
        """
        self._beat = f"UPDATE process_heartbeats SET beat_at = {now} WHERE owner = ?"
        shards = None if owner.shard_ids is None else ",".join(map(str, owner.shard_ids))
        self._row = (owner.id, owner.host, owner.pid, shards, now_ms())
        self._revived: list[Callable[[], Awaitable[object]]] = []

    async def register(self) -> None:
        def work(conn: SyncConn) -> None:
            conn.execute(self._register, self._row)

        await self._db.run_in_transaction(work, single_statement=True)

    async def beat(self) -> bool:
        """One beat; False when the row was gone (this run was taken for dead, e.g. the
        process was paused past the stale threshold) and had to be registered again."""

        def work(conn: SyncConn) -> bool:
            if conn.execute(self._beat, (self.owner.id,)).rowcount:
                return True
            conn.execute(self._register, self._row)
            return False

        return await self._db.run_in_transaction(work)

    _SET_SHARDS = "UPDATE process_heartbeats SET shard_ids = ? WHERE owner = ?"
    _OTHERS = "SELECT owner, shard_ids FROM process_heartbeats WHERE owner <> ?"
    _RETIRE = "DELETE FROM process_heartbeats WHERE owner = ?"

    async def take_over(self, shard_ids: Sequence[int]) -> list[str]:
        """This run now holds the claims of `shard_ids` (`bot.sharding`): record them, and
        retire every other owner that ran one of them, returning their ids.

        A shard's claim is held by one live process among all those on the database (file
        locks beside the SQLite file; advisory locks on PostgreSQL), so such an owner is
        this process's earlier self, or another run that died holding the shard: its
        heartbeat row goes at once, which makes its answers and holds orphaned without
        waiting out `STALE_AFTER_MS`. A process restarted after a crash recovers at start."""
        mine = {int(i) for i in shard_ids}
        listed = ",".join(map(str, sorted(mine)))
        me = self.owner

        def work(conn: SyncConn) -> list[str]:
            conn.execute(self._SET_SHARDS, (listed, me.id))
            retired = []
            for owner, shards in conn.execute(self._OTHERS, (me.id,)).fetchall():
                ran = {int(i) for i in shards.split(",") if i} if shards else set()
                if ran & mine:
                    conn.execute(self._RETIRE, (owner,))
                    retired.append(str(owner))
            return retired

        retired = await self._db.run_in_transaction(work)
        if retired:
            log.info(
                "took over shard%s %s from %d earlier run%s",
                "s" if len(mine) > 1 else "",
                listed,
                len(retired),
                "s" if len(retired) > 1 else "",
            )
        return retired

    async def live(self) -> list[Heartbeat]:
        """The owners alive now (this one included), oldest first."""
        sql = f"{_HEARTBEATS_WHERE} beat_at >= {db_now_ms(self._db.dialect)} - ? {_OLDEST_FIRST}"
        async with self._db.reading() as conn:
            rows = await conn.execute_fetchall(sql, (STALE_AFTER_MS,))
        return [Heartbeat(*row) for row in rows]

    async def deregister(self) -> None:
        async with self._db.transaction() as conn:
            await conn.execute("DELETE FROM process_heartbeats WHERE owner = ?", (self.owner.id,))

    @classmethod
    @asynccontextmanager
    async def running(
        cls, db: Database, owner: ProcessOwner, *, every_s: float = BEAT_EVERY_S
    ) -> AsyncIterator[Heartbeats]:
        """Registered and beating every `every_s` inside the block; deregistered after it."""
        heartbeats = cls(db, owner)
        await heartbeats.register()
        log.info("this process is owner %s", owner.describe())
        task = asyncio.create_task(heartbeats._beat_forever(every_s), name="heartbeat")
        try:
            yield heartbeats
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            try:
                await heartbeats.deregister()
            except DatabaseUnavailableError:
                log.warning("could not deregister owner %s: PostgreSQL is gone", owner.id[:12])
            except Exception:
                # Siblings take the row for stale soon enough; nothing is lost.
                log.warning("could not deregister owner %s", owner.id[:12], exc_info=True)

    def on_revived(self, listener: Callable[[], Awaitable[object]]) -> None:
        """Await `listener` whenever a beat finds this run had been taken for dead."""
        self._revived.append(listener)

    async def beat_and_revive(self) -> None:
        """One beat; if this run had been taken for dead, say so and tell the listeners."""
        if await self.beat():
            return
        log.warning(
            "this process's heartbeat had been taken for dead (paused for more than %d s?); "
            "answers and holds it had may have been recovered by another process; "
            "registered again",
            STALE_AFTER_MS // 1000,
        )
        for listener in self._revived:
            try:
                await listener()
            except Exception:
                log.warning("restoring after being taken for dead failed", exc_info=True)

    async def _beat_forever(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.beat_and_revive()
            except DatabaseUnavailableError:
                pass  # the reconnecting says so, once per attempt
            except Exception:
                log.warning("heartbeat failed; trying again", exc_info=True)


_HEARTBEATS_WHERE = (
    "SELECT owner, host, pid, shard_ids, started_at, beat_at FROM process_heartbeats WHERE"
)
_OLDEST_FIRST = "ORDER BY started_at, owner"
_HEARTBEATS = f"{_HEARTBEATS_WHERE} 1 = 1 {_OLDEST_FIRST}"


async def heartbeats(db: Database) -> list[Heartbeat]:
    """Every registered owner, oldest first (live or not)."""
    async with db.reading() as conn:
        rows = await conn.execute_fetchall(_HEARTBEATS)
    return [Heartbeat(*row) for row in rows]


async def forget_dead(db: Database, *, stale_ms: int = STALE_AFTER_MS) -> int:
    """Delete the heartbeat rows of dead owners (a crashed run never deregisters). Their
    answers and holds stay orphaned: an owner without a row is as dead as a stale one."""
    sql = f"DELETE FROM process_heartbeats WHERE beat_at < {db_now_ms(db.dialect)} - ?"
    async with db.transaction() as conn:
        return (await conn.execute(sql, (stale_ms,))).rowcount
