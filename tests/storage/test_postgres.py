"""What only PostgreSQL has: migrations in its version table (a failing one rolled back), the
server unreachable at start (one plain line, exit 2), backups with pg_dump."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import ConfigurationError
from bot.storage import postgres_backend
from bot.storage.database import (
    Database,
    DatabaseTooNewError,
    DatabaseUnreachableError,
    Migration,
    MigrationError,
    load_migrations,
)
from tests.billing.ledger_rows import LedgerReader

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_postgres_migrates_an_empty_database_and_records_the_version(
    empty_postgres_url: str,
) -> None:
    latest = len(load_migrations("postgresql"))
    async with Database.open(empty_postgres_url) as db:
        assert db.is_postgresql
        assert await db.schema_version() == latest
        assert await LedgerReader(db).count() == 0
    async with Database.open(empty_postgres_url) as db:  # nothing left to apply
        assert await db.schema_version() == latest


async def test_postgres_failed_migration_rolls_back_to_the_last_good_version(
    empty_postgres_url: str,
) -> None:
    good = Migration(1, "0001_a.sql", "CREATE TABLE a (x BIGINT);")
    bad = Migration(
        2, "0002_b.sql", "CREATE TABLE b (x BIGINT); INSERT INTO b VALUES (1); SELECT 1/0;"
    )
    with pytest.raises(MigrationError, match=r"0002_b\.sql"):
        async with Database.open(empty_postgres_url, migrations=[good, bad]):
            pass
    async with Database.open(empty_postgres_url, migrations=[good]) as db:
        assert await db.schema_version() == 1
        async with db.reading() as conn:
            tables = await conn.execute_fetchall(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        assert [t[0] for t in tables] == ["a", "schema_version"]  # nothing of b


async def test_postgres_newer_database_is_refused(empty_postgres_url: str) -> None:
    plan = [Migration(1, "0001_a.sql", "CREATE TABLE a (x BIGINT);")]
    async with Database.open(empty_postgres_url, migrations=plan):
        pass
    with pytest.raises(DatabaseTooNewError, match="version 1"):
        async with Database.open(empty_postgres_url, migrations=[]):
            pass


async def test_postgres_unreachable_is_one_plain_error() -> None:
    url = f"postgresql://bot:secret-pw@127.0.0.1:{closed_port()}/switchboard"
    with pytest.raises(DatabaseUnreachableError) as caught:
        async with Database.open(url):
            pass
    (line,) = caught.value.problems
    assert line.startswith("can't reach PostgreSQL at postgresql://bot:***@127.0.0.1:")
    assert "secret-pw" not in line


def test_postgres_unreachable_at_start_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DISCORD_TOKEN": "x" * 59,
        "LLM_MODEL": "m",
        "DATABASE_URL": f"postgresql://bot:secret-pw@127.0.0.1:{closed_port()}/switchboard",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "can't reach PostgreSQL" in lines[0], done.stderr
    assert "secret-pw" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
async def test_postgres_backup_writes_a_pg_dump_archive(postgres_url: str, tmp_path: Path) -> None:
    async with Database.open(postgres_url) as db:
        await db.backup(tmp_path / "backups" / "switchboard.dump")
    archive = tmp_path / "backups" / "switchboard.dump"
    assert archive.read_bytes()[:5] == b"PGDMP"
    assert not (tmp_path / "backups" / "switchboard.dump.partial").exists()


async def test_postgres_backup_without_pg_dump_says_what_to_install(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_backend.shutil, "which", lambda _: None)
    async with Database.open(postgres_url) as db:
        with pytest.raises(ConfigurationError, match="pg_dump was not found"):
            await db.backup(tmp_path / "x.dump")
    assert not (tmp_path / "x.dump").exists()
