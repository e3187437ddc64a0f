"""One process of the cross-process budget test: `python -m tests.billing.reserve_worker URL
PROCESS CONCURRENCY AMOUNT` opens the database and makes CONCURRENCY reservations of AMOUNT
at once against the budgets of guild 1 (each as its own member), then prints how many
were held. It says `ready` once connected and starts at the line its parent sends then, so
every process races at once."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime

from bot.billing.meter import period_days
from bot.storage.database import Database
from bot.storage.reservations import ReservationRepository

GUILD = 1


async def main(url: str, process: int, concurrency: int, amount: int) -> int:
    now = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    async with Database.open(url) as db:
        reservations = ReservationRepository(db)
        async with db.reading() as conn:  # connected, not only configured
            await conn.scalar("SELECT 1")
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)

        async def one(n: int) -> bool:
            outcome = await reservations.reserve(
                f"p{process}-c{n}", GUILD, 1000 + n, amount, int(time.time() * 1000),
                period_days(now),
            )  # fmt: skip
            return outcome.held

        held = await asyncio.gather(*(one(n) for n in range(concurrency)))
    return sum(held)


if __name__ == "__main__":
    url, process, concurrency, amount = sys.argv[1], *map(int, sys.argv[2:5])
    print(asyncio.run(main(url, process, concurrency, amount)))
