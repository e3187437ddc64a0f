"""Fixtures for pacer tests: a started pacer with scaled-down budgets, a simulated Discord, and
a real discord.py client running against the fake Discord server."""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import AsyncIterator

# discord.py imports the stdlib `audioop`, deprecated in 3.11, and the suite turns warnings
# into errors: import it once here with that one warning silenced.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord
import pytest

from bot.discord_ui.pacer import EditPacer
from bot.discord_ui.send_errors import RetryPolicy
from tests.discord_ui_pacer.sim import SimDiscord
from tests.fakes.discord_client import pointed_at
from tests.fakes.discord_server import FakeDiscord

# 40 per 0.1 s: the default 45/s against Discord's 50/s, time divided by 10 (a little lower,
# so a busy test machine's event-loop lag cannot push the sliding-window audit over 50).
GLOBAL_PER_SECOND = 400.0


@pytest.fixture
def sim() -> SimDiscord:
    return SimDiscord()


@pytest.fixture
async def pacer() -> AsyncIterator[EditPacer]:
    pacer = EditPacer(
        global_per_second=GLOBAL_PER_SECOND,
        promote_after_s=1.0,
        retry=RetryPolicy(base_s=0.02, max_s=0.1),
    )
    await pacer.start()
    yield pacer
    await pacer.close(flush_timeout=1.0)


@contextlib.asynccontextmanager
async def running(fake: FakeDiscord, client: discord.Client) -> AsyncIterator[discord.Client]:
    """Run `client` against `fake` until on_ready, and close it afterwards."""
    with pointed_at(fake):
        task = asyncio.create_task(client.start(fake.token))
        ready = asyncio.create_task(client.wait_until_ready())
        try:
            done, _ = await asyncio.wait(
                {task, ready}, timeout=5.0, return_when=asyncio.FIRST_COMPLETED
            )
            if ready not in done:
                raise RuntimeError("discord.py client did not become ready")
            yield client
        finally:
            ready.cancel()
            await client.close()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5.0)
