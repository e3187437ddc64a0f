"""Shard claims on PostgreSQL (DATABASE_URL): advisory locks held on a connection of the
process's own; a second claimer is refused with the holder named, released claims can be
taken again, and claims lost with their connection are claimed again once the server is
back (or the process is told another took them)."""

from __future__ import annotations

import asyncio
import logging
import os

import psycopg
import pytest

from bot.errors import ConfigurationError
from bot.sharding.claims import ShardTakenError
from bot.sharding.pg_claims import SHARD_LOCK, PgShardClaims
from tests.pg_server import ThrowawayPostgres
from tests.polling import wait_until
from tests.storage.test_postgres import closed_port


def _claimed(url: str, shard: int) -> bool:
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid = %s AND objid = %s AND objsubid = 2",
                (SHARD_LOCK, shard),
            ).fetchone()
    except psycopg.OperationalError:
        return False
    return row is not None and int(str(row[0])) == 1


def test_pg_claims_refuse_a_second_claimer_and_name_the_holder(postgres_url: str) -> None:
    first, second = PgShardClaims(postgres_url), PgShardClaims(postgres_url)
    try:
        first.claim([0, 1])
        with pytest.raises(ShardTakenError) as refused:
            second.claim([1, 2])
        line = refused.value.problems[0]
        assert line.startswith("shard 1 is already run by another live process (pid ")
        assert f"pid {os.getpid()} on " in line and "SHARD_IDS" in line
        # Refused as a whole: shard 2, free, was not kept either.
        assert second.held == []
        assert not _claimed(postgres_url, 2)
        with pytest.raises(ShardTakenError, match=r"^shards 0, 1 are already run by"):
            second.claim([0, 1])
    finally:
        first.release()
        second.release()


def test_pg_claims_released_on_close_can_be_claimed_again(postgres_url: str) -> None:
    first = PgShardClaims(postgres_url)
    first.claim([0])
    first.claim([0])  # already held: nothing changes
    assert first.held == [0] and _claimed(postgres_url, 0)
    first.release()
    assert not _claimed(postgres_url, 0)
    second = PgShardClaims(postgres_url)
    try:
        second.claim([0])
        assert second.held == [0]
    finally:
        second.release()
    first.claim([0])  # the same object claims again after its release
    first.release()


def test_pg_claims_unreachable_server_is_one_plain_line() -> None:
    url = f"postgresql://switchboard:hunter2@127.0.0.1:{closed_port()}/switchboard"
    with pytest.raises(ConfigurationError) as failed:
        PgShardClaims(url).claim([0])
    line = failed.value.problems[0]
    assert line.startswith("can't reach PostgreSQL at 127.0.0.1:")
    assert "hunter2" not in line


async def test_pg_claims_lost_with_the_connection_are_claimed_again(
    private_postgres: ThrowawayPostgres, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # Trust authentication ignores the password: it is there to be kept out of the logs.
    url = private_postgres.url().replace("postgres@", "postgres:hunter2@")
    holder = PgShardClaims(url, check_s=0.05, retry_first_s=0.05, retry_max_s=0.2)
    refusals: list[ShardTakenError] = []
    holder.claim([3])
    watch = asyncio.ensure_future(holder.watch(refusals.append))
    try:
        await asyncio.to_thread(private_postgres.pause)
        await wait_until(lambda: "still unreachable (attempt 1:" in caplog.text, within_s=20)
        await asyncio.to_thread(private_postgres.resume)
        await wait_until(lambda: _claimed(private_postgres.url(), 3), within_s=20)
        with pytest.raises(ShardTakenError):
            PgShardClaims(private_postgres.url()).claim([3])
        await wait_until(lambda: "shard claims 3 held again" in caplog.text, within_s=20)
    finally:
        watch.cancel()
        holder.release()
    assert refusals == []
    assert "lost the PostgreSQL connection that holds shard claims 3" in caplog.text
    assert "hunter2" not in caplog.text
    assert "Traceback" not in caplog.text


async def test_pg_claims_taken_by_another_during_an_outage_stop_the_process(
    private_postgres: ThrowawayPostgres,
) -> None:
    url = private_postgres.url()
    holder = PgShardClaims(url, check_s=0.05, retry_first_s=0.05)
    holder.claim([5])
    await asyncio.to_thread(private_postgres.pause)
    await asyncio.to_thread(private_postgres.resume)
    # A process started meanwhile got shard 5 before this one noticed its claim was gone.
    other = PgShardClaims(url)
    other.claim([5])
    refusals: list[ShardTakenError] = []
    try:
        await asyncio.wait_for(holder.watch(refusals.append), 20)
    finally:
        other.release()
        holder.release()
    assert len(refusals) == 1
    assert refusals[0].problems[0].startswith("shard 5 is already run by another live process")
