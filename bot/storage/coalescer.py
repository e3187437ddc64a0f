"""Requests that arrive while the previous batch is in flight go together as the next batch.

Work that takes turns on a shared lock (reserving against one server's budget rows, on
PostgreSQL from many processes) costs a turn per request however little each request does.
A `Coalescer` sends the first request at once, and every request that arrives while that one
is in flight waits for it to finish and goes in the next batch: nothing waits longer than one
batch in flight, and under load each turn serves a whole batch.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

log = logging.getLogger(__name__)

Flush = Callable[[Sequence[In]], Awaitable[Sequence[Out]]]
Abandoned = Callable[[In, Out], Awaitable[None]]


class _Waiting(Generic[In, Out]):
    __slots__ = ("done", "future", "request")

    def __init__(self, request: In, future: asyncio.Future[Out]) -> None:
        self.request = request
        self.future = future
        self.done: asyncio.Event | None = None  # set when its batch is finished with


class Coalescer(Generic[In, Out]):
    def __init__(
        self,
        flush: Flush[In, Out],
        *,
        max_batch: int = 100,
        abandoned: Abandoned[In, Out] | None = None,
        alone_after: Callable[[Exception], bool] = lambda error: True,
    ) -> None:
        """`flush` does a batch, all or nothing, and returns one result per request, in
        order. `abandoned` undoes the result of a request whose caller was cancelled while
        its batch was in flight (the batch can't be recalled; its effects can). A batch that
        failed with an error `alone_after` accepts is tried again one request at a time, so
        only the requests that fail alone fail (not worth it when every one would: a lost
        server)."""
        self._flush = flush
        self._max_batch = max_batch
        self._abandoned = abandoned
        self._alone_after = alone_after
        self._waiting: list[_Waiting[In, Out]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, request: In) -> Out:
        """The result of `request`, done in the next batch. A caller cancelled before its
        batch is sent leaves it; one cancelled later has its result undone by `abandoned`
        before its cancellation goes on, so once it has, nothing of the request is left."""
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        waiting = _Waiting(request, future)
        self._waiting.append(waiting)
        if self._runner is None:
            # A fresh context: the runner serves every caller, not the first one (whose log
            # fields or database hold it would otherwise carry for as long as it runs).
            self._runner = asyncio.create_task(
                self._run(), name="coalescer", context=contextvars.Context()
            )
        try:
            return await waiting.future
        except asyncio.CancelledError:
            if waiting.done is not None:
                await asyncio.shield(waiting.done.wait())
                await self._undo_unused(waiting)
            raise

    async def _undo_unused(self, waiting: _Waiting[In, Out]) -> None:
        """A cancellation can reach a caller whose result was set a moment before it could
        resume: the batch saw a live caller and kept the result, which nobody will use."""
        future = waiting.future
        if (
            self._abandoned is None
            or not future.done()
            or future.cancelled()
            or future.exception() is not None
        ):
            return  # undone by the batch (a cancelled future), or nothing to undo
        await asyncio.shield(self._abandoned(waiting.request, future.result()))

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch = [w for w in self._waiting[: self._max_batch] if not w.future.done()]
                del self._waiting[: self._max_batch]
                if batch:
                    done = asyncio.Event()
                    for waiting in batch:
                        waiting.done = done
                    try:
                        await self._one_batch(batch)
                    finally:
                        done.set()
        finally:
            self._runner = None

    async def _one_batch(self, batch: list[_Waiting[In, Out]]) -> None:
        try:
            results = await self._flush([w.request for w in batch])
        except Exception as exc:
            if len(batch) > 1 and self._alone_after(exc):
                # One bad request must not fail the others: a batch that failed did nothing
                # (it is one transaction), so each request is tried again on its own.
                for waiting in batch:
                    await self._one_batch([waiting])
                return
            for waiting in batch:
                if not waiting.future.done():
                    waiting.future.set_exception(exc)
            return
        except BaseException:
            # The runner itself was cancelled (the loop is closing): so are the callers.
            for waiting in batch:
                waiting.future.cancel()
            raise
        for waiting, result in zip(batch, results, strict=True):
            if not waiting.future.done():
                waiting.future.set_result(result)
            elif self._abandoned is not None:
                try:
                    await self._abandoned(waiting.request, result)
                except Exception:
                    log.exception("could not undo a request whose caller had gone")
