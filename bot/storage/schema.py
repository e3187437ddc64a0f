"""Numbered SQL migrations, one folder per engine: `migrations/sqlite/NNNN_name.sql` and
`migrations/postgresql/NNNN_name.sql`, numbered from 0001 without gaps and in step (version
N is the same schema on both engines, so a SQLite file copies into PostgreSQL table for
table). SQLite records the version in `PRAGMA user_version`, PostgreSQL in the one-row table
`schema_version`; each migration commits together with its version number, so one that
fails or is interrupted leaves the previous version intact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from bot.errors import ConfigurationError

Dialect = Literal["sqlite", "postgresql"]
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseTooNewError(ConfigurationError):
    """The database was migrated by a newer Switchboard than this one; refuse to touch it."""


class MigrationError(ConfigurationError):
    """A migration failed; the database stays at the last version that applied cleanly."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(
    dialect: Dialect = "sqlite", package: str = "bot.storage", folder: str = "migrations"
) -> list[Migration]:
    """The numbered SQL files shipped for `dialect`, in order; gaps and duplicates fail."""
    found: list[Migration] = []
    for entry in resources.files(package).joinpath(folder).joinpath(dialect).iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    check_migration_sequence(found)
    return found


def check_migration_sequence(migrations: Sequence[Migration]) -> None:
    numbers = [m.version for m in migrations]
    if numbers != list(range(1, len(numbers) + 1)):
        raise MigrationError([f"migrations must be numbered 1, 2, 3, … without gaps: {numbers}"])


def refuse_newer(where: str, version: int, latest: int) -> None:
    if version > latest:
        raise DatabaseTooNewError(
            [
                f"database {where} is at schema version {version}, but this Switchboard only "
                f"knows versions up to {latest}; run a newer Switchboard or restore a backup"
            ]
        )
