"""Waiting on state that no event announces (another task's bookkeeping, a child process, a
discord.py client's cache): poll it. A bound against hanging, not a timing assertion; where
an event exists (the fake Discord's `wait_for`, a fake server's `wait_for_requests`), wait on
that instead."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def wait_until(predicate: Callable[[], bool], *, within_s: float = 60.0) -> None:
    """Poll until `predicate()` holds; TimeoutError after `within_s`."""
    async with asyncio.timeout(within_s):
        while not predicate():  # noqa: ASYNC110 (nothing to wait on: see the module)
            await asyncio.sleep(0.02)
