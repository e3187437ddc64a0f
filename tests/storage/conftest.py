"""Fixtures for storage tests: a real, freshly migrated database per test, on each engine
(a SQLite file; a PostgreSQL database on the throwaway server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.channel_settings import ChannelSettingsRepository
from bot.storage.conversations import ConversationRepository
from bot.storage.database import Database
from bot.storage.messages import MessageRepository
from bot.storage.models import Conversation
from tests.storage.helpers import new_thread


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """The SQLite file itself: tests asking for it run on SQLite only."""
    return tmp_path / "data" / "switchboard.db"


@pytest.fixture
def db_target(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    if engine == "sqlite":
        return tmp_path / "data" / "switchboard.db"  # the same file as db_path
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def db(db_target: Path | str) -> AsyncIterator[Database]:
    async with Database.open(db_target) as database:
        yield database


@pytest.fixture
def conversations(db: Database) -> ConversationRepository:
    return ConversationRepository(db)


@pytest.fixture
def messages(db: Database) -> MessageRepository:
    return MessageRepository(db)


@pytest.fixture
def channel_settings(db: Database) -> ChannelSettingsRepository:
    return ChannelSettingsRepository(db)


@pytest.fixture
async def thread(conversations: ConversationRepository) -> Conversation:
    return await new_thread(conversations)
