"""The usage ledger: append-only, idempotent, and its daily rollup in step."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.storage.database import Database
from bot.storage.sql import IntegrityError
from bot.storage.usage import LedgerEntry
from tests.billing.ledger_rows import LedgerReader, append_row

DAY_MS = 86_400_000

ENTRY = LedgerEntry(
    idempotency_key="answer:1:round:1",
    created_at=20_000 * DAY_MS + 5,
    guild_id=1,
    channel_id=10,
    user_id=42,
    conversation_id=7,
    answer_id=1,
    purpose="answer",
    model="m",
    prompt_tokens=100,
    cached_tokens=40,
    completion_tokens=30,
    reasoning_tokens=10,
    input_price=1_000_000,
    cached_price=500_000,
    output_price=2_000_000,
    price_source="override",
    cost_micros=140,
    status="completed",
    usage_source="provider",
)


async def test_ledger_insert_is_idempotent_by_key(ledger: LedgerReader, db: Database) -> None:
    assert await append_row(db, ENTRY)
    assert not await append_row(db, replace(ENTRY, prompt_tokens=999))

    assert await ledger.count() == 1
    assert await ledger.by_key(ENTRY.idempotency_key) == ENTRY
    assert await ledger.by_key("nope") is None


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE usage_ledger SET cost_micros = 0",
        "DELETE FROM usage_ledger",
    ],
)
async def test_ledger_rejects_update_and_delete(
    ledger: LedgerReader, db: Database, sql: str
) -> None:
    await append_row(db, ENTRY)

    with pytest.raises(IntegrityError, match="append-only"):
        async with db.transaction() as conn:
            await conn.execute(sql)

    assert await ledger.by_key(ENTRY.idempotency_key) == ENTRY


async def test_ledger_spent_sums_the_daily_rollup(ledger: LedgerReader, db: Database) -> None:
    await append_row(db, ENTRY)
    await append_row(db, replace(ENTRY, idempotency_key="b", user_id=43, cost_micros=60))
    await append_row(db, replace(ENTRY, idempotency_key="c", created_at=ENTRY.created_at + DAY_MS))
    await append_row(
        db,
        replace(
            ENTRY,
            idempotency_key="d",
            cost_micros=None,
            price_source=None,
            input_price=None,
            cached_price=None,
            output_price=None,
        ),
    )

    assert await ledger.spent(1, None, 20_000, 20_001) == 200
    assert await ledger.spent(1, 42, 20_000, 20_001) == 140
    assert await ledger.spent(1, 42, 20_000, 20_002) == 280
    assert await ledger.spent(1, 42, 20_001, 20_002) == 140
    assert await ledger.spent(2, None, 0, 30_000) == 0
