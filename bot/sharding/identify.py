"""Identify pacing: no more than `max_concurrency` shards IDENTIFY per 5 s, across processes.

Discord puts shards in buckets by `shard_id % max_concurrency`; each bucket may IDENTIFY once
per 5 seconds, and a faster one is refused (op 9) and must start over. discord.py alone only
sleeps 5 s before every IDENTIFY but its first, which is too slow for shards in different
buckets and knows nothing of the bot's other processes. The gate is called from
`before_identify_hook`: it takes the bucket's lock (`identify-B.lock`), waits until 5 s have
passed since the bucket's last IDENTIFY (written in the lock file, by whichever process sent
it), writes the new time and lets the shard go.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Protocol

from bot.sharding.locks import FileLock

log = logging.getLogger(__name__)

# Discord's window: each bucket of shards may IDENTIFY once per 5 seconds.
IDENTIFY_WINDOW_S = 5.0
# Clocks and the network are not exact: a little more than the window, never less.
MARGIN_S = 0.1


class IdentifyGate(Protocol):
    async def wait_turn(self, shard_id: int) -> None:
        """Return when `shard_id` may IDENTIFY now (its bucket's turn is then used up)."""

    async def close(self) -> None: ...


class FileIdentifyGate:
    """The gate as file locks in `folder`, shared by every process of the bot on this host."""

    def __init__(
        self,
        folder: Path,
        max_concurrency: int = 1,
        *,
        window_s: float = IDENTIFY_WINDOW_S,
        margin_s: float = MARGIN_S,
    ) -> None:
        self.folder = folder
        self.max_concurrency = max(1, max_concurrency)
        self.window_s = window_s
        self.margin_s = margin_s

    async def wait_turn(self, shard_id: int) -> None:
        bucket = shard_id % self.max_concurrency
        lock = FileLock(self.folder / f"identify-{bucket}.lock")
        await lock.acquire()
        try:
            last = _parse_time(lock.read_note())
            # Wall-clock time: the note is read by other processes, whose monotonic clocks
            # mean nothing here.
            wait = last + self.window_s + self.margin_s - time.time() if last else 0.0
            if wait > 0:
                log.info("shard %d waits %.1f s for its turn to identify", shard_id, wait)
                await asyncio.sleep(min(wait, self.window_s + self.margin_s))
            lock.write_note(f"{time.time():.3f}")
        finally:
            lock.release()

    async def close(self) -> None:
        return None  # nothing is held between turns


def _parse_time(note: str) -> float:
    try:
        return float(note)
    except ValueError:
        return 0.0
