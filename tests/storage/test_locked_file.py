"""Another process holds the database's write lock longer than the busy timeout (a backup,
a `sqlite3` shell): writes wait and succeed when it is released, they do not fail."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.storage import sqlite_backend as database_module
from bot.storage.database import Database
from bot.storage.sql import SyncConn


@contextmanager
def locked_by_another_process(path: Path, seconds: float) -> Iterator[threading.Event]:
    """Hold an exclusive write lock on `path` from a separate connection for `seconds`."""
    taken = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN EXCLUSIVE")
            taken.set()
            threading.Event().wait(seconds)
            other.execute("COMMIT")
        finally:
            other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        yield taken
    finally:
        thread.join()


@pytest.fixture(autouse=True)
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # The lock is held for longer than SQLite's own busy wait, as in the real failure.
    monkeypatch.setattr(database_module, "BUSY_TIMEOUT_MS", 100)


async def test_locked_file_transaction_waits_and_commits(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    async with Database.open(path) as db:
        with locked_by_another_process(path, 1.0) as taken:
            await asyncio.to_thread(taken.wait)
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO model_prices (model, input_price, output_price, updated_at)"
                    " VALUES ('m', 1, 2, 0)"
                )
        async with db.reading() as conn:
            rows = await conn.execute_fetchall("SELECT model FROM model_prices")
    assert [r[0] for r in rows] == ["m"]


async def test_locked_file_run_in_transaction_waits_and_commits(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"

    def insert(conn: SyncConn) -> int:
        conn.execute(
            "INSERT INTO model_prices (model, input_price, output_price, updated_at)"
            " VALUES ('n', 1, 2, 0)"
        )
        return 7

    async with Database.open(path) as db:
        with locked_by_another_process(path, 1.0) as taken:
            await asyncio.to_thread(taken.wait)
            assert await db.run_in_transaction(insert) == 7
        async with db.reading() as conn:
            rows = await conn.execute_fetchall("SELECT model FROM model_prices")
    assert [r[0] for r in rows] == ["n"]


async def test_locked_file_gives_up_after_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_module, "LOCK_WAIT_MAX_S", 0.3)
    path = tmp_path / "locked.db"
    async with Database.open(path) as db:
        with locked_by_another_process(path, 1.5) as taken:
            await asyncio.to_thread(taken.wait)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                async with db.transaction():
                    pass
