"""The one owner of the SQLite connection: opening, pragmas, migrations, transactions, backup.

    async with Database.open(path) as db:
        async with db.transaction() as conn:   # BEGIN IMMEDIATE … COMMIT / ROLLBACK
            await conn.execute(...)

Repositories take the Database. Their methods accept `conn=` to join a transaction the caller
already holds (RoboDanny's MaybeAcquire idea); without it, writes open their own transaction
and reads take the lock for their statements. Inside a transaction, always pass `conn=`: a
repository call without it raises at once (it would otherwise wait for itself forever).

Migrations are the files `bot/storage/migrations/NNNN_name.sql`, numbered from 0001 without
gaps. Each is applied in one transaction that also sets `PRAGMA user_version` to its number,
so a crash mid-migration leaves the previous version intact.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Self, TypeVar, cast

import aiosqlite

from bot.errors import ConfigurationError

T = TypeVar("T")

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5_000
# Another process holding the write lock longer than the busy timeout (a backup tool, a
# `sqlite3` shell) makes writes wait and try again, this long at most: bookkeeping (steps,
# the ledger, budget settlement) must not fail because somebody looked at the file.
LOCK_WAIT_MAX_S = 600.0
_LOCK_RETRY_MAX_S = 2.0
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

# The hold (see Database._locked) the current task is inside, if any. A context variable, so
# tasks started inside a transaction (gather, wait_for) count as inside it too.
_current_hold: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "switchboard_db_hold", default=None
)


class DatabaseTooNewError(ConfigurationError):
    """The file was migrated by a newer Switchboard than this one; refuse to touch it."""


class MigrationError(ConfigurationError):
    """A migration failed; the file stays at the last version that applied cleanly."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(package: str = "bot.storage", folder: str = "migrations") -> list[Migration]:
    """The numbered SQL files shipped in the package, in order; gaps and duplicates fail."""
    found: list[Migration] = []
    for entry in resources.files(package).joinpath(folder).iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    check_migration_sequence(found)
    return found


def check_migration_sequence(migrations: Sequence[Migration]) -> None:
    numbers = [m.version for m in migrations]
    if numbers != list(range(1, len(numbers) + 1)):
        raise MigrationError([f"migrations must be numbered 1, 2, 3, … without gaps: {numbers}"])


