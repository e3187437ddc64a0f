"""SIGTERM mid-answer: the real bot process finishes or interrupts answers, then exits 0."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.bot_env import bot_env
from tests.fakes.discord_server import FakeDiscord, FakeMessage
from tests.fakes.llm_scripts import text_reply
from tests.fakes.llm_server import FakeLLMServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeDiscord, FakeLLMServer]]:
    async with FakeDiscord() as fake, FakeLLMServer() as llm:
        yield fake, llm


async def start_bot(
    fake: FakeDiscord, llm: FakeLLMServer, database: Path, grace: float
) -> asyncio.subprocess.Process:
    env = bot_env(fake, llm, database, SHUTDOWN_GRACE_SECONDS=str(grace))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=database.parent,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    async with asyncio.timeout(30):
        while b"connected as" not in await process.stderr.readline():
            pass
    return process


async def answer_in_thread(fake: FakeDiscord, prompt: str) -> FakeMessage:
    """Start /chat and return the answer message once it shows some text."""
    assert fake.channel is not None
    channel_id = fake.channel.id
    await fake.invoke_slash_command("chat", {"prompt": prompt})
    thread = await fake.wait_for(lambda: next(iter(fake.threads(channel_id)), None), 10)
    return await fake.wait_for_message(thread.id, lambda m: "w0003" in m.content, timeout=10)


async def stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    assert process.stderr is not None
    err = await asyncio.wait_for(process.stderr.read(), 40)
    code = await asyncio.wait_for(process.wait(), 40)
    return code, err.decode()


def status_of_answers(database: Path) -> list[str]:
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT status FROM messages WHERE role = 'assistant'").fetchall()
    return [row[0] for row in rows]


def words(n: int) -> str:
    return " ".join(f"w{i:04d}" for i in range(n))


async def test_shutdown_interrupts_a_long_answer_and_says_so(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    llm.enqueue(text_reply(words(400), chunk_size=6, delay=0.05))  # ~20 s of streaming
    process = await start_bot(fake, llm, tmp_path / "bot.db", grace=0.5)
    answer = await answer_in_thread(fake, "tell me a long story")
    code, err = await stop(process)
    assert code == 0, err
    assert "Traceback" not in err
    final = fake.message(answer.id)
    assert "⚠️ Interrupted by a restart" in final.content
    assert "w0003" in final.content  # the partial text is kept
    buttons = [c["custom_id"] for row in final.components for c in row["components"]]
    # Stop is gone; Retry is offered for the interrupted answer.
    assert len(buttons) == 1 and buttons[0].startswith("switchboard:retry:")
    assert status_of_answers(tmp_path / "bot.db") == ["interrupted"]


async def test_shutdown_lets_a_short_answer_finish(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    llm.enqueue(text_reply(words(40), chunk_size=6, delay=0.05))  # ~1.5 s
    process = await start_bot(fake, llm, tmp_path / "bot.db", grace=15)
    answer = await answer_in_thread(fake, "a short one")
    code, err = await stop(process)
    assert code == 0, err
    final = fake.message(answer.id)
    assert "w0039" in final.content and "Interrupted" not in final.content
    assert status_of_answers(tmp_path / "bot.db") == ["complete"]
