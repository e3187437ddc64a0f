"""OS file locks (flock) in a folder: the shared state of processes on one host.

A lock lives exactly as long as the file descriptor that holds it: a process that exits or is
killed drops its locks with it, so nothing goes stale. Each lock file keeps one line of text
that tells others who holds it (or, for the identify gate, when the last IDENTIFY went out).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from pathlib import Path

# How often a waiter tries a busy lock again: short against a 5 s identify window.
POLL_S = 0.05


class FileLock:
    """One non-blocking exclusive lock on `path` (created with its folder if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def acquire(self) -> None:
        """Wait (polling, so cancelling works) until the lock is ours."""
        # Polling on purpose: the holder is usually another process, which no asyncio.Event
        # can hear from.
        while not self.try_acquire():  # noqa: ASYNC110
            await asyncio.sleep(POLL_S)

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def read_note(self) -> str:
        """The line the holder wrote ("" if none or unreadable)."""
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def write_note(self, note: str) -> None:
        """Replace the file's line; only while holding the lock."""
        assert self._fd is not None, "write_note needs the lock"
        data = (note + "\n").encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)
