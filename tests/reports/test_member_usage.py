"""`/usage` data: one member's totals in one guild since a period start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.billing.reports import member_usage
from bot.storage.database import Database
from bot.storage.usage_reports import UsageReportRepository, UsageTotals
from tests.reports.helpers import DAY_MS, GUILD, NOW_DAY, OTHER_GUILD, insert_calls, random_calls

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def _ledger_member(db: Database, guild_id: int, user_id: int, since_ms: int) -> UsageTotals:
    sql = """
        SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(cached_tokens), 0),
               COALESCE(SUM(completion_tokens), 0), COALESCE(SUM(reasoning_tokens), 0),
               COALESCE(SUM(cost_micros), 0),
               COALESCE(SUM(CASE WHEN cost_micros IS NULL THEN 1 ELSE 0 END), 0)
        FROM usage_ledger
        WHERE COALESCE(guild_id, 0) = ? AND user_id = ? AND created_at >= ?
    """
    async with db.reading() as conn, conn.execute(sql, (guild_id, user_id, since_ms)) as cur:
        row = cur.fetchone()
    assert row is not None
    return UsageTotals(*row)


@pytest.mark.parametrize(
    "since_offset",
    [
        timedelta(days=20),  # a midnight: rollup only
        timedelta(days=6, hours=-7, minutes=-13),  # mid-day: rollup + the rest of that day
        timedelta(days=-1),  # tomorrow: nothing yet
    ],
)
async def test_member_usage_matches_the_ledger(
    db: Database, repo: UsageReportRepository, since_offset: timedelta
) -> None:
    await insert_calls(db, random_calls(seed=5, n=800))
    since = EPOCH + timedelta(days=NOW_DAY) - since_offset
    since_ms = (since - EPOCH) // timedelta(milliseconds=1)

    for guild_id in (GUILD, OTHER_GUILD):
        usage = await member_usage(repo, guild_id, 1001, since)

        assert usage == await _ledger_member(db, guild_id, 1001, since_ms)
    assert since_offset.days < 0 or usage.calls > 0


async def test_member_usage_counts_only_that_member_in_that_guild(
    db: Database, repo: UsageReportRepository
) -> None:
    await insert_calls(db, random_calls(seed=9, n=300))
    since = EPOCH + timedelta(days=NOW_DAY - 60)

    total = UsageTotals()
    for user_id in (1001, 1002, 1003, 1004, 1005):
        total += await member_usage(repo, GUILD, user_id, since)

    async with db.reading() as conn:
        rows = await conn.execute_fetchall(
            "SELECT COUNT(*) FROM usage_ledger WHERE guild_id = ? AND user_id IS NOT NULL"
            " AND created_at >= ?",
            (GUILD, (NOW_DAY - 60) * DAY_MS),
        )
    assert total.calls == next(iter(rows))[0]


async def test_member_usage_refuses_naive_since(repo: UsageReportRepository) -> None:
    with pytest.raises(ValueError, match="naive"):
        await member_usage(repo, GUILD, 1001, datetime(2026, 11, 1))
