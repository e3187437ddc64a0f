"""Identify pacing through PostgreSQL: the gate for processes on several hosts.

With DATABASE_URL every process of the bot reaches the same PostgreSQL server, so the turn
to IDENTIFY is a session-level advisory lock per bucket (`shard_id % max_concurrency`) on
a connection of its own: a shard takes the lock, IDENTIFYs, and the lock is held
`window_s` longer before the connection closes (closing a session drops its advisory
locks), so the bucket's next IDENTIFY, from any process, comes at least 5 s later. A
process that dies drops its lock with its connection. No table: the lock is the state.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

import psycopg

from bot.sharding.identify import IDENTIFY_WINDOW_S, MARGIN_S
from bot.tasks import spawn

log = logging.getLogger(__name__)

# The advisory lock's first key: "SBID" (Switchboard identify); the second is the bucket.
IDENTIFY_LOCK = 0x53424944


def conninfo(url: str) -> str:
    """psycopg takes postgresql://… (SQLAlchemy's driver suffix removed)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class PgIdentifyGate:
    def __init__(
        self,
        url: str,
        max_concurrency: int = 1,
        *,
        window_s: float = IDENTIFY_WINDOW_S,
        margin_s: float = MARGIN_S,
    ) -> None:
        self._url = conninfo(url)
        self.max_concurrency = max(1, max_concurrency)
        self.window_s = window_s
        self.margin_s = margin_s
        self._holding: set[asyncio.Task[None]] = set()

    async def wait_turn(self, shard_id: int) -> None:
        bucket = shard_id % self.max_concurrency
        conn = await psycopg.AsyncConnection.connect(
            self._url,
            autocommit=True,
            application_name=f"switchboard identify (pid {os.getpid()} on {socket.gethostname()})",
        )
        try:
            await conn.execute("SELECT pg_advisory_lock(%s, %s)", (IDENTIFY_LOCK, bucket))
        except BaseException:
            await conn.close()
            raise
        task = spawn(self._hold(conn), name=f"identify-turn {bucket}")
        self._holding.add(task)
        task.add_done_callback(self._holding.discard)

    async def _hold(self, conn: psycopg.AsyncConnection[object]) -> None:
        try:
            await asyncio.sleep(self.window_s + self.margin_s)
        finally:
            await conn.close()

    async def close(self) -> None:
        """Let go of turns still held (the bot is stopping)."""
        for task in list(self._holding):
            task.cancel()
        await asyncio.gather(*self._holding, return_exceptions=True)
