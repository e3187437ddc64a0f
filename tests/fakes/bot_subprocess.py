"""The real bot as a child process (`python -m bot`) for end-to-end tests: started until it
says it is connected to the fake Discord, its stderr read to the end in the background (so the
pipe never fills) and kept line by line for assertions and failure messages."""

from __future__ import annotations

import asyncio
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

CONNECTED_LINE = "connected as"
START_S = 60.0  # a bound for failures only: under a loaded parallel run a start can take 30 s


@dataclass
class BotSubprocess:
    process: asyncio.subprocess.Process
    log: list[str]  # its stderr so far, one entry per line
    drain: asyncio.Task[None]

    async def exited(self, timeout_s: float = START_S) -> int:
        """Wait for it to end by itself; its exit code."""
        code = await asyncio.wait_for(self.process.wait(), timeout_s)
        await self.drain
        return code

    async def stop(self, timeout_s: float = START_S) -> int:
        """SIGTERM (unless it already ended); its exit code."""
        if self.process.returncode is None:
            with suppress(ProcessLookupError):  # ended by itself, not yet reaped
                self.process.terminate()
        return await self.exited(timeout_s)

    async def kill(self) -> float:
        """SIGKILL; returns when it landed (time.monotonic(), the fake Discord's clock)."""
        with suppress(ProcessLookupError):  # it may have ended by itself, not yet reaped
            self.process.kill()
        killed_at = time.monotonic()
        await self.exited()
        return killed_at


async def start_bot_subprocess(
    env: dict[str, str], cwd: Path, *, wait_connected: bool = True, timeout_s: float = START_S
) -> BotSubprocess:
    """Start the bot with `env` (see tests.fakes.bot_env) in `cwd`; unless `wait_connected` is
    False, return once it is connected, or fail the test with its stderr if it does not."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=cwd, env=env, stderr=asyncio.subprocess.PIPE
    )
    log: list[str] = []
    connected = asyncio.Event()

    async def drain() -> None:
        assert process.stderr is not None
        async for line in process.stderr:
            log.append(line.decode(errors="replace"))
            if CONNECTED_LINE in log[-1]:
                connected.set()

    bot = BotSubprocess(process, log, asyncio.ensure_future(drain()))
    if wait_connected:
        try:
            async with asyncio.timeout(timeout_s):
                await connected.wait()
        except TimeoutError:
            await bot.kill()
            pytest.fail("the bot did not connect:\n" + "".join(log))
    return bot
