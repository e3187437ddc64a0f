"""Fixtures shared with tests/discord_fake (the fake Discord with small windows) and tests/e2e
(the real bot on the fakes)."""

import pytest

from tests.discord_fake.conftest import fake
from tests.e2e.conftest import app, fakes

__all__ = ["app", "database_url", "fake", "fakes"]


@pytest.fixture
def database_url(engine: str, request: pytest.FixtureRequest) -> str:
    """DATABASE_URL for bot processes: "" (the SQLite file) or an empty, migrated PostgreSQL
    database (skipped, with its reason, where PostgreSQL is not installed)."""
    return str(request.getfixturevalue("postgres_url")) if engine == "postgresql" else ""
