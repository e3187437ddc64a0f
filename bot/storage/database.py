"""The one owner of the database, SQLite file or PostgreSQL server: opening, migrations,
transactions, backup.

    async with Database.open(path_or_url) as db:
        async with db.transaction() as conn:   # BEGIN (IMMEDIATE on SQLite) … COMMIT
            await conn.execute(...)

A path (or no DATABASE_URL) is a SQLite file; a `postgresql://…` URL is PostgreSQL. Both
run the same statements through SQLAlchemy Core (`bot.storage.sql`); what differs is kept
to the migrations and the two backends (`sqlite_backend`, `postgres_backend`).

Repositories take the Database. Their methods accept `conn=` to join a transaction the caller
already holds (RoboDanny's MaybeAcquire idea); without it, writes open their own transaction
and reads their own connection. Inside a transaction, always pass `conn=`: a repository call
without it raises at once (on SQLite it would wait for itself forever; on PostgreSQL it would
run outside the transaction).

SQLite has one connection shared by every task, so transactions and reads take turns (an
asyncio lock); PostgreSQL gives each transaction or read a pooled connection of its own.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Self, TypeVar

from sqlalchemy.engine import Connection

from bot.errors import DatabaseUnavailableError
from bot.storage.outage import Outage
from bot.storage.postgres_url import DatabaseUnreachableError
from bot.storage.schema import (
    DatabaseTooNewError,
    Migration,
    MigrationError,
    check_migration_sequence,
    load_migrations,
)
from bot.storage.sql import Conn, SyncConn
from bot.storage.sqlite_backend import (
    BUSY_TIMEOUT_MS,
    LOCK_WAIT_MAX_S,
    BeginBusy,
    LockWait,
    SqliteBackend,
    backup_file,
    busy,
)

if TYPE_CHECKING:
    # Imported when a PostgreSQL URL is opened: a bot on SQLite never loads the driver.
    from bot.storage.postgres_backend import PostgresBackend

__all__ = [
    "BUSY_TIMEOUT_MS",
    "LOCK_WAIT_MAX_S",
    "Conn",
    "Database",
    "DatabaseTooNewError",
    "DatabaseUnavailableError",
    "DatabaseUnreachableError",
    "Migration",
    "MigrationError",
    "SyncConn",
    "check_migration_sequence",
    "is_postgresql_url",
    "load_migrations",
]

T = TypeVar("T")

log = logging.getLogger(__name__)

# The hold (a transaction or read) the current task is inside, if any. A context variable,
# so tasks started inside a transaction (gather, wait_for) count as inside it too.
_current_hold: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "switchboard_db_hold", default=None
)


def is_postgresql_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql:", "postgresql+"))


class Database:
    """Build it with `Database.open(path_or_url)`."""

    def __init__(self, backend: SqliteBackend | PostgresBackend) -> None:
        self._backend = backend
        self.dialect: str = backend.dialect
        # SQLite: every task shares one connection, and a SQLite transaction belongs to the
        # connection, not to a task. Without the lock, task B's statements would run inside
        # task A's open BEGIN … COMMIT (and be committed or rolled back with it). Reads take
        # the lock too, so they never see another task's uncommitted rows.
        self._lock = asyncio.Lock()
        # A fresh token per transaction or read; the holder's context carries it. Comparing
        # the two tells "inside a current hold" apart from a stale context of an older one.
        self._holds: set[object] = set()

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    @property
    def outage(self) -> Outage | None:
        """PostgreSQL's reachability and the writes waiting for it (None on SQLite, a file
        that can't go away mid-run)."""
        backend = self._backend
        return None if isinstance(backend, SqliteBackend) else backend.outage

    @property
    def path(self) -> Path:
        """The SQLite file (SQLite only)."""
        if not isinstance(self._backend, SqliteBackend):
            raise AttributeError("a PostgreSQL database has no file path")
        return self._backend.path

    @property
    def where(self) -> str:
        """The file, or the server URL without its password: for messages and logs."""
        return self._backend.where

    @classmethod
    @asynccontextmanager
    async def open(
        cls, target: Path | str, *, migrations: Sequence[Migration] | None = None
    ) -> AsyncIterator[Self]:
        """Open (creating a SQLite file and its folder), configure and migrate; close on
        exit. `target` is a SQLite path or a `postgresql://` URL."""
        backend: SqliteBackend | PostgresBackend
        if is_postgresql_url(target):
            from bot.storage.postgres_backend import PostgresBackend

            backend = PostgresBackend(str(target))
            plan = load_migrations("postgresql") if migrations is None else list(migrations)
        else:
            backend = SqliteBackend(Path(target))
            plan = load_migrations("sqlite") if migrations is None else list(migrations)
        check_migration_sequence(plan)
        try:
            await backend.open(plan)
        except BaseException:
            if isinstance(backend, SqliteBackend):
                await backend.close(optimize=False)
            raise
        db = cls(backend)
        clean = False
        try:
            yield db
            clean = True
        finally:
            if isinstance(backend, SqliteBackend):
                if clean:
                    async with db._locked():
                        await backend.close(optimize=True)
                else:
                    await backend.close(optimize=False)
            else:
                await backend.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """BEGIN … COMMIT, or ROLLBACK if the block raises (cancellation included).

        On SQLite, BEGIN IMMEDIATE takes the write lock up front, so a transaction never
        fails half-way on a read-to-write lock upgrade. Do not nest: to call a repository
        inside the block, pass it the yielded connection as `conn=`.
        """
        backend = self._backend
        if not isinstance(backend, SqliteBackend):
            async with (
                self._held() as hold,
                _noticing_outage(backend),
                backend.connect() as ac,
                ac.begin(),
            ):
                yield Conn(ac.run_sync, "postgresql", hold, writable=True)
            return
        waiting = LockWait(backend.path)
        while True:
            async with self._locked() as hold:
                try:
                    await backend.begin()
                except BaseException as exc:
                    await backend.rollback()
                    if not busy(exc):
                        raise
                    locked = exc
                else:
                    try:
                        yield Conn(backend.call_on_conn, "sqlite", hold, writable=True)
                        await backend.commit()
                    except BaseException:
                        await backend.rollback()
                        raise
                    waiting.done()
                    return
            # Out of our own lock while we wait: reads of this process go on meanwhile.
            await waiting.pause(locked)

    async def run_in_transaction(
        self, work: Callable[[SyncConn], T], *, single_statement: bool = False
    ) -> T:
        """Run synchronous `work` inside one transaction, in one trip.

        `transaction()` sends BEGIN, each statement and COMMIT as separate trips (to the
        SQLite connection's thread, or to the PostgreSQL server), which dominates short hot
        transactions such as the budget reserve/settle around every LLM call. The work is
        synchronous, so a cancelled caller can't leave the transaction half-done.

        `single_statement`: `work` runs one statement, which on PostgreSQL is then its own
        transaction (no BEGIN and COMMIT round trips; its locks end with the statement).
        """

        def run(conn: Connection) -> T:
            return work(SyncConn(conn))

        backend = self._backend
        if not isinstance(backend, SqliteBackend):
            async with self._held(), _noticing_outage(backend):
                if single_statement:
                    return await backend.run_autocommit(work)
                return await backend.run_transaction(run)
        waiting = LockWait(backend.path)
        while True:
            async with self._locked():
                try:
                    result = await backend.in_transaction_once(run)
                except BeginBusy as exc:
                    locked = exc.error
                else:
                    waiting.done()
                    return result
            await waiting.pause(locked)

    @asynccontextmanager
    async def maybe_transaction(self, conn: Conn | None = None) -> AsyncIterator[Conn]:
        """Join the caller's transaction when `conn` is given, else run a new one.

        Joining takes no lock: the caller already holds it, and waiting for it would deadlock.
        """
        if conn is None:
            async with self.transaction() as own:
                yield own
            return
        self._check_joinable(conn)
        if not conn.writable:
            raise RuntimeError("conn= comes from reading(); writes need db.transaction()")
        yield conn

    @asynccontextmanager
    async def reading(self, conn: Conn | None = None) -> AsyncIterator[Conn]:
        """A connection for reads: the caller's `conn` if given, else one of our own."""
        if conn is not None:
            self._check_joinable(conn)
            yield conn
            return
        backend = self._backend
        if not isinstance(backend, SqliteBackend):
            async with self._held() as hold, _noticing_outage(backend), backend.connect() as ac:
                yield Conn(ac.run_sync, "postgresql", hold, writable=False)
            return
        async with self._locked() as hold:
            yield Conn(backend.call_on_conn, "sqlite", hold, writable=False)

    async def backup(self, dest_path: Path | str) -> None:
        """Write a consistent copy of the database to `dest_path` (replaced atomically): a
        SQLite file, or a `pg_dump` archive (custom format, for `pg_restore`)."""
        dest = Path(dest_path)
        backend = self._backend
        if not isinstance(backend, SqliteBackend):
            await backend.backup(dest)
        else:
            await asyncio.to_thread(backup_file, backend.path, dest)
        log.info("database backed up to %s", dest)

    async def schema_version(self) -> int:
        """The version of the last migration applied."""
        if not isinstance(self._backend, SqliteBackend):
            async with self.reading() as conn:
                return int(await conn.scalar("SELECT version FROM schema_version"))
        async with self.reading() as conn:
            return int(await conn.scalar("PRAGMA user_version"))

    async def size_bytes(self) -> int:
        """What the database takes on disk: the SQLite file with its write-ahead log, or
        PostgreSQL's size of the database."""
        backend = self._backend
        if not isinstance(backend, SqliteBackend):
            async with self.reading() as conn:
                return int(await conn.scalar("SELECT pg_database_size(current_database())"))
        return await asyncio.to_thread(_file_size, backend.path)

    async def set_trace_callback(self, callback: Callable[[str], object] | None) -> None:
        """SQLite only: every statement the connection runs from now on (tests, benches)."""
        backend = self._backend
        if not isinstance(backend, SqliteBackend):
            raise NotImplementedError("statement traces are a SQLite feature")
        await backend.call(backend.raw.set_trace_callback, callback)

    @asynccontextmanager
    async def _held(self) -> AsyncIterator[object]:
        if self._holding():
            raise RuntimeError(
                "this task already holds the database (nested transaction or read without "
                "conn=); pass the transaction's connection as conn= to join it"
            )
        hold = object()
        self._holds.add(hold)
        reset = _current_hold.set(hold)
        try:
            yield hold
        finally:
            self._holds.discard(hold)
            _current_hold.reset(reset)

    @asynccontextmanager
    async def _locked(self) -> AsyncIterator[object]:
        if self._holding():
            # Waiting here would wait for ourselves forever.
            raise RuntimeError(
                "this task already holds the database (nested transaction or read without "
                "conn=); pass the transaction's connection as conn= to join it"
            )
        async with self._lock, self._held() as hold:
            yield hold

    def _holding(self) -> bool:
        return _current_hold.get() in self._holds

    def _check_joinable(self, conn: Conn) -> None:
        if not isinstance(conn, Conn) or conn.dialect != self.dialect:
            raise ValueError("conn= must be a connection yielded by this Database")
        if conn.hold not in self._holds or _current_hold.get() is not conn.hold:
            # A stale conn= would otherwise slip its statements into whichever task's
            # transaction happens to be open.
            raise RuntimeError("conn= was given outside the transaction that yielded it")


@asynccontextmanager
async def _noticing_outage(backend: PostgresBackend) -> AsyncIterator[None]:
    """A statement that failed because the server is gone becomes DatabaseUnavailableError
    (one plain line for members, no traceback in the log) and starts the reconnecting."""
    from bot.storage.postgres_backend import lost_connection  # loaded once PostgreSQL is open

    try:
        yield
    except Exception as exc:
        reason = lost_connection(exc)
        if reason is None:
            raise
        backend.outage.lost(reason)
        raise DatabaseUnavailableError(detail=f"PostgreSQL at {backend.where}: {reason}") from exc


def _file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
