"""Fixtures for billing tests (on both engines): a real migrated database, a settable clock,
a meter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.billing.meter import Meter
from bot.billing.pricing import PriceBook
from bot.llm.types import ChatMessage, ChatRequest
from bot.services.ports import TurnContext
from bot.storage.budgets import BudgetRepository
from bot.storage.database import Database
from bot.storage.models import Conversation, StoredMessage
from bot.storage.prices import PriceRepository
from bot.storage.reservations import ReservationRepository
from tests.billing.ledger_rows import LedgerReader

GUILD = 1
CHANNEL = 10
USER = 42
OTHER_USER = 43
# An owner price that makes arithmetic easy: 1 µ$ per input token, 2 per output token,
# 0.5 per cached token.
MODEL = "test-model"
UNPRICED = "mystery-model-xyz"


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 18, 12, 0, tzinfo=UTC))


@pytest.fixture
async def db(database_target: Path | str) -> AsyncIterator[Database]:
    async with Database.open(database_target) as database:
        yield database


@pytest.fixture
async def prices(db: Database) -> PriceBook:
    book = PriceBook(PriceRepository(db))
    await book.set_override(MODEL, "1", "2", "0.5", updated_by=1)
    return book


@pytest.fixture
def meter(db: Database, prices: PriceBook, clock: Clock) -> Meter:
    return Meter(db, prices, clock=clock)


@pytest.fixture
def budgets(db: Database) -> BudgetRepository:
    return BudgetRepository(db)


@pytest.fixture
def reservations(db: Database) -> ReservationRepository:
    return ReservationRepository(db)


@pytest.fixture
def ledger(db: Database) -> LedgerReader:
    return LedgerReader(db)


def turn(
    answer_id: int,
    *,
    guild_id: int | None = GUILD,
    user_id: int = USER,
    model: str = MODEL,
    conversation_id: int = 7,
) -> TurnContext:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    conversation = Conversation(
        id=conversation_id,
        kind="thread" if guild_id is not None else "dm",
        guild_id=guild_id,
        channel_id=CHANNEL,
        parent_channel_id=None,
        title=None,
        model=None,
        created_by=user_id,
        created_at=created,
        closed_at=None,
    )
    message = StoredMessage(
        id=answer_id * 10,
        conversation_id=conversation_id,
        role="user",
        content="hi",
        author_id=user_id,
        author_name="member",
        discord_message_id=None,
        status="complete",
        model=None,
        created_at=created,
    )
    return TurnContext(conversation, message, answer_id, model)


def request(model: str = MODEL, *, max_tokens: int = 1000, text: str = "hello") -> ChatRequest:
    return ChatRequest(model, [ChatMessage("user", text)], max_tokens=max_tokens)
