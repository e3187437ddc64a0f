"""`build_report`: periods → UTC day ranges, grouping, sort order, totals against the ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.billing.reports import REPORT_PERIODS, ReportPeriod, build_report, period_start
from bot.storage.database import Database
from bot.storage.usage_reports import (
    GROUP_BYS,
    GroupBy,
    UsageReportRepository,
    UsageTotals,
    date_to_day,
)
from tests.reports.helpers import (
    DAY_MS,
    GUILD,
    NOW,
    NOW_DAY,
    OTHER_GUILD,
    Call,
    insert_calls,
    random_calls,
)

_LEDGER_COLUMN: dict[GroupBy, str] = {
    "user": "COALESCE(user_id, 0)",
    "channel": "COALESCE(channel_id, 0)",
    "model": "model",
    "day": "created_at / 86400000",
}


async def _ledger_sums(
    db: Database, guild_id: int, first_day: int, last_day: int, group_by: GroupBy
) -> dict[object, UsageTotals]:
    """The same report straight from the ledger, bypassing the rollup."""
    column = _LEDGER_COLUMN[group_by]
    sql = f"""
        SELECT {column} AS k, COUNT(*), SUM(prompt_tokens), SUM(cached_tokens),
               SUM(completion_tokens), SUM(reasoning_tokens), COALESCE(SUM(cost_micros), 0),
               SUM(CASE WHEN cost_micros IS NULL THEN 1 ELSE 0 END)
        FROM usage_ledger
        WHERE COALESCE(guild_id, 0) = ? AND created_at >= ? AND created_at < ?
        GROUP BY k
    """
    params = (guild_id, first_day * DAY_MS, (last_day + 1) * DAY_MS)
    async with db.reading() as conn:
        rows = await conn.execute_fetchall(sql, params)
    return {r[0]: UsageTotals(*r[1:]) for r in rows}


def _row_key(group_by: GroupBy, key: object) -> object:
    if isinstance(key, date):
        return date_to_day(key)
    return 0 if key is None else key


def test_period_start_counts_utc_days_back_from_today() -> None:
    today = date(2026, 11, 21)

    assert period_start("today", today) == today
    assert period_start("7d", today) == date(2026, 11, 15)
    assert period_start("30d", today) == date(2026, 10, 23)
    assert period_start("month", today) == date(2026, 11, 1)
    assert period_start("all", today) is None


@pytest.mark.parametrize("period", REPORT_PERIODS)
@pytest.mark.parametrize("group_by", GROUP_BYS)
async def test_build_report_matches_the_ledger(
    db: Database, repo: UsageReportRepository, period: ReportPeriod, group_by: GroupBy
) -> None:
    await insert_calls(db, random_calls(seed=7, n=600))

    report = await build_report(repo, GUILD, period=period, group_by=group_by, now=NOW)

    first_day = date_to_day(report.first)
    expected_first = {"today": 0, "7d": 6, "30d": 29, "month": 20}.get(period)
    if expected_first is not None:
        assert first_day == NOW_DAY - expected_first
    assert report.last == NOW.date()
    expected = await _ledger_sums(db, GUILD, first_day, NOW_DAY, group_by)
    assert {_row_key(group_by, r.key): r.usage for r in report.rows} == expected
    assert report.totals == sum(expected.values(), UsageTotals())
    assert report.totals.calls > 0


@pytest.mark.parametrize("group_by", GROUP_BYS)
async def test_build_report_sorts_by_cost_then_calls_or_by_day(
    db: Database, repo: UsageReportRepository, group_by: GroupBy
) -> None:
    await insert_calls(db, random_calls(seed=3, n=400))

    report = await build_report(repo, GUILD, period="all", group_by=group_by, now=NOW)

    if group_by == "day":
        days = [r.day for r in report.rows]
        assert days == sorted(days, key=lambda d: d or date.min)
    else:
        order = [(r.cost_micros, r.calls) for r in report.rows]
        assert order == sorted(order, reverse=True)


async def test_build_report_ties_on_cost_go_by_calls(
    db: Database, repo: UsageReportRepository
) -> None:
    await insert_calls(
        db,
        [
            Call(GUILD, NOW_DAY, user_id=1, cost_micros=500),
            Call(GUILD, NOW_DAY, user_id=2, cost_micros=250),
            Call(GUILD, NOW_DAY, user_id=2, cost_micros=250),
            Call(GUILD, NOW_DAY, user_id=3, cost_micros=900),
            Call(GUILD, NOW_DAY, user_id=4, cost_micros=None),
        ],
    )

    report = await build_report(repo, GUILD, period="today", now=NOW)

    assert [r.user_id for r in report.rows] == [3, 2, 1, 4]
    assert report.rows[-1].usage.all_unpriced


async def test_build_report_never_shows_another_guild(
    db: Database, repo: UsageReportRepository
) -> None:
    await insert_calls(db, random_calls(seed=11, n=300))
    # Ids and a model that exist only outside GUILD.
    await insert_calls(
        db,
        [
            Call(OTHER_GUILD, NOW_DAY, user_id=9_999, channel_id=8_888, model="secret-model"),
            Call(None, NOW_DAY, user_id=7_777, channel_id=6_666, model="dm-model"),
        ],
    )

    for period in REPORT_PERIODS:
        for group_by in GROUP_BYS:
            report = await build_report(repo, GUILD, period=period, group_by=group_by, now=NOW)
            keys = {r.key for r in report.rows}
            assert not keys & {9_999, 8_888, 7_777, 6_666, "secret-model", "dm-model"}
            first = date_to_day(report.first)
            expected = await _ledger_sums(db, GUILD, first, NOW_DAY, group_by)
            assert report.totals == sum(expected.values(), UsageTotals())
    other = await build_report(repo, OTHER_GUILD, group_by="model", now=NOW)
    assert "secret-model" in {r.key for r in other.rows}
    dms = await build_report(repo, 0, group_by="model", now=NOW)
    assert {r.key for r in dms.rows} >= {"dm-model"}
    assert "secret-model" not in {r.key for r in dms.rows}


async def test_build_report_empty_guild_has_no_rows(repo: UsageReportRepository) -> None:
    for period in REPORT_PERIODS:
        report = await build_report(repo, GUILD, period=period, now=NOW)

        assert report.rows == ()
        assert report.totals == UsageTotals()
        assert report.last == NOW.date()
        assert report.first <= report.last


async def test_build_report_all_starts_at_the_first_usage(
    db: Database, repo: UsageReportRepository
) -> None:
    await insert_calls(db, [Call(GUILD, NOW_DAY - 400), Call(OTHER_GUILD, NOW_DAY - 900)])

    report = await build_report(repo, GUILD, period="all", group_by="day", now=NOW)

    assert date_to_day(report.first) == NOW_DAY - 400
    assert [r.calls for r in report.rows] == [1]


async def test_build_report_day_boundaries_are_utc(
    db: Database, repo: UsageReportRepository
) -> None:
    await insert_calls(
        db,
        [
            Call(GUILD, NOW_DAY - 1, offset_ms=DAY_MS - 1, cost_micros=1),  # 23:59:59.999
            Call(GUILD, NOW_DAY, offset_ms=0, cost_micros=10),  # 00:00 today
        ],
    )

    today = await build_report(repo, GUILD, period="today", now=NOW)
    week = await build_report(repo, GUILD, period="7d", now=NOW)

    assert today.totals.cost_micros == 10
    assert week.totals.cost_micros == 11


async def test_build_report_month_starts_on_the_first(
    db: Database, repo: UsageReportRepository
) -> None:
    first_of_month = date_to_day(date(2026, 11, 1))
    await insert_calls(
        db, [Call(GUILD, first_of_month - 1, cost_micros=1), Call(GUILD, first_of_month)]
    )

    report = await build_report(repo, GUILD, period="month", now=NOW)

    assert report.first == date(2026, 11, 1)
    assert report.totals.calls == 1


@pytest.mark.parametrize("bad", [None, True, -1, "111"])
async def test_report_queries_refuse_anything_but_one_guild_id(
    repo: UsageReportRepository, bad: object
) -> None:
    with pytest.raises(ValueError, match="one guild id"):
        await repo.groups(bad, "user", 0, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one guild id"):
        await repo.daily_costs(bad, "user", 0, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one guild id"):
        await repo.member_totals(bad, 1, 0)  # type: ignore[arg-type]


async def test_build_report_refuses_naive_now(repo: UsageReportRepository) -> None:
    with pytest.raises(ValueError, match="naive"):
        await build_report(repo, GUILD, now=datetime(2026, 11, 21))


async def test_build_report_defaults_to_30d_by_user(
    db: Database, repo: UsageReportRepository
) -> None:
    await insert_calls(db, [Call(GUILD, date_to_day(datetime.now(UTC).date()))])

    report = await build_report(repo, GUILD)

    assert (report.period, report.group_by) == ("30d", "user")
    assert (report.last - report.first).days == 29
    assert report.totals.calls == 1
