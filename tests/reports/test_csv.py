"""The `csv` format: the columns docs/behaviour.md lists, parsed back to numbers, safe names."""

from __future__ import annotations

import csv
import io

import pytest

from bot.billing.reports import build_report, csv_header, report_csv, safe_cell
from bot.storage.database import Database
from bot.storage.usage_reports import GROUP_BYS, GroupBy, UsageReportRepository
from tests.reports.helpers import GUILD, NOW, NOW_DAY, Call, insert_calls, random_calls

HEADERS: dict[GroupBy, list[str]] = {
    "user": ["user_id", "user_name"],
    "model": ["model"],
    "day": ["day"],
    "channel": ["channel_id", "channel_name"],
}
COUNTS = [
    "calls",
    "prompt_tokens",
    "cached_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cost_usd",
]


def _parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("group_by", GROUP_BYS)
async def test_report_csv_parses_back_to_the_report(
    db: Database, repo: UsageReportRepository, group_by: GroupBy
) -> None:
    await insert_calls(db, random_calls(seed=21, n=500))
    report = await build_report(repo, GUILD, period="30d", group_by=group_by, now=NOW)
    names = {1001: "Alice", 1002: "Bob", 501: "general"}

    header, *rows = _parse(report_csv(report, names))

    assert header == HEADERS[group_by] + COUNTS
    assert list(csv_header(group_by)) == header
    assert len(rows) == len(report.rows)  # one row per group, no total row
    key_width = len(HEADERS[group_by])
    for cells, row in zip(rows, report.rows, strict=True):
        u = row.usage
        counts = [int(c) for c in cells[key_width : key_width + 5]]
        assert counts == [
            u.calls,
            u.prompt_tokens,
            u.cached_tokens,
            u.completion_tokens,
            u.reasoning_tokens,
        ]
        cost = cells[-1]
        if u.all_unpriced:
            assert cost == ""
        else:
            whole, _, frac = cost.partition(".")
            assert len(frac) == 6
            assert int(whole) * 1_000_000 + int(frac) == u.cost_micros
        if group_by == "day":
            assert row.day is not None and cells[0] == row.day.isoformat()
        elif group_by == "model":
            assert cells[0] == row.model
        else:
            ident = row.user_id if group_by == "user" else row.channel_id
            assert cells[0] == ("" if ident is None else str(ident))
            assert cells[1] == (names.get(ident, "") if ident is not None else "")
    total_calls = sum(int(c[key_width]) for c in rows)
    assert total_calls == report.totals.calls


async def test_report_csv_cost_is_the_priced_part_and_empty_when_all_unpriced(
    db: Database, repo: UsageReportRepository
) -> None:
    await insert_calls(
        db,
        [
            Call(GUILD, NOW_DAY, user_id=1, cost_micros=1_234_567),
            Call(GUILD, NOW_DAY, user_id=1, cost_micros=None),
            Call(GUILD, NOW_DAY, user_id=2, cost_micros=None),
            Call(GUILD, NOW_DAY, user_id=3, cost_micros=0),
        ],
    )
    report = await build_report(repo, GUILD, period="today", now=NOW)

    _, *rows = _parse(report_csv(report))

    by_user = {r[0]: r for r in rows}
    assert by_user["1"][-1] == "1.234567"  # partly unpriced: the priced call's cost
    assert by_user["1"][2] == "2"  # both calls counted
    assert by_user["2"][-1] == ""  # nothing priced
    assert by_user["3"][-1] == "0.000000"  # priced, and free
    assert by_user["1"][1] == ""  # no name given: empty


async def test_report_csv_neutralises_formulas_in_names(
    db: Database, repo: UsageReportRepository
) -> None:
    await insert_calls(
        db,
        [Call(GUILD, NOW_DAY, user_id=u) for u in (1, 2, 3, 4, 5, 6)]
        + [Call(GUILD, NOW_DAY, model="=cmd|' /C calc'!A0")],
    )
    names = {
        1: '=HYPERLINK("http://evil","click")',
        2: "+1+1",
        3: "-2",
        4: "@SUM(A1)",
        5: 'quote "and, comma"\nnewline',
        6: "plain",
    }
    report = await build_report(repo, GUILD, period="today", now=NOW)
    by_model = await build_report(repo, GUILD, period="today", group_by="model", now=NOW)

    _, *rows = _parse(report_csv(report, names))
    _, *model_rows = _parse(report_csv(by_model))

    got = {int(r[0]): r[1] for r in rows}
    assert got[1] == "'" + names[1]
    assert got[2] == "'+1+1"
    assert got[3] == "'-2"
    assert got[4] == "'@SUM(A1)"
    assert got[5] == names[5]  # quoted by the csv module, round-trips intact
    assert got[6] == "plain"
    assert "'=cmd|' /C calc'!A0" in {r[0] for r in model_rows}


async def test_report_csv_of_an_empty_report_is_just_the_header(
    repo: UsageReportRepository,
) -> None:
    report = await build_report(repo, GUILD, period="7d", group_by="channel", now=NOW)

    assert _parse(report_csv(report)) == [HEADERS["channel"] + COUNTS]


def test_safe_cell_leaves_ordinary_text_alone() -> None:
    assert safe_cell("Alice") == "Alice"
    assert safe_cell("\tx") == "'\tx"
    assert safe_cell("") == ""
