"""`/usage-report` and `/usage` data: periods → UTC day ranges, grouped rows and totals, and
the three renderings an admin can ask for — an embed spec (`report_embed`), CSV text
(`report_csv`) and a PNG chart (`report_chart`).

Every report belongs to exactly one guild: it is a required argument all the way down to
the SQL. Rows carry ids; the caller (a cog) resolves names and hands them in as one
`names` mapping (Discord snowflakes are unique across users and channels).

CSV: a header row, then one row per group, no total row. `cost_usd` is the
priced part of the group's cost in dollars with 6 decimals; it is empty when every call of
the group had no known price, and when only some had none it is the cost of the priced
calls alone (the unpriced ones still count in `calls` and the token columns). Text cells
that start with `=`, `+`, `-`, `@`, tab or carriage return get a leading `'` so that
spreadsheets show a member's or model's name instead of running it as a formula.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, get_args

from bot.billing import chart
from bot.billing.report_embed import EmbedSpec, build_embed
from bot.money import usd_exact
from bot.storage.usage_reports import (
    GroupBy,
    UsageReportRepository,
    UsageRow,
    UsageTotals,
    date_to_day,
    day_to_date,
)

log = logging.getLogger(__name__)

ReportPeriod = Literal["today", "7d", "30d", "month", "all"]
REPORT_PERIODS: tuple[ReportPeriod, ...] = get_args(ReportPeriod)
DEFAULT_PERIOD: ReportPeriod = "30d"
DEFAULT_GROUP_BY: GroupBy = "user"
CHART_TOP_GROUPS = 8

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class UsageReport:
    """One guild's usage over `first..last` (UTC days, inclusive), grouped."""

    guild_id: int
    period: ReportPeriod
    group_by: GroupBy
    first: date
    last: date
    rows: tuple[UsageRow, ...]
    totals: UsageTotals

    @property
    def period_label(self) -> str:
        return period_label(self.period, self.first, self.last)


def utc_today(now: datetime | None = None) -> date:
    moment = datetime.now(UTC) if now is None else now
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: reports are computed in aware UTC")
    return moment.astimezone(UTC).date()


def period_start(period: ReportPeriod, today: date) -> date | None:
    """The first UTC day of `period` ending `today`; None for `all` (from the first usage)."""
    if period == "today":
        return today
    if period == "7d":
        return today - timedelta(days=6)
    if period == "30d":
        return today - timedelta(days=29)
    if period == "month":
        return today.replace(day=1)
    if period == "all":
        return None
    raise ValueError(f"unknown report period {period!r}")


def period_label(period: ReportPeriod, first: date, last: date) -> str:
    span = f"{first:%Y-%m-%d}" if first == last else f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"
    names: dict[ReportPeriod, str] = {
        "today": "Today",
        "7d": "Last 7 days",
        "30d": "Last 30 days",
        "month": f"{last:%B %Y}",
        "all": "All time",
    }
    return f"{names[period]} ({span} UTC)"


async def build_report(
    repo: UsageReportRepository,
    guild_id: int,
    *,
    period: ReportPeriod = DEFAULT_PERIOD,
    group_by: GroupBy = DEFAULT_GROUP_BY,
    now: datetime | None = None,
) -> UsageReport:
    """The guild's usage for `period` grouped by `group_by`, with totals."""
    today = utc_today(now)
    first = period_start(period, today)
    if first is None:
        earliest = await repo.first_day(guild_id)
        first = today if earliest is None else min(day_to_date(earliest), today)
    rows = await repo.groups(guild_id, group_by, date_to_day(first), date_to_day(today))
    totals = sum((r.usage for r in rows), UsageTotals())
    return UsageReport(guild_id, period, group_by, first, today, tuple(rows), totals)


