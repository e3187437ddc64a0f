"""psycopg and SQLAlchemy's asyncio layer (with the ORM it pulls in) take a fifth of a second
to import, so a bot on SQLite (and every `python -m bot` command run against it) never loads
them: checked in a fresh interpreter, which imports everything such a start imports."""

from __future__ import annotations

import subprocess
import sys

from tests.fakes.bot_env import ROOT

LOADED = """
print(",".join(sorted(
    m for m in sys.modules
    if m.split(".")[0] == "psycopg" or m.startswith(("sqlalchemy.ext.asyncio", "sqlalchemy.orm"))
)))
"""
SQLITE_START = """
import importlib, pkgutil, sys, tempfile, asyncio
from pathlib import Path
import bot.__main__, bot.app, bot.cli, cogs
from bot.storage.database import Database
for module in pkgutil.iter_modules(cogs.__path__):
    importlib.import_module("cogs." + module.name)

async def use_a_file() -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with Database.open(Path(folder) / "bot.db") as db:
            await db.schema_version()

asyncio.run(use_a_file())
"""


def loaded_after(probe: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", probe + LOADED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_a_bot_on_sqlite_never_loads_the_postgresql_driver() -> None:
    assert loaded_after(SQLITE_START) == ""


def test_the_postgresql_backend_still_brings_the_driver_in() -> None:
    # The probe above can see them: importing the backend loads both.
    loaded = loaded_after("import sys, bot.storage.postgres_backend\n").split(",")
    assert "psycopg" in loaded and "sqlalchemy.ext.asyncio" in loaded
