"""Shard claims through PostgreSQL: the claims of processes on several hosts.

With DATABASE_URL every process of the bot reaches the same server, so a shard's claim is a
session-level advisory lock `(SHARD_LOCK, shard_id)` held on a connection of the process's
own for as long as it runs. A second process asking for the same shard is refused at once
(`pg_try_advisory_lock`), and told who holds it: the holder's connection carries
`pid N on HOST` as its application name, which `pg_stat_activity` shows to anyone. A
process that dies drops its claims with its connection, so a crash never blocks its
successor.

If the holding connection drops (the server restarted, the network failed over), the server
has dropped the claims with it. `watch` notices within `check_s`, reconnects with backoff
(one log line per attempt) and claims the same shards again; if meanwhile another process
claimed one of them, running on would answer every message of that shard twice, so
`on_refused` is told (`bot.app` then stops this process and exits with the refusal line).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable

import psycopg

from bot.errors import ConfigurationError, first_line
from bot.sharding.claims import ShardTakenError
from bot.sharding.pg_identify import conninfo

log = logging.getLogger(__name__)

# The advisory lock's first key: "SBSH" (Switchboard shard); the second is the shard id.
SHARD_LOCK = 0x53425348
CONNECT_TIMEOUT_S = 10
CHECK_S = 5.0
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0

_HOLDERS = """
    SELECT l.objid, a.application_name FROM pg_locks l
    JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objsubid = 2
      AND l.objid = ANY(%s)
"""


def _holder_name() -> str:
    return f"switchboard shards (pid {os.getpid()} on {socket.gethostname()})"


class PgShardClaims:
    """Claims as PostgreSQL advisory locks on one connection held while the process runs."""

    def __init__(
        self,
        url: str,
        *,
        check_s: float = CHECK_S,
        retry_first_s: float = RETRY_FIRST_S,
        retry_max_s: float = RETRY_MAX_S,
    ) -> None:
        self._url = conninfo(url)
        self.check_s = check_s
        self.retry_first_s = retry_first_s
        self.retry_max_s = retry_max_s
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._held: set[int] = set()
        # claim() runs on the event loop, the watch's checks in a worker thread.
        self._lock = threading.Lock()

    @property
    def held(self) -> list[int]:
        return sorted(self._held)

    def claim(self, shard_ids: Iterable[int]) -> None:
        with self._lock:
            try:
                self._claim(set(shard_ids) - self._held)
            except ShardTakenError:
                if not self._held and self._conn is not None:
                    self._conn.close()  # nothing to hold it open for
                    self._conn = None
                raise
            except psycopg.OperationalError as exc:
                raise ConfigurationError(
                    [f"can't reach PostgreSQL at {self.where} to claim shards: {first_line(exc)}"]
                ) from exc

    @property
    def where(self) -> str:
        """The server without the password, for messages."""
        parts = psycopg.conninfo.conninfo_to_dict(self._url)
        return f"{parts.get('host', '')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"

    def release(self) -> None:
        with self._lock:
            self._held.clear()
            conn, self._conn = self._conn, None
        if conn is not None:
            # Closing the session drops every advisory lock it holds, but only once its
            # server process has ended, a moment after close() returns: a claim made right
            # after (a restart, another process taking over) could still find the shard
            # taken. Unlocking first is done when this returns.
            with contextlib.suppress(psycopg.Error):
                conn.execute("SELECT pg_advisory_unlock_all()")
            conn.close()

    async def watch(self, on_refused: Callable[[ShardTakenError], None]) -> None:
        """Run while the process runs: claim the shards again whenever the connection
        holding them drops; `on_refused` when another process took one meanwhile."""
        while True:
            await asyncio.sleep(self.check_s)
            if await asyncio.to_thread(self._alive):
                continue
            shards = ", ".join(str(s) for s in self.held)
            log.warning(
                "lost the PostgreSQL connection that holds shard claims %s; claiming them again",
                shards,
            )
            refused = await self._reclaim()
            if refused is not None:
                log.error("%s", refused.problems[0])
                on_refused(refused)
                return
            log.warning("shard claims %s held again", shards)

    async def _reclaim(self) -> ShardTakenError | None:
        delay, attempt = self.retry_first_s, 0
        while True:
            attempt += 1
            try:
                await asyncio.to_thread(self._claim_again)
            except ShardTakenError as exc:
                return exc
            except psycopg.OperationalError as exc:
                log.warning(
                    "shard claims: PostgreSQL still unreachable (attempt %d: %s); "
                    "next try in %.1f s",
                    attempt,
                    first_line(exc),
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)
                continue
            return None

    def _claim_again(self) -> None:
        with self._lock:
            wanted, self._held = set(self._held), set()
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            try:
                self._claim(wanted)
            except psycopg.OperationalError:
                self._held = wanted  # still ours to claim on the next attempt
                raise

    def _alive(self) -> bool:
        with self._lock:
            conn = self._conn
            if conn is None or not self._held:
                return True
            try:
                conn.execute("SELECT 1")
            except psycopg.Error:
                return False
            return True

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_S,
                application_name=_holder_name(),
            )
        return self._conn

    def _claim(self, new: set[int]) -> None:
        """Take every shard of `new`, or none of them (ShardTakenError naming the holders)."""
        if not new:
            return
        conn = self._connection()
        taken: list[int] = []
        refused: list[int] = []
        for shard in sorted(new):
            row = conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (SHARD_LOCK, shard)
            ).fetchone()
            (taken if row is not None and row[0] else refused).append(shard)
        if refused:
            for shard in taken:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (SHARD_LOCK, shard))
            holders = {
                int(str(objid)): _who(str(name))
                for objid, name in conn.execute(_HOLDERS, (SHARD_LOCK, refused)).fetchall()
            }
            raise ShardTakenError({shard: holders.get(shard, "") for shard in refused})
        self._held.update(taken)


def _who(application_name: str) -> str:
    """`pid N on HOST` out of the holder's application name."""
    start = application_name.find("(pid ")
    return application_name[start + 1 : -1] if start >= 0 else application_name
