"""The `billing` group: what metering costs per LLM call.

Reserve + settle throughput: one database connection (the bot's), a server budget and a
member budget in place, a ledger that already holds a month of calls; each iteration is one
`Meter.before_call` (budget check + hold) followed by one `Meter.after_call` (hold deleted +
ledger row appended, rollup trigger, 80 % check), run back to back by a few concurrent tasks
like answers in flight (the meter batches what they ask at once: one transaction a batch).

Each part is its own function so other billing benchmarks (reports) can join the group.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.results import Result, Target
from bot.billing.meter import Meter
from bot.billing.pricing import PriceBook
from bot.llm.types import ChatMessage, ChatRequest, RoundStarted, Usage, UsageReported
from bot.services.ports import TurnContext
from bot.storage.budgets import BudgetRepository
from bot.storage.database import Database
from bot.storage.models import Conversation, StoredMessage
from bot.storage.prices import PriceRepository
from bot.storage.sql import SyncConn
from bot.storage.usage import LedgerEntry, append_entry

GROUP = "billing"
GUILD = 1
MODEL = "bench-model"
RESERVE_SETTLE_TARGET = 2_000.0  # calls per second
_DAY_MS = 86_400_000


def _turn(answer_id: int, user_id: int) -> TurnContext:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    conversation = Conversation(
        answer_id % 50, "thread", GUILD, 100 + answer_id % 7, 99, None, None, user_id,
        created, None,
    )  # fmt: skip
    message = StoredMessage(
        answer_id, conversation.id, "user", "hi", user_id, "member", None, "complete", None,
        created,
    )  # fmt: skip
    return TurnContext(conversation, message, answer_id, MODEL)


async def _seed_ledger(db: Database, now: datetime, rows: int) -> None:
    """A month of earlier calls in the guild, so the budget sums read real rollup rows."""
    start_ms = int((now - timedelta(days=30)).timestamp() * 1000)
    step = 30 * _DAY_MS // max(rows, 1)

    def seed(conn: SyncConn) -> None:
        for n in range(rows):
            entry = LedgerEntry(
                f"seed:{n}", start_ms + n * step, GUILD, 100 + n % 7, 1000 + n % 40, n % 50,
                None, "answer", MODEL, 1200, 300, 250, 0, 1_000_000, 500_000, 2_000_000,
                "override", 1_000, "completed", "provider",
            )  # fmt: skip
            append_entry(conn, entry)

    await db.run_in_transaction(seed)


async def reserve_settle(quick: bool) -> list[Result]:
    calls = 200 if quick else 6_000
    tasks = 4
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as folder:
        async with Database.open(Path(folder) / "billing.db") as db:
            prices = PriceBook(PriceRepository(db))
            await prices.set_override(MODEL, "1", "2", "0.5")
            budgets = BudgetRepository(db)
            # Large enough never to refuse: the benchmark measures the accepted path.
            await budgets.set(GUILD, None, "month", 10**12, updated_by=None)
            for user in range(1000, 1040):
                await budgets.set(GUILD, user, "day", 10**11, updated_by=None)
            await _seed_ledger(db, now, 500 if quick else 20_000)
            # As in the bot: every hold carries this process run's owner id.
            meter = Meter(db, prices, owner=uuid.uuid4().hex)
            request = ChatRequest(
                MODEL, [ChatMessage("user", "What is the weather in Zürich today?")],
                max_tokens=1024,
            )  # fmt: skip
            usage = Usage(prompt_tokens=1500, completion_tokens=300, cached_tokens=1000)
            event = UsageReported(1, MODEL, usage, "completed")

            async def worker(first: int) -> None:
                for answer in range(first, first + calls // tasks):
                    hold = await meter.before_call(
                        _turn(answer, 1000 + answer % 40), RoundStarted(1, request)
                    )
                    await meter.after_call(hold, event)

            await worker(10**9)  # warm-up: statement cache, catalog, pages in memory
            started = time.perf_counter()
            await asyncio.gather(*(worker(n * calls) for n in range(tasks)))
            elapsed = time.perf_counter() - started
            done = tasks * (calls // tasks)
    return [
        Result(
            GROUP,
            "reserve + settle (server + member budget)",
            done / elapsed,
            "calls/s",
            Target(RESERVE_SETTLE_TARGET, higher_is_better=True),
            note=f"{done} calls by {tasks} tasks on one connection, ledger seeded",
        )
    ]


async def run(quick: bool) -> list[Result]:
    results: list[Result] = []
    results += await reserve_settle(quick)
    return results
