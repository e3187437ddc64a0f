"""A migration interrupted halfway (the process killed while it runs) leaves nothing behind,
on both engines: each migration runs in one transaction with its version number, so the
database stays at the last version that applied cleanly and the next start applies the
interrupted one from the beginning."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from bot.storage.database import Database, Migration
from tests.fakes.bot_env import clean_env

GOOD = Migration(1, "0001_a.sql", "CREATE TABLE a (x INTEGER);")
FIXED = Migration(2, "0002_b.sql", "CREATE TABLE b (y INTEGER); INSERT INTO b VALUES (1);")
# The second migration's first half runs, then it stalls until the process is killed.
STALLS = {
    "sqlite": "CREATE TABLE b (y INTEGER); INSERT INTO b VALUES (1); SELECT stall();",
    # PostgreSQL notices its client is gone when the statement ends: short, so the next
    # start (waiting on the migration lock meanwhile) does not wait long.
    "postgresql": "CREATE TABLE b (y INTEGER); INSERT INTO b VALUES (1); SELECT pg_sleep(3);",
}

_CHILD = """
import asyncio, sqlite3, sys, time
from bot.storage.database import Database, Migration

connect = sqlite3.connect

def stall():
    print("stalled", flush=True)
    time.sleep(60)

def connect_with_stall(*args, **kwargs):
    conn = connect(*args, **kwargs)
    conn.create_function("stall", 0, stall)
    return conn

sqlite3.connect = connect_with_stall
plan = [Migration(1, "0001_a.sql", {good!r}), Migration(2, "0002_b.sql", {stall!r})]

async def main():
    async with Database.open({target!r}, migrations=plan):
        pass

asyncio.run(main())
"""


@pytest.fixture
def fresh_target(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database with no tables: a new SQLite file or an empty PostgreSQL database."""
    if engine == "sqlite":
        return str(tmp_path / "data" / "switchboard.db")
    return str(request.getfixturevalue("empty_postgres_url"))


def _wait_until_stalled(engine: str, target: str, child: subprocess.Popen[str]) -> None:
    if engine == "sqlite":
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "stalled"
        return
    deadline = time.monotonic() + 30
    with psycopg.connect(target, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT COUNT(*) FROM pg_stat_activity"
                " WHERE query LIKE '%pg_sleep(3)%' AND pid <> pg_backend_pid()"
            ).fetchone()
            if row is not None and int(str(row[0])) > 0:
                return
            assert child.poll() is None, "the migrating process ended early"
            assert time.monotonic() < deadline, "the migration never started"
            time.sleep(0.05)


async def _tables(db: Database) -> set[str]:
    query = (
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        if db.is_postgresql
        else "SELECT name FROM sqlite_master WHERE type = 'table'"
    )
    async with db.reading() as conn:
        return {str(row[0]) for row in await conn.execute_fetchall(query)}


def test_migration_killed_halfway_is_rolled_back(engine: str, fresh_target: str) -> None:
    script = textwrap.dedent(_CHILD).format(
        good=GOOD.sql, stall=STALLS[engine], target=fresh_target
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], env=clean_env(), stdout=subprocess.PIPE, text=True
    )
    try:
        _wait_until_stalled(engine, fresh_target, child)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.stdout is not None
        child.stdout.close()
    asyncio.run(_check_after_the_kill(fresh_target))


async def _check_after_the_kill(target: str) -> None:
    # The first migration stayed; nothing of the interrupted second one did.
    async with Database.open(target, migrations=[GOOD]) as db:
        assert await db.schema_version() == 1
        assert "b" not in await _tables(db)
    # The next start applies it from the beginning.
    async with Database.open(target, migrations=[GOOD, FIXED]) as db:
        assert await db.schema_version() == 2
        async with db.reading() as conn:
            assert [tuple(r) for r in await conn.execute_fetchall("SELECT y FROM b")] == [(1,)]


async def test_processes_starting_at_once_apply_each_migration_once(
    engine: str, fresh_target: str
) -> None:
    """Several processes opening a new database at the same moment (a rolling deploy, two
    shards): every one starts, and no migration runs twice (the second would insert its row
    again, or fail on a table that already exists)."""
    plan = [
        Migration(1, "0001_a.sql", "CREATE TABLE a (x INTEGER);"),
        Migration(2, "0002_row.sql", "INSERT INTO a VALUES (1);"),
    ]

    async def start() -> None:
        async with Database.open(fresh_target, migrations=plan):
            pass

    await asyncio.gather(*(start() for _ in range(8)))
    async with Database.open(fresh_target, migrations=plan) as db:
        assert await db.schema_version() == 2
        async with db.reading() as conn:
            assert await conn.scalar("SELECT COUNT(*) FROM a") == 1