class Database:
    """Owns one aiosqlite connection; build it with `Database.open(path)`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        # Every task of the bot shares this one connection, and a SQLite transaction belongs to
        # the connection, not to a task. Without the lock, task B's statements would run inside
        # task A's open BEGIN … COMMIT (and be committed or rolled back with it), and B's own
        # BEGIN would fail with "cannot start a transaction within a transaction". Reads take
        # the lock too, so they never see another task's uncommitted rows.
        self._lock = asyncio.Lock()
        # A fresh token per lock acquisition; the holder's context carries it. Comparing the
        # two tells "inside the current hold" apart from a stale context of an older one.
        self._hold: object | None = None

    @classmethod
    @asynccontextmanager
    async def open(
        cls, path: Path | str, *, migrations: Sequence[Migration] | None = None
    ) -> AsyncIterator[Self]:
        """Open (creating folder and file), configure and migrate; close on exit."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        plan = load_migrations() if migrations is None else list(migrations)
        check_migration_sequence(plan)
        # isolation_level=None: the sqlite3 module must not issue its own implicit BEGINs;
        # every transaction here is explicit.
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await _refuse_newer(conn, path, len(plan))
            row = await _fetchone(conn, "PRAGMA journal_mode = WAL")
            if row[0] != "wal":
                log.warning("database %s: WAL unavailable, journal_mode is %s", path, row[0])
            # NORMAL is durable to application crashes in WAL mode; only a power cut may lose
            # the last commits, never corrupt the file.
            await conn.execute("PRAGMA synchronous = NORMAL")
            await _migrate(conn, path, plan)
            await conn.execute("PRAGMA foreign_keys = ON")
            db = cls(conn, path)
            yield db
            async with db._locked():
                await conn.execute("PRAGMA optimize")
        finally:
            await conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK if the block raises (cancellation included).

        IMMEDIATE takes the write lock up front, so a transaction never fails half-way on a
        read-to-write lock upgrade. Do not nest: to call a repository inside the block, pass
        it the yielded connection as `conn=`.
        """
        waiting = _LockWait(self.path)
        while True:
            async with self._locked():
                conn = self._conn
                try:
                    await conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    await _rollback(conn)
                    if not _busy(exc):
                        raise
                    locked = exc
                except BaseException:
                    await _rollback(conn)
                    raise
                else:
                    try:
                        yield conn
                        await conn.execute("COMMIT")
                    except BaseException:
                        await _rollback(conn)
                        raise
                    waiting.done()
                    return
            # Out of our own lock while we wait: reads of this process go on meanwhile.
            await waiting.pause(locked)

    async def run_in_transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run synchronous `work` inside BEGIN IMMEDIATE … COMMIT in one trip to the
        connection's thread.

        `transaction()` sends BEGIN, each statement and COMMIT as separate trips (~60 µs each
        on a small machine), which dominates short hot transactions such as the budget
        reserve/settle around every LLM call. The lock is held for the trip, so no other
        task's statements interleave, and the work is synchronous, so a cancelled caller can't
        leave the transaction half-done. aiosqlite has no public way to run a function on its
        thread; this is the one place that uses its `_execute`.
        """
        submit = cast(Callable[..., Awaitable[T]], self._conn._execute)
        waiting = _LockWait(self.path)
        while True:
            async with self._locked():
                try:
                    result = await submit(_in_transaction, self._conn._conn, work)
                except _BeginBusy as busy:
                    locked = busy.error
                else:
                    waiting.done()
                    return result
            await waiting.pause(locked)

    @asynccontextmanager
    async def maybe_transaction(
        self, conn: aiosqlite.Connection | None = None
    ) -> AsyncIterator[aiosqlite.Connection]:
        """Join the caller's transaction when `conn` is given, else run a new one.

        Joining takes no lock: the caller already holds it, and waiting for it would deadlock.
        """
        if conn is None:
            async with self.transaction() as own:
                yield own
            return
        self._check_joinable(conn)
        if not conn.in_transaction:
            raise RuntimeError("conn= comes from reading(); writes need db.transaction()")
        yield conn

    @asynccontextmanager
    async def reading(
        self, conn: aiosqlite.Connection | None = None
    ) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for reads: the caller's `conn` if given, else under the lock."""
        if conn is None:
            async with self._locked():
                yield self._conn
            return
        self._check_joinable(conn)
        yield conn

    async def backup(self, dest_path: Path | str) -> None:
        """Write a consistent copy of the database to `dest_path` (replaced atomically).

        Uses SQLite's online backup from a separate read-only connection: in WAL mode it reads
        one committed snapshot while the bot keeps writing, it never copies another task's
        uncommitted rows, and it doesn't stall the main connection's queue.
        """
        dest = Path(dest_path)
        partial, source_uri = await asyncio.to_thread(_prepare_backup, self.path, dest)
        try:
            async with (
                aiosqlite.connect(source_uri, uri=True) as source,
                aiosqlite.connect(partial) as target,
            ):
                await source.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                await source.backup(target)
                # A backup should be one self-contained file, not a database plus a -wal.
                await target.execute("PRAGMA journal_mode = DELETE")
            await asyncio.to_thread(os.replace, partial, dest)
        except BaseException:
            await asyncio.to_thread(partial.unlink, missing_ok=True)
            raise
        log.info("database backed up to %s", dest)

    @asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        if self._holding():
            # Waiting here would wait for ourselves forever.
            raise RuntimeError(
                "this task already holds the database (nested transaction or read without "
                "conn=); pass the transaction's connection as conn= to join it"
            )
        async with self._lock:
            hold = self._hold = object()
            reset = _current_hold.set(hold)
            try:
                yield
            finally:
                self._hold = None
                _current_hold.reset(reset)

    def _holding(self) -> bool:
        return self._hold is not None and _current_hold.get() is self._hold

    def _check_joinable(self, conn: aiosqlite.Connection) -> None:
        if conn is not self._conn:
            raise ValueError("conn= must be the connection yielded by this Database")
        if not self._holding():
            # Every conn= is the same connection object, so a stale one would otherwise slip
            # its statements into whichever task's transaction happens to be open.
            raise RuntimeError("conn= was given outside the transaction that yielded it")


