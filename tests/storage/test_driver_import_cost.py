"""psycopg and SQLAlchemy's asyncio layer (with the ORM it pulls in) take a fifth of a second
to import, so a bot on SQLite (and every `python -m bot` command run against it) never loads
them: checked in a fresh interpreter, which imports everything such a start imports."""

from __future__ import annotations

from tests.import_probe import A_START, loaded_after

DRIVER = ("psycopg", "sqlalchemy.ext.asyncio", "sqlalchemy.orm")
USE_A_SQLITE_FILE = """
import asyncio, tempfile
from pathlib import Path
from bot.storage.database import Database

async def use_a_file() -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with Database.open(Path(folder) / "bot.db") as db:
            await db.schema_version()

asyncio.run(use_a_file())
"""


def test_a_bot_on_sqlite_never_loads_the_postgresql_driver() -> None:
    assert loaded_after(A_START + USE_A_SQLITE_FILE, DRIVER) == []


def test_the_postgresql_backend_still_brings_the_driver_in() -> None:
    # The probe above can see them: importing the backend loads both.
    loaded = loaded_after("import bot.storage.postgres_backend\n", DRIVER)
    assert "psycopg" in loaded and "sqlalchemy.ext.asyncio" in loaded
