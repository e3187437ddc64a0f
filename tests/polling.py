"""Waiting on state that no event announces (another task's bookkeeping, a child process, a
discord.py client's cache, a row in the database): poll it. A bound against hanging, not a
timing assertion; where an event exists (the fake Discord's `wait_for`, a fake server's
`wait_for_requests`), wait on that instead."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

INTERVAL_S = 0.02


async def poll(
    probe: Callable[[], Awaitable[T]], until: Callable[[T], bool], *, within_s: float = 60.0
) -> T:
    """Await `probe()` until `until(value)` holds and return that value. After `within_s`,
    fail with the last value read, so the test says what it found, not only that it timed
    out."""
    deadline = time.monotonic() + within_s
    while not until(found := await probe()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"still {found!r} after {within_s:g} s of polling")
        await asyncio.sleep(INTERVAL_S)
    return found


async def wait_until(predicate: Callable[[], bool], *, within_s: float = 60.0) -> None:
    """Poll until `predicate()` holds (a plain function: for an async one, use `poll`)."""

    async def check() -> bool:
        return predicate()

    await poll(check, bool, within_s=within_s)
