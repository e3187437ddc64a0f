"""The `postgresql` group: the bot's database work on PostgreSQL, from several processes.

A throwaway PostgreSQL server (the tests' own, `tests/pg_server.py`) in a temporary folder:

- reserve + settle (`Meter.before_call` + `Meter.after_call`, the path around every model
  call) from 4 processes x 25 concurrent tasks over one database, in calls per second for
  all of them together; beside it, SQLite's figure for one process x 25 tasks, measured the
  same way in the same run (SQLite admits one writer at a time, so more processes add
  nothing there);
- what bounds that figure: the CPU time one call costs the client processes and the
  PostgreSQL server, measured over the same race, and the calls per second this machine's
  cores could give at most at that cost (the client processes and the server share them);
- overspend: the same 4 x 25 against a server budget that can hold only part of the calls'
  worst case; after the race the ledger's spending must not exceed the budget (target 0);
- `/usage-report` on a 1,000,000-row ledger (the billing-reports group's ledger and
  queries, on PostgreSQL; the ledger loaded in bulk, its roll-up built by one GROUP BY).

Quick: 2 processes instead of 4, 2 calls per task. Needs PostgreSQL's server binaries
(`initdb`, `pg_ctl`, `postgres`); without them the group reports that it could not run.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench import reports
from bench.billing import GUILD, MODEL, _seed_ledger
from bench.results import Result, Target
from bot.billing.pricing import PriceBook
from bot.storage.budgets import BudgetRepository
from bot.storage.database import Database
from bot.storage.prices import PriceRepository
from tests.pg_server import ThrowawayPostgres, find_binaries

GROUP = "postgresql"
CALLS_TARGET = 1_000.0  # calls per second, all processes together
ROOT = Path(__file__).resolve().parent.parent


async def _prepare(target: str | Path, server_budget: int, seed_rows: int) -> None:
    async with Database.open(target) as db:
        await PriceBook(PriceRepository(db)).set_override(MODEL, "1", "2", "0.5")
        budgets = BudgetRepository(db)
        await budgets.set(GUILD, None, "month", server_budget, updated_by=None)
        for user in range(1000, 1040):
            await budgets.set(GUILD, user, "day", 10**11, updated_by=None)
        await _seed_ledger(db, datetime.now(UTC), seed_rows)


async def _race(target: str | Path, processes: int, tasks: int, calls: int) -> dict[str, float]:
    """Start the processes, let them all connect, start them at once; calls/s overall."""
    command = [sys.executable, "-m", "bench.pg_calls", str(target)]
    pipe = asyncio.subprocess.PIPE
    workers = [
        await asyncio.create_subprocess_exec(
            *command, str(p), str(tasks), str(calls), cwd=ROOT, stdin=pipe, stdout=pipe
        )
        for p in range(processes)
    ]
    for worker in workers:
        assert worker.stdout is not None
        line = await worker.stdout.readline()
        if line != b"ready\n":
            raise RuntimeError(f"a benchmark process failed to start: {line!r}")
    outputs = await asyncio.gather(*(w.communicate(b"go\n") for w in workers))
    done = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
    window = max(d["end"] for d in done) - min(d["start"] for d in done)
    held = sum(d["held"] for d in done)
    refused = sum(d["refused"] for d in done)
    cpu = sum(d["cpu"] for d in done)  # CPU seconds of the client processes during the race
    return {"rate": (held + refused) / window, "held": held, "refused": refused, "cpu": cpu}


def server_cpu_s(server: ThrowawayPostgres) -> float:
    """CPU seconds the server has used so far: the postmaster with the backends it has reaped,
    and its live backends (Linux's /proc; NaN elsewhere)."""
    try:
        postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # ended meanwhile
            fields = stat.rsplit(")", 1)[1].split()
            parent, times = int(fields[1]), [int(t) for t in fields[11:15]]
            if int(entry.name) == postmaster:
                total += sum(times)  # its own and its reaped children's
            elif parent == postmaster:
                total += times[0] + times[1]
        return total / tick
    except (OSError, ValueError, IndexError):
        return math.nan


async def _spent_and_budget(url: str) -> tuple[int, int]:
    async with Database.open(url) as db, db.reading() as conn:
        spent = await conn.scalar(
            "SELECT COALESCE(SUM(cost_micros), 0) FROM usage_ledger WHERE guild_id = ?", (GUILD,)
        )
        budget = await conn.scalar(
            "SELECT amount_micros FROM budgets WHERE guild_id = ? AND user_id IS NULL", (GUILD,)
        )
    return int(spent), int(budget)


async def run(quick: bool) -> list[Result]:
    binaries = find_binaries()
    if binaries is None:
        return [Result(GROUP, "PostgreSQL not installed (no initdb): group skipped", math.nan, "")]
    calls = 2 if quick else 40
    seed = 500 if quick else 20_000
    # Each process starts by importing the bot (about a second of CPU): quick runs two.
    processes = 2 if quick else 4
    server = ThrowawayPostgres(binaries)
    results: list[Result] = []
    try:
        await asyncio.to_thread(server.start)
        url = server.url(await asyncio.to_thread(server.create_database))
        await _prepare(url, 10**12, seed)
        server_before = server_cpu_s(server)
        pg = await _race(url, processes, 25, calls)
        server_cpu = server_cpu_s(server) - server_before
        with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as folder:
            path = Path(folder) / "billing.db"
            await _prepare(path, 10**12, seed)
            lite = await _race(path, 1, 25, calls * processes)
        note = f"{pg['held']:,} calls, ledger seeded with {seed:,} rows"
        results.append(
            Result(
                GROUP,
                f"reserve + settle, PostgreSQL, {processes} processes x 25 concurrent",
                pg["rate"],
                "calls/s",
                Target(CALLS_TARGET, higher_is_better=True),
                note=note,
            )
        )
        results.append(
            Result(
                GROUP,
                "reserve + settle, SQLite, 1 process x 25 concurrent (reference)",
                lite["rate"],
                "calls/s",
                note=f"{lite['held']:,} calls, same run; client CPU "
                f"{1000 * lite['cpu'] / lite['held']:.2f} ms a call",
            )
        )
        results += _cpu_bound(pg, server_cpu)

        # Overspend: a fresh database whose server budget covers a third of the worst cases.
        tight = server.url(await asyncio.to_thread(server.create_database))
        worst_per_call = 1024 * 2 + 20  # output at 2 µ$/token, plus the prompt: ~2,070 µ$
        await _prepare(tight, processes * 25 * calls * worst_per_call // 3, 0)
        race = await _race(tight, processes, 25, calls)
        spent, budget = await _spent_and_budget(tight)
        results.append(
            Result(
                GROUP,
                f"overspend, {processes} x 25 against a budget for part of the calls",
                max(spent - budget, 0),
                "µ$",
                Target(1.0),
                note=f"{race['held']} held, {race['refused']} refused; spent {spent:,} of "
                f"{budget:,} µ$",
            )
        )
        results += await _reports_on(server, quick)
    finally:
        await asyncio.to_thread(server.stop)
    return results


def _cpu_bound(race: dict[str, float], server_cpu: float) -> list[Result]:
    """CPU per call on PostgreSQL, client processes and server, and the rate that cost allows
    on this machine's cores at most (if nothing else ran on them)."""
    calls = race["held"] + race["refused"]
    client_ms, server_ms = 1000 * race["cpu"] / calls, 1000 * server_cpu / calls
    cores = os.cpu_count() or 1
    return [
        Result(
            GROUP,
            "CPU per call on PostgreSQL, client processes + server",
            client_ms + server_ms,
            "ms",
            note=f"client {client_ms:.2f} ms + server {server_ms:.2f} ms, same race",
        ),
        Result(
            GROUP,
            f"most calls/s that CPU cost allows on {cores} cores",
            cores * 1000 / (client_ms + server_ms),
            "calls/s",
            note="the 4 client processes and the server share the cores; other load lowers it",
        ),
    ]


# The roll-up the ledger's trigger keeps, built in one statement from the whole ledger.
_ROLLUP_DAILY = """
    INSERT INTO usage_daily (guild_id, day, user_id, channel_id, model, calls, prompt_tokens,
                             cached_tokens, completion_tokens, reasoning_tokens, cost_micros,
                             unpriced_calls)
    SELECT COALESCE(guild_id, 0), created_at / 86400000, COALESCE(user_id, 0),
           COALESCE(channel_id, 0), model, COUNT(*), SUM(prompt_tokens), SUM(cached_tokens),
           SUM(completion_tokens), SUM(reasoning_tokens), COALESCE(SUM(cost_micros), 0),
           SUM(CASE WHEN cost_micros IS NULL THEN 1 ELSE 0 END)
    FROM usage_ledger GROUP BY 1, 2, 3, 4, 5
"""


async def build_ledger_bulk(db: Database, n: int) -> None:
    """The same ledger as the billing-reports group's, loaded in bulk: its triggers (run per
    statement, and a bulk insert here is a statement per row) are off for this session, and
    the roll-up the reports read is built by one GROUP BY instead."""
    rows = reports.ledger_rows(n)
    async with db.transaction() as conn:
        await conn.execute("SET LOCAL session_replication_role = replica")
        while batch := list(itertools.islice(rows, 20_000)):
            await conn.executemany(reports.INSERT_LEDGER, batch)
        await conn.execute(_ROLLUP_DAILY)
    async with db.reading() as conn:
        await conn.execute("ANALYZE")


async def _reports_on(server: ThrowawayPostgres, quick: bool) -> list[Result]:
    n = 3_000 if quick else 1_000_000
    url = server.url(await asyncio.to_thread(server.create_database))
    async with Database.open(url) as db:
        return await reports.measure(
            db, n, 2 if quick else 5, group=GROUP, engine="PostgreSQL",
            build=build_ledger_bulk, how="bulk load + one GROUP BY roll-up",
        )  # fmt: skip
