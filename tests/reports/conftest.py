"""Fixtures for report tests: a real, freshly migrated SQLite file per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.database import Database
from bot.storage.usage_reports import UsageReportRepository


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with Database.open(tmp_path / "data" / "switchboard.db") as database:
        yield database


@pytest.fixture
def repo(db: Database) -> UsageReportRepository:
    return UsageReportRepository(db)
