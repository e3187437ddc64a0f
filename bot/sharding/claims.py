"""Shard claims: a process holds its shard ids while it lives; a second one is refused.

Two processes running the same shard would both get that shard's events from Discord and
answer every message twice. So before it connects, a process claims each of its shard ids
(`shard-ID.lock` in the lock folder); if another live process holds one, start-up stops with
one line saying which shards and who holds them. The count is not part of the key: shard 0
of 2 and shard 0 of 4 share guilds, and running both at once would answer some twice too.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from bot.errors import ConfigurationError
from bot.sharding.locks import FileLock


class ShardTakenError(ConfigurationError):
    """Another live process runs some of the shards this one was told to run."""

    def __init__(self, taken: dict[int, str]) -> None:
        shards = ", ".join(str(shard) for shard in sorted(taken))
        holders = "; ".join(sorted({holder for holder in taken.values() if holder}))
        by = f" ({holders})" if holders else ""
        line = (
            f"shard {shards} is already run by another live process{by}. Stop it first, or "
            "give this process other SHARD_IDS: two processes on one shard answer twice."
        )
        if len(taken) > 1:
            line = line.replace("shard ", "shards ", 1).replace(" is already", " are already")
        super().__init__([line])
        self.taken = taken


class ShardClaims(Protocol):
    def claim(self, shard_ids: Iterable[int]) -> None:
        """Hold these shard ids (those already held stay held), or raise ShardTakenError
        claiming none of the new ones."""

    def release(self) -> None: ...


class FileShardClaims:
    """Claims as file locks in `folder`: every process of the bot on this host sees them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._held: dict[int, FileLock] = {}

    @property
    def held(self) -> list[int]:
        return sorted(self._held)

    def claim(self, shard_ids: Iterable[int]) -> None:
        new: dict[int, FileLock] = {}
        taken: dict[int, str] = {}
        for shard in sorted(set(shard_ids) - set(self._held)):
            lock = FileLock(self.folder / f"shard-{shard}.lock")
            if lock.try_acquire():
                new[shard] = lock
            else:
                taken[shard] = lock.read_note()
        if taken:
            for lock in new.values():
                lock.release()
            raise ShardTakenError(taken)
        me = f"pid {os.getpid()} on {socket.gethostname()}"
        for shard, lock in new.items():
            lock.write_note(me)
            self._held[shard] = lock

    def release(self) -> None:
        for lock in self._held.values():
            lock.release()
        self._held.clear()
