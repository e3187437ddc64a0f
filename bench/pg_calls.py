"""One process of the cross-process billing benchmark: `python -m bench.pg_calls TARGET
PROCESS TASKS CALLS` opens the database (a PostgreSQL URL or a SQLite path), says `ready`,
waits for a line on stdin, then runs TASKS concurrent tasks of CALLS reserve + settle each
(`Meter.before_call` then `Meter.after_call`, the bot's own path) and prints one JSON line:
when it started and ended (wall clock), how many calls were held and how many refused."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from bench.billing import MODEL, _turn
from bot.billing.meter import Meter
from bot.billing.pricing import PriceBook
from bot.errors import BudgetExceededError
from bot.llm.types import ChatMessage, ChatRequest, RoundStarted, Usage, UsageReported
from bot.storage.database import Database
from bot.storage.prices import PriceRepository

REQUEST = ChatRequest(
    MODEL, [ChatMessage("user", "What is the weather in Zürich today?")], max_tokens=1024
)
STARTED = RoundStarted(1, REQUEST)
EVENT = UsageReported(
    1, MODEL, Usage(prompt_tokens=1500, completion_tokens=300, cached_tokens=1000), "completed"
)


async def main(target: str, process: int, tasks: int, calls: int) -> dict[str, float]:
    async with Database.open(target) as db:
        meter = Meter(db, PriceBook(PriceRepository(db)))
        held = refused = 0

        async def worker(task: int) -> None:
            nonlocal held, refused
            for n in range(calls):
                answer = (process * 1000 + task) * 100_000 + n
                try:
                    hold = await meter.before_call(_turn(answer, 1000 + answer % 40), STARTED)
                except BudgetExceededError:
                    refused += 1
                    continue
                await meter.after_call(hold, EVENT)
                held += 1

        await worker(99)  # warm-up: prices cached, connections open, statements compiled
        held = refused = 0
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        started, cpu = time.time(), time.process_time()
        await asyncio.gather(*(worker(task) for task in range(tasks)))
        ended, cpu = time.time(), time.process_time() - cpu
    return {"start": started, "end": ended, "held": held, "refused": refused, "cpu": cpu}


if __name__ == "__main__":
    target, process, tasks, calls = sys.argv[1], *map(int, sys.argv[2:5])
    print(json.dumps(asyncio.run(main(target, process, tasks, calls))), flush=True)
