"""The `billing-reports` group: `/usage-report` on a large ledger.

A real database file gets N ledger rows (1,000,000; `--quick`: 3,000) written with one
`executemany` in one transaction, so the rollup trigger fills `usage_daily` as in production:
90 days, one busy guild (50 members, 20 channels, 5 models, one of them unpriced) with 90% of
the calls, the rest spread over other guilds and DMs. Members stick to a few home channels
and favourite models most of the time, as people do.

Then, for every period and grouping, the median of several runs of what the cog does for the
`table` and `csv` formats: build the report (the query plus totals), the embed spec and the
CSV text. Target: under 200 ms each. The chart (query + matplotlib render) is reported
separately, for information. `/usage` (one member's month) is reported too.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from bench.results import Result, Target, median, time_async
from bot.billing.reports import (
    REPORT_PERIODS,
    ReportPeriod,
    build_report,
    member_usage,
    report_chart,
    report_csv,
    report_embed,
)
from bot.storage.database import Database
from bot.storage.usage_reports import GROUP_BYS, GroupBy, UsageReportRepository

GROUP = "billing-reports"
TARGET_MS = 200.0
NOW = datetime(2026, 11, 21, 15, 30, tzinfo=UTC)
DAY_MS = 86_400_000
DAYS = 90
GUILD = 1_000_000_001
NOISE_GUILDS = (1_000_000_002, 1_000_000_003, None)
MODELS = ("gpt-4.1", "gpt-4.1-mini", "o4-mini", "claude-sonnet", "local-llama")  # last: unpriced

INSERT_LEDGER = """
    INSERT INTO usage_ledger (idempotency_key, created_at, guild_id, channel_id, user_id, model,
        prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens, input_price,
        cached_price, output_price, price_source, cost_micros, status, usage_source)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'provider')
"""

LedgerRow = tuple[object, ...]


def ledger_rows(n: int, seed: int = 1) -> Iterator[LedgerRow]:
    rng = random.Random(seed)
    members = [2_000_000 + i for i in range(50)]
    channels = [3_000_000 + i for i in range(20)]
    habits = {m: (rng.sample(channels, 3), rng.sample(MODELS, 2)) for m in members}
    last_day = (NOW - datetime(1970, 1, 1, tzinfo=UTC)).days
    now_ms = last_day * DAY_MS + (NOW.hour * 3600 + NOW.minute * 60) * 1000
    for i in range(n):
        guild = GUILD if rng.random() < 0.9 else rng.choice(NOISE_GUILDS)
        member = rng.choice(members)
        home_channels, home_models = habits[member]
        channel = rng.choice(home_channels) if rng.random() < 0.8 else rng.choice(channels)
        model = rng.choice(home_models) if rng.random() < 0.8 else rng.choice(MODELS)
        created = now_ms - rng.randrange(DAYS * DAY_MS)
        prompt = rng.randint(200, 20_000)
        cached = prompt // rng.choice((1, 2, 4, 10))
        completion = rng.randint(20, 3_000)
        reasoning = completion // 3 if model == "o4-mini" else 0
        priced = model != "local-llama"
        cost = (prompt - cached) * 2 + cached // 2 + completion * 8 if priced else None
        yield (
            f"bench-{i}",
            created,
            guild,
            channel if guild is not None else None,
            member,
            model,
            prompt,
            cached,
            completion,
            reasoning,
            2_000_000 if priced else None,
            500_000 if priced else None,
            8_000_000 if priced else None,
            "catalog" if priced else None,
            cost,
            "completed" if rng.random() < 0.97 else "stopped",
        )


async def build_ledger(db: Database, n: int) -> None:
    async with db.transaction() as conn:
        await conn.executemany(INSERT_LEDGER, ledger_rows(n))
    # Fresh statistics, as a database that has been running has (autovacuum on PostgreSQL).
    async with db.reading() as conn:
        await conn.execute("ANALYZE")


async def _time_report(
    repo: UsageReportRepository, period: ReportPeriod, group_by: GroupBy, runs: int
) -> float:
    """Median seconds of what the cog does for `table` and `csv`: report, embed spec, CSV."""

    async def table_and_csv() -> None:
        report = await build_report(repo, GUILD, period=period, group_by=group_by, now=NOW)
        report_embed(report)
        report_csv(report)

    return median([await time_async(table_and_csv) for _ in range(runs)])


async def _time_chart(
    repo: UsageReportRepository, period: ReportPeriod, group_by: GroupBy, runs: int
) -> float:
    report = await build_report(repo, GUILD, period=period, group_by=group_by, now=NOW)

    async def chart() -> None:
        await report_chart(repo, report, None, "bench")

    return median([await time_async(chart) for _ in range(runs)])


async def run(quick: bool) -> list[Result]:
    n = 3_000 if quick else 1_000_000
    runs = 2 if quick else 7
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as folder:
        async with Database.open(Path(folder) / "reports.db") as db:
            return await measure(db, n, runs, group=GROUP, engine="")


async def measure(
    db: Database,
    n: int,
    runs: int,
    *,
    group: str,
    engine: str,
    build: Callable[[Database, int], Awaitable[None]] = build_ledger,
    how: str = "executemany + rollup trigger",
) -> list[Result]:
    """Build an `n`-row ledger in `db` and time every report on it (the PostgreSQL group
    runs this too, with `engine` naming it in each row)."""
    size = f"{n:,}-row ledger"
    on = f" ({engine})" if engine else ""
    results: list[Result] = []
    started = time.perf_counter()
    await build(db, n)
    built_s = time.perf_counter() - started
    async with db.reading() as conn:
        rollup = int(await conn.scalar("SELECT COUNT(*) FROM usage_daily"))
    results.append(
        Result(
            group,
            f"build the {size} ({how}){on}",
            built_s,
            "s",
            note=f"{rollup:,} usage_daily rows",
        )
    )
    repo = UsageReportRepository(db)
    note = f"each: build report + embed spec + CSV text, median of {runs} runs, {size}"
    for period in REPORT_PERIODS:
        for group_by in GROUP_BYS:
            seconds = await _time_report(repo, period, group_by, runs)
            results.append(
                Result(
                    group,
                    f"/usage-report {period} by {group_by}{on}",
                    seconds * 1000,
                    "ms",
                    Target(TARGET_MS),
                    note=note,
                )
            )
            note = ""  # said once, under the first row
    for period, group_by in (("30d", "user"), ("all", "day")):
        seconds = await _time_chart(repo, period, group_by, 1 if runs <= 2 else 3)
        name = f"/usage-report {period} by {group_by}, chart PNG (incl. render){on}"
        results.append(Result(group, name, seconds * 1000, "ms"))

    since = NOW.replace(day=1, hour=0, minute=30)  # not midnight: rollup + ledger

    async def usage() -> None:
        await member_usage(repo, GUILD, 2_000_000, since)

    seconds = median([await time_async(usage) for _ in range(runs)])
    results.append(Result(group, f"/usage one member, this month{on}", seconds * 1000, "ms"))
    return results
