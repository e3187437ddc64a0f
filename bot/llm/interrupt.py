"""Stopping an answer at once without tearing the whole task down.

The tool loop runs inside its consumer's task (it is an async generator). A member's Stop must
interrupt whatever the loop is awaiting — a slow stream, a stalled endpoint, a running tool —
within a second, yet the loop must then carry on long enough to report what was used and close
every open tool call. Cancelling the consumer's task would do the first but not the second.

`Interrupter` works like `asyncio.timeout`: the loop wraps each of its own awaits in `guard()`.
While armed, setting the stop event cancels the task; the CancelledError is caught at the
guard, `uncancel()`ed and turned into `Interrupted`. Outside a guard (while the consumer runs
between two events) a stop only sets the flag and the next guard raises at once, so the
consumer's own awaits are never cancelled by it. A cancellation that did not come from the
stop event (shutdown) is never swallowed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class Interrupted(Exception):
    """The stop event was set while the loop was waiting."""


class Interrupter:
    def __init__(self, stop: asyncio.Event | None) -> None:
        self._stop = stop
        self._task: asyncio.Task[object] | None = None
        self._waiter: asyncio.Future[object] | None = None
        self._armed = False
        self._fired = False

    @property
    def requested(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    def start(self) -> None:
        if self._stop is None or self._waiter is not None:
            return
        self._task = asyncio.current_task()
        waiter: asyncio.Future[object] = asyncio.ensure_future(self._stop.wait())
        waiter.add_done_callback(self._on_stop)
        self._waiter = waiter

    def close(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.cancel()

    def _on_stop(self, waiter: asyncio.Future[object]) -> None:
        if waiter.cancelled() or not self._armed or self._fired or self._task is None:
            return
        self._fired = True
        self._task.cancel()

    async def guard(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable`; raise `Interrupted` if the stop event is (or becomes) set."""
        if self.requested:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()  # never started: avoid "coroutine was never awaited"
            raise Interrupted
        self._armed = True
        try:
            return await awaitable
        except asyncio.CancelledError:
            if not self._fired or self._task is None:
                raise
            self._fired = False
            if self._task.uncancel() > 0:
                raise  # someone else cancelled us too (shutdown): let that win
            raise Interrupted from None
        finally:
            self._armed = False
