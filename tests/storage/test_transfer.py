"""`migrate-to`: a SQLite file with every kind of row copied into the throwaway PostgreSQL,
checked row for row and cent for cent; a target that isn't empty is refused untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.storage.attachments import AttachmentRepository
from bot.storage.budgets import BudgetRepository
from bot.storage.channel_settings import ChannelSettingsRepository
from bot.storage.conversations import ConversationRepository
from bot.storage.database import Database
from bot.storage.messages import MessageRepository, NewStep
from bot.storage.models import StoredAttachment
from bot.storage.reservations import ReservationRepository
from bot.storage.transfer import TransferError, copy_database
from bot.storage.usage import LedgerEntry
from tests.billing.ledger_rows import LedgerReader, append_row

DAY_MS = 86_400_000


def entry(n: int, *, cost: int | None, guild: int | None = 1) -> LedgerEntry:
    priced = cost is not None
    return LedgerEntry(
        idempotency_key=f"call-{n}", created_at=1_790_000_000_000 + n * DAY_MS // 3,
        guild_id=guild, channel_id=10, user_id=40 + n % 3, conversation_id=1, answer_id=None,
        purpose="answer", model="m", prompt_tokens=100 + n, cached_tokens=n % 7,
        completion_tokens=50, reasoning_tokens=0, input_price=1 if priced else None,
        cached_price=None, output_price=2 if priced else None,
        price_source="override" if priced else None, cost_micros=cost, status="completed",
        usage_source="provider", provider="default", cache_write_tokens=0,
    )  # fmt: skip


async def fill(db: Database) -> int:
    """Every table gets rows; returns the last conversation id."""
    conversations = ConversationRepository(db)
    messages = MessageRepository(db)
    for channel in range(3):
        conversation = await conversations.create("thread", 1, 1000 + channel, 10, "t", None, 42)
        image = StoredAttachment(0, "image", "a.png", "image/png", None, b"\x89PNG", 1, 1)
        asked = await messages.add_user_message(
            conversation.id, f"question {channel}", 42, "ann", 5_000 + channel, attachments=[image]
        )
        answer = await messages.start_answer(conversation.id, "m", asked.id)
        await messages.append_steps(answer.id, [NewStep(0, "text", f"answer {channel}")])
        await messages.add_discord_message(answer.id, 0, 1000 + channel, 9_000 + channel)
        await messages.finish_answer(answer.id, "complete", f"answer {channel}")
    await ChannelSettingsRepository(db).update(10, 1, model="m", mentions=True)
    await ChannelSettingsRepository(db).set_tool(10, 1, "calculator", False)
    await BudgetRepository(db).set(1, None, "month", 50_000_000, updated_by=1)
    await BudgetRepository(db).set(1, 41, "day", 1_000_000, updated_by=1)
    await ReservationRepository(db).hold("held-call", 1, 41, 777, 0)
    for n in range(40):
        await append_row(db, entry(n, cost=None if n % 9 == 0 else 1_000 * n, guild=n % 2 or None))
    return conversation.id


async def test_migrate_to_copies_everything_and_checks_it(
    tmp_path: Path, postgres_url: str
) -> None:
    async with Database.open(tmp_path / "old.db") as source:
        last = await fill(source)
        async with Database.open(postgres_url) as target:
            report = await copy_database(source, target)
            assert report.rows["usage_ledger"] == 40
            assert report.rows["messages"] == 6 and report.rows["message_attachments"] == 3
            assert report.ledger_cost_micros == sum(1_000 * n for n in range(40) if n % 9)

            # The copy is a working database: ids go on after the copied ones, history,
            # search, budgets and attachments read back the same.
            new = await ConversationRepository(target).create("dm", None, 77, None, None, None, 9)
            assert new.id == last + 1
            old_history = await MessageRepository(source).history(last)
            assert await MessageRepository(target).history(last) == old_history
            hits = await MessageRepository(target).search(last, "answer")
            assert [h.message_id for h in hits] == [old_history[1].id]
            images = await AttachmentRepository(target).images_of([old_history[0].id])
            assert images == await AttachmentRepository(source).images_of([old_history[0].id])
            assert await ReservationRepository(target).all() == (
                await ReservationRepository(source).all()
            )
            settings = await ChannelSettingsRepository(target).get(10)
            assert settings == await ChannelSettingsRepository(source).get(10)


async def test_migrate_to_refuses_a_target_with_rows(tmp_path: Path, postgres_url: str) -> None:
    async with Database.open(tmp_path / "old.db") as source, Database.open(postgres_url) as target:
        await fill(source)
        await append_row(target, entry(999, cost=5))
        with pytest.raises(TransferError, match="not empty"):
            await copy_database(source, target)
        assert await LedgerReader(target).count() == 1
