"""How many stdio MCP servers start at once: `StartGate`.

Starting a stdio server is mostly the child's own CPU: a Python server importing the MCP SDK
spends about a second of it before it answers (the client's share is a few milliseconds).
Twenty children started together on two cores share them fairly, so every one of them is
ready only when all are (about ten seconds), and the bot's own event loop gets a small share
meanwhile. Letting about one child per core start at a time makes the first servers usable
after about a second and the rest follow in turn, for the same total.

A turn ends when the server is ready or its attempt fails, or after `hold_s` at the latest,
about one start on an idle core: a server that is slow without using the CPU (sleeping,
waiting on the network) gives its turn up, so it holds up nobody for long, and on a machine
busy with other work, where every start takes longer, the turns become a staggered start
rather than leaving the bot's children a smaller share of the CPU than if they had all
started at once. Streamable-HTTP servers never wait: they cost no local CPU to start.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

__all__ = ["StartGate", "default_width"]

# About one Python server's start on an idle core (measured: 0.9 to 1.2 s).
HOLD_S = 1.0


def default_width() -> int:
    """One start per core the process may use (at least two, so one slow start never
    serialises the rest)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on every platform
        cores = os.cpu_count() or 1
    return max(2, cores)


class StartGate:
    def __init__(self, width: int | None = None, hold_s: float = HOLD_S) -> None:
        self.width = width or default_width()
        self._slots = asyncio.Semaphore(self.width)
        self._hold_s = hold_s

    async def turn(self) -> Callable[[], None]:
        """Wait for a turn; returns its release (idempotent; also called after `hold_s`)."""
        await self._slots.acquire()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                timer.cancel()
                self._slots.release()

        timer = asyncio.get_running_loop().call_later(self._hold_s, release)
        return release
