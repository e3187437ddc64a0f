"""SQLite under `Database`: one connection on one thread of its own, WAL, pragmas, the
`user_version` migrations, waiting out another process's write lock, and online backup.

Every statement runs on the connection's thread, in the order it was queued (a FIFO of one
worker), and a queued statement runs even when its caller was cancelled meanwhile: a
ROLLBACK queued by a cancelled transaction still runs before the next holder's BEGIN.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.storage.schema import Migration, MigrationError, refuse_newer

T = TypeVar("T")

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5_000
# Another process holding the write lock longer than the busy timeout (a backup tool, a
# `sqlite3` shell) makes writes wait and try again, this long at most: bookkeeping (steps,
# the ledger, budget settlement) must not fail because somebody looked at the file.
LOCK_WAIT_MAX_S = 600.0
_LOCK_RETRY_MAX_S = 2.0


class SqliteBackend:
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="switchboard-sqlite")
        self._engine: sa.Engine | None = None
        self._conn: Connection | None = None

    @property
    def where(self) -> str:
        return str(self.path)

    @property
    def sa_conn(self) -> Connection:
        assert self._conn is not None, "the database is not open"
        return self._conn

    @property
    def raw(self) -> sqlite3.Connection:
        raw: Any = self.sa_conn.connection.dbapi_connection
        return cast(sqlite3.Connection, raw)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the connection's thread; it runs even if we are cancelled."""
        future = self._thread.submit(fn, *args)
        return await asyncio.shield(asyncio.wrap_future(future))

    async def call_on_conn(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn` with the SQLAlchemy connection, on its thread."""
        return await self.call(fn, self.sa_conn)

    async def open(self, plan: Sequence[Migration]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await self.call(self._open, plan)

    def _open(self, plan: Sequence[Migration]) -> None:
        path = str(self.path)
        # isolation_level=None: the sqlite3 module must not issue its own implicit BEGINs;
        # every transaction here is explicit. SQLAlchemy is told the same (AUTOCOMMIT), so
        # it never commits or rolls back behind our back.
        self._engine = sa.create_engine(
            "sqlite://",
            creator=lambda: sqlite3.connect(path, isolation_level=None, check_same_thread=False),
            poolclass=sa.pool.StaticPool,
        )
        self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        raw = self.raw
        raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        refuse_newer(path, _user_version(raw), len(plan))
        mode = raw.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            log.warning("database %s: WAL unavailable, journal_mode is %s", path, mode)
        # NORMAL is durable to application crashes in WAL mode; only a power cut may lose
        # the last commits, never corrupt the file.
        raw.execute("PRAGMA synchronous = NORMAL")
        _migrate(raw, path, plan)
        raw.execute("PRAGMA foreign_keys = ON")

    async def close(self, *, optimize: bool) -> None:
        def close() -> None:
            if self._conn is not None:
                if optimize:
                    self.raw.execute("PRAGMA optimize")
                self._conn.close()
            if self._engine is not None:
                self._engine.dispose()

        try:
            await self.call(close)
        finally:
            self._thread.shutdown(wait=False)

    async def begin(self) -> None:
        """BEGIN IMMEDIATE; `sqlite3.OperationalError` when another process holds the lock."""
        await self.call(self.raw.execute, "BEGIN IMMEDIATE")

    async def commit(self) -> None:
        await self.call(self.raw.execute, "COMMIT")

    async def rollback(self) -> None:
        """Roll back whatever is open, even a BEGIN that is still queued.

        Statements run one after another on the connection's thread, in the order they were
        queued, and a statement is queued before its await can be cancelled. So if we were
        cancelled while our BEGIN waited for another process's lock, this ROLLBACK still runs
        right after that BEGIN, before the next holder's statements; checking
        `in_transaction` now would see "no transaction" and leave the late BEGIN open.
        """
        await self.call(_rollback, self.raw)

    async def in_transaction_once(self, work: Callable[[Connection], T]) -> T:
        """BEGIN IMMEDIATE, `work`, COMMIT in one trip to the thread; `BeginBusy` when the
        lock is held by another process (nothing was done)."""
        return await self.call(_in_transaction, self.sa_conn, self.raw, work)


class BeginBusy(Exception):
    """BEGIN IMMEDIATE found the database locked by another process: nothing was done."""

    def __init__(self, error: sqlite3.OperationalError) -> None:
        super().__init__(str(error))
        self.error = error


def busy(error: BaseException) -> bool:
    if not isinstance(error, sqlite3.OperationalError):
        return False
    return error.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or (
        "locked" in str(error)
    )


class LockWait:
    """Waiting out another process's write lock: backoff, a bound, and one log line."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._started: float | None = None
        self._delay = 0.05

    async def pause(self, error: BaseException) -> None:
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


def _rollback(raw: sqlite3.Connection) -> None:
    try:
        raw.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        if "no transaction is active" not in str(exc):
            raise


def _in_transaction(
    conn: Connection, raw: sqlite3.Connection, work: Callable[[Connection], T]
) -> T:
    try:
        raw.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        if busy(exc):
            raise BeginBusy(exc) from exc
        raise
    try:
        result = work(conn)
        raw.execute("COMMIT")
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise
    return result


def _user_version(raw: sqlite3.Connection) -> int:
    return int(raw.execute("PRAGMA user_version").fetchone()[0])


def _statements(script: str) -> list[str]:
    """The statements of a migration script, whole (a trigger's body keeps its `;`s): what
    `sqlite3.complete_statement` says ends one."""
    statements: list[str] = []
    pending = ""
    pieces = script.split(";")
    for n, piece in enumerate(pieces):
        pending += piece if n == len(pieces) - 1 else piece + ";"
        if sqlite3.complete_statement(pending):
            statements.append(pending)
            pending = ""
    if pending.strip():
        statements.append(pending)  # comments, or a last statement without `;`: SQLite judges
    return statements


def _migrate(raw: sqlite3.Connection, path: str, plan: Sequence[Migration]) -> None:
    if not [m for m in plan if m.version > _user_version(raw)]:
        return
    # Foreign keys off while migrating (the SQLite way to rebuild a table); each migration
    # is checked with foreign_key_check before it commits. The pragma is a no-op inside a
    # transaction, hence here.
    raw.execute("PRAGMA foreign_keys = OFF")
    for migration in plan:
        # Several processes may start at once on one file (shards, a rolling deploy): the
        # version is read again once BEGIN IMMEDIATE holds the write lock, so a migration
        # another process applied meanwhile is skipped, not run twice.
        raw.execute("BEGIN IMMEDIATE")
        try:
            if _user_version(raw) >= migration.version:
                raw.execute("COMMIT")
                continue
            log.info("database %s: applying migration %s", path, migration.name)
            for statement in _statements(migration.sql):
                raw.execute(statement)
            # user_version is part of the same transaction as the schema change.
            raw.execute(f"PRAGMA user_version = {migration.version}")
            broken = raw.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise MigrationError(
                    [f"migration {migration.name} leaves {len(broken)} foreign key violations"]
                )
            raw.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(raw)
            raise MigrationError([f"migration {migration.name} failed: {exc}"]) from exc
        except BaseException:
            _rollback(raw)
            raise


def prepare_backup(source: Path, dest: Path) -> tuple[Path, str]:
    """Check and prepare the paths of a backup; returns the temporary file and source URI."""
    if dest.resolve() == source.resolve():
        raise ValueError("a backup can't overwrite the live database")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    return partial, source.resolve().as_uri() + "?mode=ro"


def backup_file(source: Path, dest: Path) -> None:
    """A consistent copy of the file, from a separate read-only connection: in WAL mode it
    reads one committed snapshot while the bot keeps writing, never another task's
    uncommitted rows, and it doesn't stall the bot's connection."""
    partial, source_uri = prepare_backup(source, dest)
    try:
        with (
            _closing(sqlite3.connect(source_uri, uri=True)) as src,
            _closing(sqlite3.connect(partial)) as target,
        ):
            src.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            src.backup(target)
            # A backup should be one self-contained file, not a database plus a -wal.
            target.execute("PRAGMA journal_mode = DELETE")
        os.replace(partial, dest)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


class _closing:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> sqlite3.Connection:
        return self._conn

    def __exit__(self, *exc: object) -> None:
        self._conn.close()
