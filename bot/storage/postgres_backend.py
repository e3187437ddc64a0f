"""PostgreSQL under `Database`: SQLAlchemy's async engine over psycopg 3, a pool of
connections (each transaction or read takes its own, so tasks and processes run side by
side; PostgreSQL's locks, not ours, order their writes), the `schema_version` migrations
and backups with `pg_dump`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import psycopg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from bot.errors import ConfigurationError, first_line
from bot.storage.outage import Outage
from bot.storage.postgres_url import (
    DatabaseUnreachableError,
    redacted,
    sqlalchemy_url,
)
from bot.storage.schema import Migration, MigrationError, refuse_newer
from bot.storage.sql import DriverConn, SyncConn

T = TypeVar("T")

log = logging.getLogger(__name__)

# Concurrent answers each hold a connection only for a statement or a short transaction, and
# wait their turn when all are busy. The pool keeps every connection it opens: connections
# opened for a burst beyond a pool's size and closed after it (an overflow) cost the server a
# new backend process each, and each new backend plans the budget functions afresh; under
# the budget benchmark's 25 concurrent calls per process that churn took more of the
# server's CPU than the calls themselves.
POOL_SIZE = 20
# A connection idle for longer than this is pinged before it is handed out, so one the
# server dropped meanwhile (a restart, a failover, an idle timeout) is replaced before a
# statement is sent on it. One in steady use isn't: a ping per checkout doubled the round
# trips of the calls around every model call. If the server goes away between two uses a
# moment apart, the next statement fails as a lost connection and the whole pool is replaced.
PING_IDLE_S = 1.0
# Two processes starting at once must not both apply a migration: the first holds this
# transaction-scoped lock while it migrates, the second waits and then finds nothing to do.
_MIGRATION_LOCK = 0x5B_0A_12_01


# A server that stopped answering (no RST: a dead host, a black-holed route) would otherwise
# hold a connection attempt for the system's TCP timeout, minutes.
CONNECT_TIMEOUT_S = 10
# SQLSTATEs of a server going away: class 08 (connection exception), and the server shutting
# down or restarting (admin_shutdown, crash_shutdown, cannot_connect_now).
_GONE_STATES = ("57P01", "57P02", "57P03")


def lost_connection(exc: BaseException) -> str | None:
    """Why the server can't be reached, when `exc` says so (one line, no secrets); None for
    every other error (a constraint, a serialization failure, a bug)."""
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    invalidated = isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated
    if isinstance(orig, psycopg.OperationalError):
        state = orig.sqlstate
        gone = state is None or state.startswith("08") or state in _GONE_STATES
    else:
        gone = isinstance(orig, OSError)
    if not (gone or invalidated):
        return None
    return first_line(orig or exc)


class PostgresBackend:
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = redacted(url)
        self._engine: AsyncEngine | None = None
        self.outage = Outage(
            self.where, self._probe, lambda exc: lost_connection(exc) or first_line(exc)
        )

    @property
    def engine(self) -> AsyncEngine:
        assert self._engine is not None, "the database is not open"
        return self._engine

    async def open(self, plan: Sequence[Migration]) -> None:
        self._engine = create_async_engine(
            sqlalchemy_url(self.url),
            pool_size=POOL_SIZE,
            max_overflow=0,
            connect_args=_connect_args(self.url),
        )
        _ping_when_idle(self._engine)
        try:
            async with self._engine.connect() as conn:
                await conn.run_sync(_migrate, self.where, plan)
        except BaseException as exc:
            await self._engine.dispose()
            if not isinstance(exc, OSError | sa.exc.OperationalError | sa.exc.InterfaceError):
                raise
            reason = first_line(getattr(exc, "orig", None) or exc)
            raise DatabaseUnreachableError(
                [f"can't reach PostgreSQL at {self.where}: {reason}"]
            ) from exc

    async def close(self) -> None:
        if self._engine is not None:
            await self.outage.close()
            await self._engine.dispose()

    async def _probe(self) -> None:
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def run_autocommit(self, work: Callable[[SyncConn], T]) -> T:
        """`work` with each statement its own transaction (one round trip for one).

        On the DBAPI connection under a pooled one, in one hop into SQLAlchemy's greenlet:
        through an `AsyncConnection` (its own hops to check out, to set autocommit, to run,
        to check in, and a result object per statement) the budget reserve and settle around
        every model call cost about twice the client CPU."""
        return await greenlet_spawn(self._autocommit, work)

    def _autocommit(self, work: Callable[[SyncConn], T]) -> T:
        engine = self.engine.sync_engine
        pooled = engine.raw_connection()
        dbapi = pooled.dbapi_connection
        assert dbapi is not None, "a checked-out connection has its DBAPI connection"
        try:
            dbapi.autocommit = True
            result = work(DriverConn(dbapi, engine.dialect))
            dbapi.autocommit = False
        except sa.exc.DBAPIError as exc:
            if exc.connection_invalidated:
                # As SQLAlchemy's own connections do: the server is gone, so every pooled
                # connection older than now is replaced at its next checkout.
                engine.pool._invalidate(pooled, exc)
            else:
                dbapi.autocommit = False
            raise
        except BaseException:
            # Cancelled mid-statement, or a bug: the connection's state is unknown.
            pooled.invalidate()
            raise
        finally:
            pooled.close()
        return result

    async def run_transaction(self, work: Callable[[Connection], T]) -> T:
        async with self.engine.begin() as conn:
            return await conn.run_sync(work)

    def connect(self) -> AsyncConnection:
        return self.engine.connect()

    async def backup(self, dest: Path) -> None:
        """`pg_dump` in its custom format (restore with `pg_restore`), replaced atomically."""
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise ConfigurationError(
                [
                    "pg_dump was not found: install the PostgreSQL client tools "
                    "(e.g. apt-get install postgresql-client) to back up a PostgreSQL database"
                ]
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        parsed = make_url(self.url)
        env = dict(os.environ)
        if parsed.password:
            env["PGPASSWORD"] = str(parsed.password)  # not on the command line: ps shows that
        plain = parsed.set(drivername="postgresql", password=None)
        process = await asyncio.create_subprocess_exec(
            pg_dump, "--format=custom", f"--file={partial}",
            plain.render_as_string(hide_password=False),
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await process.communicate()
        if process.returncode != 0:
            partial.unlink(missing_ok=True)
            reason = stderr.decode("utf-8", "replace").strip() or f"exit {process.returncode}"
            raise ConfigurationError([f"pg_dump failed: {reason}"])
        os.replace(partial, dest)


def _connect_args(url: str) -> dict[str, object]:
    """CONNECT_TIMEOUT_S unless the URL sets its own connect_timeout."""
    if "connect_timeout" in make_url(url).query:
        return {}
    return {"connect_timeout": CONNECT_TIMEOUT_S}


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Ping a pooled connection at checkout when it sat idle for over PING_IDLE_S."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    def checked_in(dbapi: DBAPIConnection, entry: ConnectionPoolEntry) -> None:
        entry.info["idle_since"] = time.monotonic()

    def checked_out(
        dbapi: DBAPIConnection, entry: ConnectionPoolEntry, _: PoolProxiedConnection
    ) -> None:
        since = entry.info.pop("idle_since", None)
        if since is None or time.monotonic() - since <= PING_IDLE_S:
            return  # fresh, or in use a moment ago
        try:
            dialect.do_ping(dbapi)
        except dialect.loaded_dbapi.Error as exc:
            if not dialect.is_disconnect(exc, dbapi, None):
                raise
            # The pool replaces this connection and every one older than now, and retries.
            raise sa.exc.InvalidatePoolError() from exc

    event.listen(pool, "checkin", checked_in)
    event.listen(pool, "checkout", checked_out)


_VERSION_TABLE = """
    CREATE TABLE IF NOT EXISTS schema_version (
        only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
        version  INTEGER NOT NULL
    )
