"""The `chart` format: a valid, readable PNG for every grouping, empty data included."""

from __future__ import annotations

import io
import struct

import pytest

from bot.billing import chart
from bot.billing.reports import build_report, chart_data, report_chart
from bot.storage.database import Database
from bot.storage.usage_reports import GROUP_BYS, GroupBy, UsageReportRepository
from tests.reports.helpers import GUILD, NOW, NOW_DAY, Call, insert_calls, random_calls

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, after checking the signature."""
    assert png[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", png[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _decoded_size(png: bytes) -> tuple[int, int]:
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    return pixels.shape[1], pixels.shape[0]


@pytest.mark.parametrize("group_by", GROUP_BYS)
async def test_report_chart_is_a_png_for_every_grouping(
    db: Database, repo: UsageReportRepository, group_by: GroupBy
) -> None:
    await insert_calls(db, random_calls(seed=8, n=400))
    report = await build_report(repo, GUILD, period="30d", group_by=group_by, now=NOW)

    png = await report_chart(
        repo,
        report,
        {1001: "Alice 🔥", 1002: "_hidden", 1003: r"$\frac{$", 501: "東京"},
        "Test $erver$",
    )

    width, height = _png_size(png)
    assert (width, height) == _decoded_size(png)
    assert 600 <= width <= 2000 and 300 <= height <= 1200
    assert len(png) < chart.MAX_PNG_BYTES


async def test_report_chart_of_no_usage_is_a_readable_png(repo: UsageReportRepository) -> None:
    report = await build_report(repo, GUILD, period="all", now=NOW)

    data = await chart_data(repo, report)
    png = await report_chart(repo, report)

    assert data.empty_message == "No usage in this period"
    assert _png_size(png) == _decoded_size(png)


async def test_chart_data_stacks_top_groups_and_other(
    db: Database, repo: UsageReportRepository
) -> None:
    await insert_calls(
        db,
        [Call(GUILD, NOW_DAY - u % 3, user_id=u, cost_micros=1_000 * u) for u in range(1, 13)]
        + [Call(GUILD, NOW_DAY, user_id=99, cost_micros=None)],
    )
    report = await build_report(repo, GUILD, period="7d", now=NOW)

    data = await chart_data(repo, report, {12: "Zed"}, top=3)

    assert [s.label for s in data.series] == ["Zed", "user 11", "user 10", "other"]
    assert len(data.days) == 7
    assert sum(sum(s.values_micros) for s in data.series) == report.totals.cost_micros
    assert data.series[-1].values_micros[-1] == 1_000 * (3 + 6 + 9)
    assert "1 unpriced calls not in the cost" in data.subtitle


async def test_chart_data_by_day_is_one_series(db: Database, repo: UsageReportRepository) -> None:
    await insert_calls(db, [Call(GUILD, NOW_DAY - 2, cost_micros=5), Call(GUILD, NOW_DAY)])
    report = await build_report(repo, GUILD, period="7d", group_by="day", now=NOW)

    data = await chart_data(repo, report)

    assert [s.label for s in data.series] == ["cost"]
    assert list(data.series[0].values_micros) == [0, 0, 0, 0, 5, 0, 1_000]


async def test_report_chart_with_only_unpriced_usage_says_so(
    db: Database, repo: UsageReportRepository
) -> None:
    await insert_calls(db, [Call(GUILD, NOW_DAY, cost_micros=None)])
    report = await build_report(repo, GUILD, period="today", group_by="model", now=NOW)

    data = await chart_data(repo, report)
    png = await report_chart(repo, report)

    assert data.empty_message is not None and "unpriced" in data.empty_message
    assert _png_size(png) == _decoded_size(png)


def test_render_cost_chart_tiny_costs_and_a_long_range() -> None:
    from datetime import date, timedelta

    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(400)]
    data = chart.ChartData(
        "Usage cost per day — x",
        "All time",
        days,
        [
            chart.Series("gpt-" + "x" * 80, [i % 7 for i in range(400)]),
            chart.Series("🔥", [1] * 400, "user 5"),
        ],
    )

    png = chart.render_cost_chart(data)

    assert _png_size(png) == _decoded_size(png)
