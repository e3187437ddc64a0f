"""PostgreSQL lost mid-run, at the storage layer, on a throwaway server the test stops and
starts: statements fail with one plain error (not the driver's), the database reconnects
by itself with a log line per attempt, writes queued meanwhile run once it is back, and an
ordinary SQL error is not taken for an outage."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.errors import DatabaseUnavailableError
from bot.storage.database import Database
from bot.storage.outage import Outage
from bot.storage.sql import IntegrityError
from tests.pg_server import ThrowawayPostgres
from tests.polling import wait_until


def _fast(outage: Outage | None) -> Outage:
    assert outage is not None
    outage.retry_first_s, outage.retry_max_s = 0.05, 0.2
    return outage


async def test_postgres_outage_is_one_plain_error_and_reconnects_by_itself(
    private_postgres: ThrowawayPostgres, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    url = private_postgres.url(private_postgres.create_database())
    url = url.replace("postgres@", "postgres:hunter2@")
    async with Database.open(url) as db:
        outage = _fast(db.outage)
        written: list[int] = []

        async def late_write() -> None:
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO channel_settings (channel_id, updated_at) VALUES (7, 0)"
                )
            written.append(7)

        await asyncio.to_thread(private_postgres.pause)
        with pytest.raises(DatabaseUnavailableError) as failed:
            async with db.reading() as conn:
                await conn.scalar("SELECT 1")
        assert failed.value.user_message.startswith("The bot lost its connection to its database")
        assert outage.down and outage.count == 1
        # A second failure during the same outage starts nothing new.
        with pytest.raises(DatabaseUnavailableError):
            await late_write()
        assert outage.count == 1
        outage.redo("a test row", late_write)

        await wait_until(lambda: "still unreachable (attempt 2:" in caplog.text, within_s=30)
        await asyncio.to_thread(private_postgres.resume)
        await wait_until(lambda: written == [7], within_s=30)
        assert not outage.down and outage.waiting == 0
        async with db.reading() as conn:
            assert await conn.scalar("SELECT COUNT(*) FROM channel_settings") == 1

    log = caplog.text
    assert log.count("lost the connection to PostgreSQL at postgresql://postgres:***@") == 1
    assert "reachable again" in log
    assert "hunter2" not in log and "Traceback" not in log


async def test_postgres_connection_cut_inside_a_transaction_is_an_outage(
    private_postgres: ThrowawayPostgres,
) -> None:
    url = private_postgres.url(private_postgres.create_database())
    async with Database.open(url) as db:
        outage = _fast(db.outage)
        with pytest.raises(DatabaseUnavailableError):
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO channel_settings (channel_id, updated_at) VALUES (1, 0)"
                )
                await asyncio.to_thread(private_postgres.pause)
                await conn.execute(
                    "INSERT INTO channel_settings (channel_id, updated_at) VALUES (2, 0)"
                )
        assert outage.down
        await asyncio.to_thread(private_postgres.resume)
        await wait_until(lambda: not outage.down, within_s=30)
        async with db.reading() as conn:  # rolled back as a whole
            assert await conn.scalar("SELECT COUNT(*) FROM channel_settings") == 0


async def test_postgres_ordinary_sql_errors_are_not_an_outage(postgres_url: str) -> None:
    async with Database.open(postgres_url) as db:
        outage = db.outage
        assert outage is not None
        insert = "INSERT INTO channel_settings (channel_id, updated_at) VALUES (1, 0)"
        async with db.transaction() as conn:
            await conn.execute(insert)
        with pytest.raises(IntegrityError):
            async with db.transaction() as conn:
                await conn.execute(insert)
        with pytest.raises(Exception) as failed:
            async with db.reading() as conn:
                await conn.scalar("SELECT * FROM no_such_table")
        assert not isinstance(failed.value, DatabaseUnavailableError)
        assert not outage.down and outage.count == 0


async def test_sqlite_has_no_outage(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "switchboard.db") as db:
        assert db.outage is None
