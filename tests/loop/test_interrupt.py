"""The stop mechanism interrupts only the loop's own awaits, and never swallows shutdown."""

from __future__ import annotations

import asyncio

import pytest

from bot.llm.interrupt import Interrupted, Interrupter


async def test_interrupter_stop_interrupts_a_guarded_wait() -> None:
    stop = asyncio.Event()
    interrupter = Interrupter(stop)
    interrupter.start()
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(0.01, stop.set)
    with pytest.raises(Interrupted):
        await interrupter.guard(never)
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    await asyncio.sleep(0)  # the task is still usable: no stray cancellation pending
    interrupter.close()


async def test_interrupter_stop_outside_a_guard_spares_the_consumer() -> None:
    stop = asyncio.Event()
    interrupter = Interrupter(stop)
    interrupter.start()
    stop.set()
    await asyncio.sleep(0.01)  # the consumer's own await: must not be cancelled
    with pytest.raises(Interrupted):
        await interrupter.guard(asyncio.sleep(10))
    interrupter.close()


async def test_interrupter_external_cancel_is_not_swallowed() -> None:
    interrupter = Interrupter(asyncio.Event())

    async def body() -> None:
        interrupter.start()
        await interrupter.guard(asyncio.sleep(10))

    task = asyncio.ensure_future(body())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    interrupter.close()


async def test_interrupter_shutdown_wins_over_a_simultaneous_stop() -> None:
    stop = asyncio.Event()
    interrupter = Interrupter(stop)

    async def body() -> None:
        interrupter.start()
        await interrupter.guard(asyncio.sleep(10))

    task = asyncio.ensure_future(body())
    await asyncio.sleep(0.01)
    stop.set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    interrupter.close()


async def test_interrupter_without_event_just_awaits() -> None:
    interrupter = Interrupter(None)
    interrupter.start()
    assert await interrupter.guard(asyncio.sleep(0, result=7)) == 7
    assert not interrupter.requested