async def member_usage(
    repo: UsageReportRepository, guild_id: int, user_id: int, since: datetime
) -> UsageTotals:
    """`/usage`: the member's tokens and cost in the guild from `since` (aware) until now.

    The caller picks `since`: the start of their budget's period, or of the current month.
    """
    if since.tzinfo is None or since.utcoffset() is None:
        raise ValueError("naive datetime: `since` must be aware UTC")
    since_ms = (since - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    return await repo.member_totals(guild_id, user_id, since_ms)


def group_label(row: UsageRow, names: Mapping[int, str] | None) -> str:
    """A human label for the row's group: a resolved name, else a readable fallback."""
    if row.group_by == "user":
        return _id_label(row.user_id, names, "user", "(no user)")
    if row.group_by == "channel":
        label = _id_label(row.channel_id, names, "channel", "(no channel)")
        known = row.channel_id is not None and names is not None and row.channel_id in names
        return f"#{label}" if known else label
    if row.group_by == "model":
        return row.model or "(unknown model)"
    assert row.day is not None
    return f"{row.day:%Y-%m-%d}"


def _id_label(ident: int | None, names: Mapping[int, str] | None, kind: str, none: str) -> str:
    if ident is None:
        return none
    if names is not None and (name := names.get(ident)):
        return name
    return f"{kind} {ident}"


def report_embed(
    report: UsageReport, names: Mapping[int, str] | None = None, guild_name: str | None = None
) -> EmbedSpec:
    """The `table` format: what the cog turns into one embed (within Discord's limits)."""
    labels = [group_label(r, names) for r in report.rows]
    return build_embed(report, labels, guild_name)


# --- CSV -------------------------------------------------------------------------------

_KEY_HEADERS: dict[GroupBy, tuple[str, ...]] = {
    "user": ("user_id", "user_name"),
    "model": ("model",),
    "day": ("day",),
    "channel": ("channel_id", "channel_name"),
}
COUNT_HEADERS = (
    "calls",
    "prompt_tokens",
    "cached_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cost_usd",
)


def csv_header(group_by: GroupBy) -> tuple[str, ...]:
    return _KEY_HEADERS[group_by] + COUNT_HEADERS


def safe_cell(text: str) -> str:
    """Neutralise spreadsheet formula injection: text starting with a formula character
    gets a leading apostrophe (OWASP's advice), so it is shown, never evaluated."""
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def _key_cells(row: UsageRow, names: Mapping[int, str] | None) -> list[str]:
    def id_cells(ident: int | None) -> list[str]:
        if ident is None:
            return ["", ""]
        name = names.get(ident, "") if names is not None else ""
        return [str(ident), safe_cell(name)]

    if row.group_by == "user":
        return id_cells(row.user_id)
    if row.group_by == "channel":
        return id_cells(row.channel_id)
    if row.group_by == "model":
        return [safe_cell(row.model or "")]
    assert row.day is not None
    return [f"{row.day:%Y-%m-%d}"]


def report_csv(report: UsageReport, names: Mapping[int, str] | None = None) -> str:
    """The CSV format: header, one row per group (report order), no total row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(csv_header(report.group_by))
    for row in report.rows:
        u = row.usage
        cost = "" if u.all_unpriced else usd_exact(u.cost_micros)
        writer.writerow(
            [
                *_key_cells(row, names),
                u.calls,
                u.prompt_tokens,
                u.cached_tokens,
                u.completion_tokens,
                u.reasoning_tokens,
                cost,
            ]
        )
    return out.getvalue()


# --- chart -----------------------------------------------------------------------------


async def report_chart(
    repo: UsageReportRepository,
    report: UsageReport,
    names: Mapping[int, str] | None = None,
    guild_name: str | None = None,
    *,
    top: int = CHART_TOP_GROUPS,
) -> bytes:
    """The `chart` format: PNG bytes of cost per day, stacked by the report's grouping (its
    `top` costliest groups plus "other"; plain bars per day for `day`). Renders in a worker
    thread: matplotlib is CPU-bound and would otherwise stall the event loop."""
    data = await chart_data(repo, report, names, guild_name, top=top)
    return await asyncio.to_thread(chart.render_cost_chart, data)


async def chart_data(
    repo: UsageReportRepository,
    report: UsageReport,
    names: Mapping[int, str] | None = None,
    guild_name: str | None = None,
    *,
    top: int = CHART_TOP_GROUPS,
) -> chart.ChartData:
    first_day, last_day = date_to_day(report.first), date_to_day(report.last)
    days = [day_to_date(d) for d in range(first_day, last_day + 1)]
    index = {d: i for i, d in enumerate(days)}
    where = guild_name or f"server {report.guild_id}"
    title = f"Usage cost per day — {where}"
    subtitle = report.period_label
    if report.totals.unpriced_calls:
        subtitle += f" · {report.totals.unpriced_calls:,} unpriced calls not in the cost"
    series: list[chart.Series] = []
    legend = True
    if report.group_by == "day":
        values = [0] * len(days)
        for row in report.rows:
            if row.day is not None and row.day in index:
                values[index[row.day]] = row.cost_micros
        series.append(chart.Series("cost", values))
        legend = False
    else:
        # Top groups by cost over the whole period (report rows are sorted that way).
        ranked = [r for r in report.rows if r.cost_micros > 0]
        shown = ranked if len(ranked) <= top + 1 else ranked[:top]
        slot = {r.key: i for i, r in enumerate(shown)}
        stacks = [[0] * len(days) for _ in range(len(shown) + 1)]
        for cost in await repo.daily_costs(report.guild_id, report.group_by, first_day, last_day):
            stacks[slot.get(cost.key, len(shown))][index[cost.day]] += cost.cost_micros
        series = [
            # The fallback (an id) shows when a name has nothing the chart's fonts can draw.
            chart.Series(group_label(r, names), stacks[i], fallback=group_label(r, None))
            for i, r in enumerate(shown)
        ]
        if any(stacks[-1]):
            series.append(chart.Series("other", stacks[-1], muted=True))
    empty: str | None = None
    if report.totals.calls == 0:
        empty = "No usage in this period"
    elif report.totals.cost_micros == 0:
        empty = f"No priced usage in this period ({report.totals.calls:,} unpriced calls)"
    return chart.ChartData(title, subtitle, days, series, empty, legend)
