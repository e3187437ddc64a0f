"""Periodic jobs that run once across processes, not once per process (retention).

Every process runs the same loop and asks often; a run happens only when the job's row in
`periodic_jobs` says the interval has passed. The claim and the work share one
transaction: the claim is a conditional UPDATE that moves `last_run_at` forward, then the
work runs on the same connection, and COMMIT makes both visible together.

- On SQLite, `BEGIN IMMEDIATE` admits one writer at a time: the second process's
  transaction begins after the first committed and finds the interval not yet passed.
- On PostgreSQL, the UPDATE locks the job's row until COMMIT. A second process's UPDATE
  waits for that lock and then, under READ COMMITTED, checks its WHERE again against the
  committed row: the interval has not passed, it changes nothing and skips the work. So the
  row lock already does what an advisory lock would, and the same code serves both engines.

A run that fails rolls its claim back with its work, so the next ask (by any process) tries
again instead of waiting a whole interval. Times are the database's clock, like heartbeats.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.storage.database import Database
from bot.storage.owners import db_now_ms
from bot.storage.sql import Conn

log = logging.getLogger(__name__)

T = TypeVar("T")

_ENSURE = """
    INSERT INTO periodic_jobs (name, last_run_at, run_by) VALUES (?, 0, NULL)
    ON CONFLICT (name) DO NOTHING
"""


def _claim(dialect: str) -> str:
    now = db_now_ms(dialect)
    return f"""
        UPDATE periodic_jobs SET last_run_at = {now}, run_by = :owner
        WHERE name = :name AND last_run_at <= {now} - :every_ms
    """


async def run_if_due(
    db: Database,
    name: str,
    every_ms: int,
    work: Callable[[Conn], Awaitable[T]],
    *,
    owner: str | None = None,
) -> tuple[bool, T | None]:
    """Run `work` (in the claim's transaction, on the connection it is given) when job
    `name` last ran at least `every_ms` ago by any process; returns (ran, its result)."""
    async with db.transaction() as conn:
        await conn.execute(_ENSURE, (name,))
        claimed = await conn.execute(
            _claim(conn.dialect), {"owner": owner, "name": name, "every_ms": every_ms}
        )
        if claimed.rowcount != 1:
            return False, None
        return True, await work(conn)
