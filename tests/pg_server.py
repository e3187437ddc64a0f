"""A throwaway PostgreSQL server for the tests: one per test session (per xdist worker),
one migrated database reused by every test and emptied after each (TRUNCATE of every table
takes a few milliseconds; CREATE DATABASE … TEMPLATE takes hundreds on a busy machine, and
running the migrations each time longer still).

The server refuses to run as root, so as root it runs as the `postgres` user. Its data lives
in a temporary folder, fsync off (a crash of the machine loses nothing of value), and it
listens on a free 127.0.0.1 port only. Commits stay synchronous: a commit's WAL is handed to
the kernel before the client hears of it, so the server process stopped as by a crash
(`pause`) keeps every commit a client was told of, as a real server does. With
`synchronous_commit=off` the last fifth of a second of commits vanished at a pause, which
turned an outage test into one of a server forgetting what it had confirmed.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg


def find_binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None when PostgreSQL is absent."""
    found = shutil.which("initdb")
    candidates = [Path(found).parent] if found else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if all((folder / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class ThrowawayPostgres:
    binaries: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="switchboard-pg-")))
    port: int = field(default_factory=_free_port)
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    template: str | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres", *, driver: str = "postgresql") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def _options(self) -> str:
        return (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}"
            " -c fsync=off -c full_page_writes=off"
            " -c max_connections=300 -c shared_buffers=64MB"
        )

    def start(self) -> None:
        self.root.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        run = _as_server_user()
        subprocess.run(
            [*run, str(self.binaries / "initdb"), "-D", str(self.data), "-U", "postgres",
             "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [*run, str(self.binaries / "pg_ctl"), "-D", str(self.data), "-o", self._options,
             "-l", str(self.root / "server.log"), "-w", "-t", "60", "start"],
            check=True, capture_output=True,
        )  # fmt: skip

    def pause(self) -> None:
        """Stop the server as an outage would (every session cut at once), keeping its data
        for `resume`."""
        subprocess.run(
            [*_as_server_user(), str(self.binaries / "pg_ctl"), "-D", str(self.data),
             "-m", "immediate", "-w", "stop"],
            check=True, capture_output=True,
        )  # fmt: skip

    def resume(self) -> None:
        """Start a paused server again, on the same port with the same data."""
        subprocess.run(
            [*_as_server_user(), str(self.binaries / "pg_ctl"), "-D", str(self.data),
             "-o", self._options, "-l", str(self.root / "server.log"), "-w", "-t", "60",
             "start"],
            check=True, capture_output=True,
        )  # fmt: skip

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            subprocess.run(
                [*_as_server_user(), str(self.binaries / "pg_ctl"), "-D", str(self.data),
                 "-m", "immediate", "-w", "stop"],
                check=True, capture_output=True,
            )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url(), autocommit=True)

    def create_database(self, template: str | None = None) -> str:
        """A new empty database (or a copy of `template`); returns its name."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        source = template or "template0"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_TABLES = """
    SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename
"""


def table_names(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {str(row[0]) for row in conn.execute(_TABLES).fetchall()}


def empty_database(url: str, keep: set[str]) -> None:
    """Every row of the migrated tables gone (ids restart), tables a test added dropped.

    The ledger refuses TRUNCATE (it is append-only); `session_replication_role = replica`
    turns its triggers off for this connection alone."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = {str(row[0]) for row in conn.execute(_TABLES).fetchall()}
        conn.execute("SET session_replication_role = replica")
        for extra in sorted(tables - keep):
            conn.execute(f'DROP TABLE IF EXISTS "{extra}" CASCADE')
        wipe = sorted((tables & keep) - {"schema_version"})
        if wipe:
            names = ", ".join(f'"{t}"' for t in wipe)
            conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