def _prepare_backup(source: Path, dest: Path) -> tuple[Path, str]:
    """Check and prepare the paths of a backup; returns the temporary file and source URI."""
    if dest.resolve() == source.resolve():
        raise ValueError("a backup can't overwrite the live database")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    return partial, source.resolve().as_uri() + "?mode=ro"


async def _fetchone(conn: aiosqlite.Connection, sql: str) -> sqlite3.Row:
    async with conn.execute(sql) as cursor:
        row = await cursor.fetchone()
    assert row is not None, sql
    return row


async def _rollback(conn: aiosqlite.Connection) -> None:
    """Roll back whatever is open, even a BEGIN that is still queued.

    aiosqlite runs statements one after another on its worker thread, in the order they were
    queued, and a statement is queued before its await can be cancelled. So if we were
    cancelled while our BEGIN waited for another process's lock, this ROLLBACK still runs right
    after that BEGIN, before the next holder's statements; checking `in_transaction` now would
    see "no transaction" and leave the late BEGIN open for the next holder.
    """
    try:
        await conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        if "no transaction is active" not in str(exc):
            raise


async def _user_version(conn: aiosqlite.Connection) -> int:
    row = await _fetchone(conn, "PRAGMA user_version")
    return int(row[0])


async def _refuse_newer(conn: aiosqlite.Connection, path: Path, latest: int) -> None:
    version = await _user_version(conn)
    if version > latest:
        raise DatabaseTooNewError(
            [
                f"database {path} is at schema version {version}, but this Switchboard only "
                f"knows versions up to {latest}; run a newer Switchboard or restore a backup"
            ]
        )


async def _migrate(conn: aiosqlite.Connection, path: Path, plan: Sequence[Migration]) -> None:
    current = await _user_version(conn)
    pending = [m for m in plan if m.version > current]
    if not pending:
        return
    # Foreign keys off while migrating (the SQLite way to rebuild a table); each migration
    # is checked with foreign_key_check before it commits. The pragma is a no-op inside a
    # transaction, hence here.
    await conn.execute("PRAGMA foreign_keys = OFF")
    for migration in pending:
        log.info("database %s: applying migration %s", path, migration.name)
        try:
            # executescript() commits anything pending first, so BEGIN must be inside the
            # script; user_version is part of the same transaction as the schema change.
            await conn.executescript(
                f"BEGIN IMMEDIATE;\n{migration.sql}\n;\nPRAGMA user_version = {migration.version};"
            )
            async with conn.execute("PRAGMA foreign_key_check") as cursor:
                broken = list(await cursor.fetchall())
            if broken:
                raise MigrationError(
                    [f"migration {migration.name} leaves {len(broken)} foreign key violations"]
                )
            await conn.execute("COMMIT")
        except sqlite3.Error as exc:
            await _rollback(conn)
            raise MigrationError([f"migration {migration.name} failed: {exc}"]) from exc
        except BaseException:
            await _rollback(conn)
            raise


class _BeginBusy(Exception):
    """BEGIN IMMEDIATE found the database locked by another process: nothing was done."""

    def __init__(self, error: sqlite3.OperationalError) -> None:
        super().__init__(str(error))
        self.error = error


def _busy(error: sqlite3.OperationalError) -> bool:
    return error.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or (
        "locked" in str(error)
    )


class _LockWait:
    """Waiting out another process's write lock: backoff, a bound, and one log line."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._started: float | None = None
        self._delay = 0.05

    async def pause(self, error: sqlite3.OperationalError) -> None:
        now = asyncio.get_running_loop().time()
        if self._started is None:
            self._started = now
            log.warning(
                "database %s is locked by another process; writes wait (up to %.0f s)",
                self._path,
                LOCK_WAIT_MAX_S,
            )
        elif now - self._started > LOCK_WAIT_MAX_S:
            raise error
        await asyncio.sleep(self._delay)
        self._delay = min(self._delay * 2, _LOCK_RETRY_MAX_S)

    def done(self) -> None:
        if self._started is not None:
            waited = asyncio.get_running_loop().time() - self._started
            log.info(
                "database %s: the lock was released; writes go on (%.1f s)", self._path, waited
            )


def _in_transaction(raw: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    try:
        raw.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        if _busy(exc):
            raise _BeginBusy(exc) from exc
        raise
    try:
        result = work(raw)
        raw.execute("COMMIT")
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise
    return result
