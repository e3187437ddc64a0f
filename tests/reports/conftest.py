"""Fixtures for report tests: a real, freshly migrated database per test, on each engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.database import Database
from bot.storage.usage_reports import UsageReportRepository


@pytest.fixture
async def db(database_target: Path | str) -> AsyncIterator[Database]:
    async with Database.open(database_target) as database:
        yield database


@pytest.fixture
def repo(db: Database) -> UsageReportRepository:
    return UsageReportRepository(db)
