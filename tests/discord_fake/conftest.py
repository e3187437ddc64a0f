"""Fixtures: a FakeDiscord with small windows, and a harness running a real discord.py bot on it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

# discord.py imports the stdlib `audioop`, deprecated in 3.11; the suite runs with warnings as
# errors, so import it once here with that one warning silenced (see the report: pyproject fix).
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord_client import pointed_at
from tests.fakes.discord_server import BucketLimit, FakeDiscord, RateLimitConfig

log = logging.getLogger(__name__)

# Small windows keep the folder fast while still forcing discord.py to pace itself.
WINDOW = 0.3
DEADLINE = 0.5


def small_limits() -> RateLimitConfig:
    return RateLimitConfig(
        message_create=BucketLimit(5, WINDOW),
        message_edit=BucketLimit(5, WINDOW),
        interaction_webhook=BucketLimit(5, WINDOW),
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(rate_limits=small_limits(), interaction_deadline=DEADLINE) as server:
        yield server


class RecordingBot(commands.Bot):
    """A commands.Bot that remembers what it saw and every error its handlers raised."""

    def __init__(self, fake: FakeDiscord, *, message_content: bool = True, **kwargs: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        intents.members = True
        super().__init__(
            command_prefix="!",
            intents=intents,
            guild_ready_timeout=0.1,
            help_command=None,
            **kwargs,
        )
        self.fake = fake
        self.errors: list[BaseException] = []
        self.seen: list[discord.Message] = []
        self.events: list[str] = []
        self.tree.on_error = self._tree_error  # type: ignore[method-assign]
        self._changed: asyncio.Event | None = None

    def note(self, event: str | None = None, message: discord.Message | None = None) -> None:
        """Record something the bot saw and wake `until` waiters."""
        if event is not None:
            self.events.append(event)
        if message is not None:
            self.seen.append(message)
        if self._changed is not None:
            self._changed.set()

    async def until(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Await a bot-side condition, re-checked whenever `note` records something."""
        async with asyncio.timeout(within):
            while not predicate():
                self._changed = asyncio.Event()
                await self._changed.wait()

    async def _tree_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        self.errors.append(error)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        exc = sys.exc_info()[1]
        if exc is not None:
            self.errors.append(exc)

    async def on_ready(self) -> None:
        self.note("ready")

    async def on_resumed(self) -> None:
        self.note("resumed")

    async def on_thread_create(self, thread: discord.Thread) -> None:
        self.note(f"thread_create:{thread.id}")


@contextlib.asynccontextmanager
async def running(
    fake: FakeDiscord, bot: commands.Bot, *, ready_within: float = 5.0
) -> AsyncIterator[commands.Bot]:
    """Start `bot` against `fake`, wait for on_ready, and close it (re-raising its crash) after."""
    with pointed_at(fake):
        task = asyncio.create_task(bot.start(fake.token))
        ready = asyncio.create_task(bot.wait_until_ready())
        try:
            done, _ = await asyncio.wait(
                {task, ready}, timeout=ready_within, return_when=asyncio.FIRST_COMPLETED
            )
            if task in done:
                task.result()
                raise RuntimeError("bot stopped before on_ready")
            if ready not in done:
                raise TimeoutError("bot not ready in time")
            yield bot
        finally:
            ready.cancel()
            await bot.close()
            # A parser KeyError in a dispatch makes start() raise: surface it in the test.
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
    errors = getattr(bot, "errors", [])
    assert not errors, f"handler errors: {errors!r}"
