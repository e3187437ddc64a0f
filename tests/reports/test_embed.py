"""The `table` format: an embed spec within Discord's limits, whatever the data."""

from __future__ import annotations

from bot.billing.report_embed import (
    DESCRIPTION_LIMIT,
    FIELD_COUNT_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    TITLE_LIMIT,
    TOTAL_LIMIT,
    EmbedSpec,
    tokens,
)
from bot.billing.reports import build_report, report_embed
from bot.money import usd
from bot.storage.database import Database
from bot.storage.usage_reports import GROUP_BYS, UsageReportRepository
from tests.reports.helpers import GUILD, NOW, NOW_DAY, Call, insert_calls, random_calls


def _assert_within_limits(spec: EmbedSpec) -> None:
    assert 0 < len(spec.title) <= TITLE_LIMIT
    assert len(spec.description) <= DESCRIPTION_LIMIT
    assert len(spec.fields) <= FIELD_COUNT_LIMIT
    for field in spec.fields:
        assert 0 < len(field.name) <= FIELD_NAME_LIMIT
        assert 0 < len(field.value) <= FIELD_VALUE_LIMIT
    assert len(spec.footer) <= FOOTER_LIMIT
    assert spec.total_chars() <= TOTAL_LIMIT


async def test_report_embed_for_1000_members_stays_within_limits(
    db: Database, repo: UsageReportRepository
) -> None:
    members = range(10_000, 11_000)
    await insert_calls(
        db, [Call(GUILD, NOW_DAY - i % 20, user_id=u, cost_micros=u) for i, u in enumerate(members)]
    )
    # Names at Discord's worst: long, and the guild name too.
    names = {u: f"{'W' * 250}{u}" for u in members}
    report = await build_report(repo, GUILD, group_by="user", now=NOW)

    spec = report_embed(report, names, guild_name="G" * 300)

    _assert_within_limits(spec)
    assert len(report.rows) == 1000
    assert len(spec.fields) == 10
    assert spec.fields[0].name.startswith("1. WWW")
    assert spec.fields[0].name.endswith("…")
    assert "Top 10 of 1000 members" in spec.description
    assert "2026-10-23 → 2026-11-21 UTC" in spec.footer


async def test_report_embed_within_limits_for_every_grouping(
    db: Database, repo: UsageReportRepository
) -> None:
    await insert_calls(db, random_calls(seed=4, n=400))
    names = {1001: "Alice", 501: "general"}

    for group_by in GROUP_BYS:
        report = await build_report(repo, GUILD, group_by=group_by, now=NOW)
        spec = report_embed(report, names, guild_name="Test Server")

        _assert_within_limits(spec)
        assert spec.title == "Usage report — Test Server"
        assert 0 < len(spec.fields) <= 10
        if group_by == "day":
            # The most recent days, in date order.
            assert spec.fields[-1].name.endswith("2026-11-21")


async def test_report_embed_labels_use_names_and_fall_back_to_ids(
    db: Database, repo: UsageReportRepository
) -> None:
    await insert_calls(
        db,
        [
            Call(GUILD, NOW_DAY, user_id=1001, cost_micros=3_000_000),
            Call(GUILD, NOW_DAY, user_id=1002, cost_micros=2_000),
            Call(GUILD, NOW_DAY, user_id=None, cost_micros=None),
        ],
    )
    report = await build_report(repo, GUILD, period="today", now=NOW)

    spec = report_embed(report, {1001: "Alice"})

    assert [f.name for f in spec.fields] == ["1. Alice", "2. user 1002", "3. (no user)"]
    assert spec.fields[0].value.startswith("**$3.00** · 1 call")
    assert spec.fields[1].value.startswith("**$0.0020**")
    assert spec.fields[2].value.startswith("**no known price**")
    assert any("1 call had no known price" in line for line in spec.description_lines)
    assert spec.footer.startswith("Total $3.00 · 3 calls")


async def test_report_embed_of_an_empty_report_says_so(repo: UsageReportRepository) -> None:
    report = await build_report(repo, GUILD, period="today", now=NOW)

    spec = report_embed(report)

    _assert_within_limits(spec)
    assert spec.fields == ()
    assert "No usage in this period." in spec.description


def test_embed_money_and_tokens_read_well() -> None:
    assert usd(0) == "$0.00"
    assert usd(50) == "<$0.0001"
    assert usd(123_456) == "$0.1235"
    assert usd(1_234_567_890) == "$1,234.57"
    assert tokens(999) == "999"
    assert tokens(12_345) == "12.3k"
    assert tokens(1_234_567) == "1.23M"