"""


def _migrate(conn: Connection, where: str, plan: Sequence[Migration]) -> None:
    """Each pending migration with its version number in a transaction of its own:
    PostgreSQL's DDL is transactional, so a failed or interrupted migration leaves nothing
    behind and the database stays at the last version that applied cleanly."""
    raw = conn.exec_driver_sql
    while True:
        with conn.begin():
            raw(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            raw(_VERSION_TABLE)
            row = raw("SELECT version FROM schema_version").first()
            current = 0 if row is None else int(row[0])
            refuse_newer(where, current, len(plan))
            pending = [m for m in plan if m.version > current]
            if not pending:
                return
            migration = pending[0]
            log.info("database %s: applying migration %s", where, migration.name)
            try:
                raw(migration.sql)
                raw(
                    "INSERT INTO schema_version (version) VALUES (%(v)s)"
                    " ON CONFLICT (only_row) DO UPDATE SET version = excluded.version",
                    {"v": migration.version},
                )
            except sa.exc.DBAPIError as exc:
                raise MigrationError([f"migration {migration.name} failed: {exc.orig}"]) from exc


async def version_of(conn: AsyncConnection) -> int:
    row = (await conn.exec_driver_sql("SELECT version FROM schema_version")).first()
    return 0 if row is None else int(row[0])
