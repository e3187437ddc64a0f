"""The bot as its own process for the benchmarks: `python -m bot` against the fakes, started
until it says it is connected, stopped with SIGTERM and required to exit 0, its stderr kept
in a file (the last lines go into any failure), its CPU read from /proc."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.bot_env import bot_env
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.llm_server import FakeLLMServer

READY_LINE = b"connected as"
STDERR_TAIL_LINES = 30


def stderr_tail(path: Path, lines: int = STDERR_TAIL_LINES) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process, from /proc; nan where that is missing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    # The command name (field 2) may hold spaces: count fields after its closing paren.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    stderr_path: Path

    def failure(self, what: str) -> RuntimeError:
        return RuntimeError(f"{what}; last lines of its stderr:\n{stderr_tail(self.stderr_path)}")


async def _wait_ready(bot: BotProcess, timeout_s: float) -> None:
    """Poll the captured stderr for the "connected as" line; fail if the bot exits first."""
    deadline = time.monotonic() + timeout_s
    while READY_LINE not in bot.stderr_path.read_bytes():
        if bot.process.returncode is not None:
            raise bot.failure(f"the bot exited with {bot.process.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise bot.failure("the bot did not become ready against the fake Discord")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def bot_process(
    fake: FakeDiscord,
    llm: FakeLLMServer,
    tmp: Path,
    *,
    name: str = "bot",
    env: dict[str, str] | None = None,
) -> AsyncIterator[BotProcess]:
    """Run `python -m bot` (cwd `tmp`, so no .env is read) until the block ends, then SIGTERM
    it and require exit code 0; its stderr goes to `tmp/NAME-stderr.log`. `env`: more
    settings (a shard's SHARD_IDS, say)."""
    stderr_path = tmp / f"{name}-stderr.log"
    with stderr_path.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp,
            env=bot_env(
                fake,
                llm,
                tmp / "switchboard.db",
                # Every answer has finished before the stop; a long grace would only hide a hang.
                SHUTDOWN_GRACE_SECONDS="5",
                **(env or {}),
            ),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
        )
    bot = BotProcess(process, stderr_path)
    try:
        await _wait_ready(bot, timeout_s=30)
        yield bot
    except BaseException:
        await _stop(bot)  # the error in flight says what went wrong; don't mask it
        raise
    crashed = process.returncode
    code = await _stop(bot)
    if code != 0:
        when = "during the run" if crashed is not None else "after SIGTERM"
        raise bot.failure(f"the bot exited with {code} {when}")


async def _stop(bot: BotProcess) -> int:
    """SIGTERM (if still running) and the exit code; killed after 60 s."""
    if bot.process.returncode is None:
        bot.process.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(bot.process.wait(), 60)
    except TimeoutError:
        bot.process.kill()
        await bot.process.wait()
        raise bot.failure("the bot did not exit within 60 s of SIGTERM") from None
