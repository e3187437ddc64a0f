"""Database: opening, pragmas, migrations, transactions, backup — on real SQLite files."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.storage.database import (
    Database,
    DatabaseTooNewError,
    Migration,
    MigrationError,
    load_migrations,
)
from bot.storage.sql import Conn, IntegrityError
from bot.storage.sqlite_backend import _statements

LATEST = len(load_migrations())


def _user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {r[0] for r in rows}


async def _pragma(db: Database, name: str) -> object:
    async with db.reading() as conn, conn.execute(f"PRAGMA {name}") as cursor:
        row = cursor.fetchone()
    assert row is not None
    return row[0]


async def test_database_migrates_fresh_file_to_latest(db_path: Path) -> None:
    async with Database.open(db_path):
        pass
    assert _user_version(db_path) == LATEST >= 1
    assert {
        "conversations",
        "messages",
        "steps",
        "answer_discord_messages",
        "channel_settings",
        "channel_tools",
        "messages_fts",
    } <= _tables(db_path)


def test_database_migration_statements_are_split_whole() -> None:
    script = (
        "CREATE TABLE t (x TEXT);  -- a comment; with a semicolon\n"
        "CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN\n"
        "  UPDATE t SET x = 'a;b' WHERE rowid = new.rowid;\n"
        "END;\n"
        "INSERT INTO t VALUES ('c;d'); INSERT INTO t VALUES ('e')\n"
    )
    parts = [part.strip() for part in _statements(script)]
    assert parts[0] == "CREATE TABLE t (x TEXT);"
    assert parts[1].startswith("-- a comment; with a semicolon\nCREATE TRIGGER")
    assert parts[1].endswith("END;") and "'a;b'" in parts[1]
    assert parts[2:] == ["INSERT INTO t VALUES ('c;d');", "INSERT INTO t VALUES ('e')"]


async def test_database_reopen_is_idempotent(db_path: Path) -> None:
    async with Database.open(db_path) as db, db.transaction() as conn:
        await conn.execute("INSERT INTO channel_settings (channel_id, updated_at) VALUES (1, 0)")
    async with Database.open(db_path) as db, db.reading() as conn:
        rows = list(await conn.execute_fetchall("SELECT channel_id FROM channel_settings"))
    assert [r[0] for r in rows] == [1]
    assert _user_version(db_path) == LATEST


async def test_database_applies_only_pending_migrations(db_path: Path) -> None:
    first = [Migration(1, "0001_a.sql", "CREATE TABLE a (x INTEGER);")]
    second = [*first, Migration(2, "0002_b.sql", "CREATE TABLE b (y INTEGER);")]
    async with Database.open(db_path, migrations=first):
        pass
    assert _user_version(db_path) == 1
    async with Database.open(db_path, migrations=second):
        pass
    assert _user_version(db_path) == 2
    assert {"a", "b"} <= _tables(db_path)


async def test_database_failed_migration_rolls_back_to_previous_version(db_path: Path) -> None:
    good = Migration(1, "0001_a.sql", "CREATE TABLE a (x INTEGER);")
    bad = Migration(2, "0002_b.sql", "CREATE TABLE b (y INTEGER);\nINSERT INTO missing VALUES (1);")
    with pytest.raises(MigrationError, match=r"0002_b\.sql"):
        async with Database.open(db_path, migrations=[good, bad]):
            pass
    assert _user_version(db_path) == 1
    assert "b" not in _tables(db_path)


async def test_database_migration_breaking_foreign_keys_is_refused(db_path: Path) -> None:
    migration = Migration(
        1,
        "0001_fk.sql",
        "CREATE TABLE p (id INTEGER PRIMARY KEY);"
        "CREATE TABLE c (p_id INTEGER REFERENCES p (id));"
        "INSERT INTO c VALUES (7);",
    )
    with pytest.raises(MigrationError, match="foreign key"):
        async with Database.open(db_path, migrations=[migration]):
            pass
    assert _user_version(db_path) == 0


async def test_database_rejects_gaps_in_migration_numbers(db_path: Path) -> None:
    with pytest.raises(MigrationError, match="without gaps"):
        async with Database.open(db_path, migrations=[Migration(2, "0002_x.sql", "")]):
            pass


async def test_database_refuses_file_newer_than_code(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    with pytest.raises(DatabaseTooNewError, match=f"version {LATEST + 1}") as caught:
        async with Database.open(db_path):
            pass
    assert "newer Switchboard" in caught.value.problems[0]
    assert _user_version(db_path) == LATEST + 1
    assert _tables(db_path) == set()


@pytest.mark.sqlite_only
async def test_database_sets_wal_foreign_keys_and_busy_timeout(db: Database) -> None:
    assert await _pragma(db, "journal_mode") == "wal"
    assert await _pragma(db, "foreign_keys") == 1
    assert await _pragma(db, "synchronous") == 1  # NORMAL
    assert int(str(await _pragma(db, "busy_timeout"))) > 0


async def test_database_enforces_foreign_keys(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO messages (conversation_id, role, status, created_at)"
                " VALUES (999, 'user', 'complete', 0)"
            )


async def test_database_transaction_rolls_back_on_exception(db: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO channel_settings (channel_id, updated_at) VALUES (5, 0)"
            )
            raise RuntimeError("boom")
    async with db.reading() as conn:
        rows = list(await conn.execute_fetchall("SELECT * FROM channel_settings"))
    assert rows == []
    # The connection is usable again afterwards.
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO channel_settings (channel_id, updated_at) VALUES (5, 0)")


async def test_database_transaction_rolls_back_on_cancellation(db: Database) -> None:
    inside = asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO channel_settings (channel_id, updated_at) VALUES (6, 0)"
            )
            inside.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(writer())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.reading() as conn:
        assert list(await conn.execute_fetchall("SELECT * FROM channel_settings")) == []


@pytest.mark.sqlite_only
async def test_database_concurrent_transactions_do_not_interleave(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "CREATE TABLE journal (id INTEGER PRIMARY KEY, task INTEGER, step INTEGER)"
        )

    async def writer(task: int) -> None:
        for _ in range(3):
            async with db.transaction() as conn:
                for step in range(4):
                    await conn.execute(
                        "INSERT INTO journal (task, step) VALUES (?, ?)", (task, step)
                    )
                    await asyncio.sleep(0)  # let every other task try to get in

    await asyncio.gather(*(writer(task) for task in range(20)))
    async with db.reading() as conn:
        rows = [
            tuple(r)
            for r in await conn.execute_fetchall("SELECT task, step FROM journal ORDER BY id")
        ]
    assert len(rows) == 20 * 3 * 4
    for start in range(0, len(rows), 4):
        block = rows[start : start + 4]
        assert [step for _, step in block] == [0, 1, 2, 3]
        assert len({task for task, _ in block}) == 1


async def test_database_reads_do_not_see_other_tasks_uncommitted_rows(db: Database) -> None:
    inside = asyncio.Event()
    release = asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO channel_settings (channel_id, updated_at) VALUES (7, 0)"
            )
            inside.set()
            await release.wait()
            raise RuntimeError("changed my mind")

    task = asyncio.create_task(writer())
    await inside.wait()

    async def read() -> list[object]:
        async with db.reading() as conn:
            return list(await conn.execute_fetchall("SELECT * FROM channel_settings"))

    reader = asyncio.create_task(read())
    await asyncio.sleep(0.01)
    if db.is_postgresql:
        # Its own connection and snapshot: it reads at once, without the pending row.
        assert await reader == []
    else:
        assert not reader.done()  # waits for the writer instead of reading its pending row
    release.set()
    with pytest.raises(RuntimeError):
        await task
    assert await reader == []


async def test_database_nested_transaction_raises_instead_of_deadlocking(db: Database) -> None:
    async with db.transaction():
        with pytest.raises(RuntimeError, match="conn="):
            async with db.transaction():
                pass
        with pytest.raises(RuntimeError, match="conn="):
            async with db.reading():
                pass


async def test_database_maybe_transaction_joins_the_callers_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError, match="outer"):
        async with db.transaction() as outer:
            async with db.maybe_transaction(outer) as joined:
                assert joined is outer
                await joined.execute(
                    "INSERT INTO channel_settings (channel_id, updated_at) VALUES (8, 0)"
                )
            raise RuntimeError("outer fails after the inner write")
    async with db.reading() as conn:
        assert list(await conn.execute_fetchall("SELECT * FROM channel_settings")) == []


async def test_database_conn_outside_a_transaction_is_refused(db: Database) -> None:
    async with db.reading() as conn:
        pass
    with pytest.raises(RuntimeError, match="outside the transaction"):
        async with db.maybe_transaction(conn):
            pass
    async with db.reading() as conn:
        with pytest.raises(RuntimeError, match="writes need"):
            async with db.maybe_transaction(conn):
                pass


async def test_database_stale_conn_cannot_join_another_tasks_transaction(
    db: Database,
) -> None:
    async with db.transaction() as conn:
        pass
    stale = conn
    inside = asyncio.Event()
    release = asyncio.Event()

    async def other_task() -> None:
        async with db.transaction():
            inside.set()
            await release.wait()

    task = asyncio.create_task(other_task())
    await inside.wait()
    try:
        with pytest.raises(RuntimeError, match="outside the transaction"):
            async with db.maybe_transaction(stale):
                pass
    finally:
        release.set()
        await task


async def test_database_child_tasks_join_with_conn(db: Database) -> None:
    async def insert(conn: Conn, channel_id: int) -> None:
        async with db.maybe_transaction(conn) as joined:
            await joined.execute(
                "INSERT INTO channel_settings (channel_id, updated_at) VALUES (?, 0)",
                (channel_id,),
            )

    async def read_without_conn() -> None:
        async with db.reading():
            pass

    async with db.transaction() as conn:
        await asyncio.gather(insert(conn, 1), insert(conn, 2))
        with pytest.raises(RuntimeError, match="conn="):  # a child forgetting conn= fails fast
            await asyncio.wait_for(read_without_conn(), timeout=5)
    async with db.reading() as conn:
        rows = await conn.execute_fetchall("SELECT channel_id FROM channel_settings")
    assert sorted(r[0] for r in rows) == [1, 2]


@pytest.mark.sqlite_only
async def test_database_backup_refuses_to_overwrite_itself(db: Database) -> None:
    with pytest.raises(ValueError, match="live database"):
        await db.backup(db.path)


@pytest.mark.sqlite_only
async def test_database_backup_is_readable_while_a_writer_is_active(
    db: Database, tmp_path: Path
) -> None:
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE ticks (id INTEGER PRIMARY KEY, payload TEXT)")
        await conn.executemany("INSERT INTO ticks (payload) VALUES (?)", [("x" * 500,)] * 2000)
    warmed_up = asyncio.Event()
    backup_done = asyncio.Event()
    kept_going = asyncio.Event()
    written = 0

    async def writer() -> None:
        nonlocal written
        after_backup = 0
        while not kept_going.is_set():
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO ticks (payload) VALUES ('y')")
            written += 1
            if written >= 5:
                warmed_up.set()
            if backup_done.is_set():
                after_backup += 1
                if after_backup >= 5:
                    kept_going.set()
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    await warmed_up.wait()
    dest = tmp_path / "backups" / "copy.db"
    await db.backup(dest)
    backup_done.set()
    await task

    with sqlite3.connect(dest) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert int(copy.execute("PRAGMA user_version").fetchone()[0]) == LATEST
        count = copy.execute("SELECT count(*) FROM ticks").fetchone()[0]
    assert 2000 <= count < 2000 + written
    assert not dest.with_name("copy.db.partial").exists()


@pytest.mark.sqlite_only
async def test_database_cancelled_while_waiting_for_begin_leaves_no_transaction_open(
    db: Database,
) -> None:
    other_process = sqlite3.connect(db.path, isolation_level=None)
    try:
        other_process.execute("BEGIN IMMEDIATE")  # BEGIN IMMEDIATE of ours now waits (busy)
        entered = False

        async def writer() -> None:
            nonlocal entered
            async with db.transaction():
                entered = True

        task = asyncio.create_task(writer())
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.sleep(0.01)
        other_process.execute("ROLLBACK")  # now our late BEGIN goes through
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        other_process.close()
    assert not entered
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO channel_settings (channel_id, updated_at) VALUES (9, 0)")
    async with db.reading() as conn:
        assert len(list(await conn.execute_fetchall("SELECT * FROM channel_settings"))) == 1
