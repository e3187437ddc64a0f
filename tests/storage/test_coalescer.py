"""The coalescer: the first request goes at once, those arriving while a batch is in flight go
together as the next one, and a caller that goes away loses nothing and leaves nothing.

Pure asyncio (no protocol under it): the flush is a function the test controls."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Sequence

import pytest

from bot.storage.coalescer import Coalescer


class Flusher:
    """Doubles each request; each batch waits until the test lets it finish."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail: Exception | None = None
        self.undone: list[tuple[int, int]] = []

    async def flush(self, batch: Sequence[int]) -> list[int]:
        self.batches.append(list(batch))
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        return [2 * n for n in batch]

    async def abandoned(self, request: int, result: int) -> None:
        self.undone.append((request, result))


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_requests_arriving_during_a_batch_go_together_in_order() -> None:
    flusher = Flusher()
    coalescer = Coalescer(flusher.flush)
    first = asyncio.create_task(coalescer.submit(1))
    await settle()
    rest = [asyncio.create_task(coalescer.submit(n)) for n in range(2, 7)]
    await settle()
    assert flusher.batches == [[1]]  # nothing waits for company while the line is idle

    flusher.release.set()
    assert await first == 2
    assert [await task for task in rest] == [4, 6, 8, 10, 12]
    assert flusher.batches == [[1], [2, 3, 4, 5, 6]]


async def test_a_batch_is_at_most_max_batch_long() -> None:
    flusher = Flusher()
    coalescer = Coalescer(flusher.flush, max_batch=3)
    flusher.release.set()
    results = await asyncio.gather(*(coalescer.submit(n) for n in range(8)))
    assert results == [2 * n for n in range(8)]
    assert all(len(batch) <= 3 for batch in flusher.batches)
    assert [n for batch in flusher.batches for n in batch] == list(range(8))


async def test_a_batch_that_failed_is_tried_one_request_at_a_time() -> None:
    flushed: list[list[int]] = []

    async def flush(batch: Sequence[int]) -> list[int]:
        flushed.append(list(batch))
        if 13 in batch:
            raise ValueError("13 is refused")
        return [2 * n for n in batch]

    coalescer = Coalescer(flush)
    first = asyncio.create_task(coalescer.submit(1))
    await settle()
    rest = [asyncio.create_task(coalescer.submit(n)) for n in (12, 13, 14)]
    assert await first == 2
    assert await rest[0] == 24 and await rest[2] == 28  # not failed by their neighbour
    with pytest.raises(ValueError, match="13 is refused"):
        await rest[1]
    assert flushed == [[1], [12, 13, 14], [12], [13], [14]]


async def test_an_error_every_request_would_meet_fails_the_batch_at_once() -> None:
    flusher = Flusher()
    coalescer = Coalescer(flusher.flush, alone_after=lambda exc: False)
    flusher.fail = RuntimeError("server gone")
    calls = [asyncio.create_task(coalescer.submit(n)) for n in range(3)]
    await settle()
    flusher.release.set()
    for call in calls:
        with pytest.raises(RuntimeError, match="server gone"):
            await call
    assert flusher.batches == [[0, 1, 2]]  # not tried again one by one
    flusher.fail = None
    assert await coalescer.submit(9) == 18  # the next batch runs


async def test_a_caller_cancelled_before_its_batch_leaves_it_out() -> None:
    flusher = Flusher()
    coalescer = Coalescer(flusher.flush, abandoned=flusher.abandoned)
    first = asyncio.create_task(coalescer.submit(1))
    await settle()
    gone, kept = asyncio.create_task(coalescer.submit(2)), asyncio.create_task(coalescer.submit(3))
    await settle()
    gone.cancel()
    flusher.release.set()
    assert (await first, await kept) == (2, 6)
    assert gone.cancelled()
    assert flusher.batches == [[1], [3]] and flusher.undone == []


async def test_a_caller_cancelled_while_its_batch_is_in_flight_has_its_result_undone() -> None:
    flusher = Flusher()
    coalescer = Coalescer(flusher.flush, abandoned=flusher.abandoned)
    gone, kept = asyncio.create_task(coalescer.submit(4)), asyncio.create_task(coalescer.submit(5))
    await settle()
    assert flusher.batches == [[4, 5]]
    gone.cancel()
    await settle()
    assert not gone.done()  # its cancellation waits for the batch, to undo what it did
    flusher.release.set()
    assert await kept == 10
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert flusher.undone == [(4, 8)]  # undone before the cancellation reached the caller


async def test_batches_run_outside_the_context_of_whoever_came_first() -> None:
    seen: list[str | None] = []
    mark: contextvars.ContextVar[str | None] = contextvars.ContextVar("mark", default=None)

    async def flush(batch: Sequence[int]) -> list[int]:
        seen.append(mark.get())
        return list(batch)

    coalescer = Coalescer(flush)

    async def caller() -> int:
        mark.set("first caller")
        return await coalescer.submit(1)

    assert await asyncio.create_task(caller()) == 1
    assert seen == [None]


async def test_a_result_set_just_as_its_caller_is_cancelled_is_undone() -> None:
    flusher = Flusher()
    coalescer = Coalescer(flusher.flush, abandoned=flusher.abandoned)
    caller = asyncio.create_task(coalescer.submit(3))
    await settle()
    assert flusher.batches == [[3]]  # in flight
    flusher.release.set()
    await asyncio.sleep(0)  # the batch sets the result; the caller has not resumed yet
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert flusher.undone == [(3, 6)]
