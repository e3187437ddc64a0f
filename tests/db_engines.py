"""Both database engines for the tests (a pytest plugin, loaded by tests/conftest.py).

`database_target` is a fresh SQLite file path or an empty, migrated PostgreSQL database
URL, one test run per engine; build `Database.open(database_target)` from it. PostgreSQL runs on a
throwaway server started once per session (tests/pg_server.py); where PostgreSQL isn't
installed, the PostgreSQL runs skip with a one-line reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.storage.database import Database
from tests.pg_server import ThrowawayPostgres, empty_database, find_binaries, table_names

ENGINES = ["sqlite", "postgresql"]
_NO_POSTGRES = "PostgreSQL is not installed (no initdb/pg_ctl/postgres): PostgreSQL half skipped"


@contextmanager
def _throwaway_server() -> Iterator[ThrowawayPostgres]:
    """A started throwaway server, stopped at the end (also when it failed to start)."""
    binaries = find_binaries()
    if binaries is None:
        pytest.skip(_NO_POSTGRES)
    server = ThrowawayPostgres(binaries)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    with _throwaway_server() as server:
        yield server


@dataclass(frozen=True)
class _Migrated:
    url: str
    tables: set[str]


@pytest.fixture(scope="session")
def postgres_migrated(postgres_server: ThrowawayPostgres) -> _Migrated:
    """A database migrated to the latest version, emptied after every test that used it."""
    name = postgres_server.create_database()
    url = postgres_server.url(name)

    async def migrate() -> None:
        async with Database.open(url):
            pass

    asyncio.run(migrate())
    return _Migrated(url, table_names(url))


@pytest.fixture
def postgres_url(postgres_migrated: _Migrated) -> Iterator[str]:
    """A migrated PostgreSQL database with no rows, this test's alone while it runs."""
    try:
        yield postgres_migrated.url
    finally:
        empty_database(postgres_migrated.url, postgres_migrated.tables)


@pytest.fixture
def empty_postgres_url(postgres_server: ThrowawayPostgres) -> Iterator[str]:
    """A fresh PostgreSQL database with no tables (migration tests)."""
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)


@pytest.fixture
def private_postgres() -> Iterator[ThrowawayPostgres]:
    """A PostgreSQL server of this test's own, which it may stop and start (`pause`,
    `resume`) as an outage would, without cutting the other tests' server."""
    with _throwaway_server() as server:
        yield server


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test using `engine` runs once per engine; tests that read the SQLite file
    itself (they ask for `db_path`) or are marked `sqlite_only` run on SQLite alone."""
    if "engine" not in metafunc.fixturenames:
        return
    sqlite_only = "db_path" in metafunc.fixturenames or any(
        metafunc.definition.iter_markers("sqlite_only")
    )
    metafunc.parametrize("engine", ["sqlite"] if sqlite_only else ENGINES)


@pytest.fixture
def database_target(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """Where the test's database lives: a SQLite file or a PostgreSQL URL."""
    if engine == "sqlite":
        return tmp_path / "data" / "switchboard.db"
    return str(request.getfixturevalue("postgres_url"))
