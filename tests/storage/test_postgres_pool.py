"""PostgreSQL's connection pool: it keeps the connections it opens (no new server process per
burst), pings a connection only after it sat idle, and a statement of its own
(`run_in_transaction(single_statement=True)`, run on the driver's connection) that loses its
connection replaces the pool, or, cancelled, leaves no connection in an unknown state."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
import sqlalchemy as sa

from bot.errors import DatabaseUnavailableError
from bot.storage import postgres_backend
from bot.storage.database import Database
from bot.storage.sql import SyncConn

_PID = "SELECT pg_backend_pid() AS pid"


def _pid(conn: SyncConn) -> int:
    return int(conn.execute(_PID).scalar())


async def _statement_pid(db: Database) -> int:
    return await db.run_in_transaction(_pid, single_statement=True)


def _terminate_others(url: str) -> int:
    """End every other session on this database, as a server restart would."""
    with psycopg.connect(url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


async def test_pool_keeps_its_connections_through_bursts(postgres_url: str) -> None:
    async with Database.open(postgres_url) as db:

        async def burst() -> set[int]:
            async def one() -> int:
                await asyncio.sleep(0)
                return await _statement_pid(db)

            return set(await asyncio.gather(*(one() for _ in range(60))))

        first = await burst()
        second = await burst()

        # 60 at once share at most the pool's connections, and the second burst runs on
        # those same server processes (a pool that closes what it opened beyond its size
        # would start new ones for every burst).
        assert len(first) <= postgres_backend.POOL_SIZE
        assert second <= first


async def test_idle_connection_dropped_by_the_server_is_replaced_unseen(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_backend, "PING_IDLE_S", 0.0)  # every reuse counts as idle
    async with Database.open(postgres_url) as db:
        before = await _statement_pid(db)
        assert await asyncio.to_thread(_terminate_others, postgres_url) >= 1

        after = await _statement_pid(db)  # pinged at checkout, found dead, replaced

        assert after != before


async def test_connection_lost_in_steady_use_fails_once_then_the_pool_is_fresh(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_backend, "PING_IDLE_S", 3600.0)  # never pinged
    async with Database.open(postgres_url) as db:
        used = set(await asyncio.gather(*(_statement_pid(db) for _ in range(5))))
        await asyncio.to_thread(_terminate_others, postgres_url)

        with pytest.raises(DatabaseUnavailableError) as lost:
            await _statement_pid(db)
        cause = lost.value.__cause__
        assert isinstance(cause, sa.exc.DBAPIError) and cause.connection_invalidated
        assert isinstance(cause.orig, psycopg.OperationalError)

        # Every connection older than the failure was dropped with it: none fails again.
        again = await asyncio.gather(*(_statement_pid(db) for _ in range(5)))
        assert not used & set(again)


async def test_cancelled_statement_leaves_no_connection_behind(postgres_url: str) -> None:
    async with Database.open(postgres_url) as db:

        def sleep(conn: SyncConn) -> None:
            conn.execute("SELECT pg_sleep(30)")

        sleeper = asyncio.ensure_future(db.run_in_transaction(sleep, single_statement=True))
        await asyncio.sleep(0.3)
        sleeper.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sleeper

        # The next statements run, none of them on the cancelled statement's connection.
        for _ in range(3):
            assert await _statement_pid(db) > 0
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            sleeping = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'"
                " AND state = 'active'"
            ).fetchone()
        assert sleeping == (0,)
