"""Logs: one line per event, ids of what it is about, JSON on request, secrets never shown."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import log_context, setup_logging

SECRET = "sk-live-0123456789abcdef"


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_logs_json_lines_carry_context_ids(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", "json", [SECRET])
    log = logging.getLogger("bot.test")
    with log_context(guild_id=1, channel_id=2, conversation_id=3):
        log.info("answer %s done", 42)
        with log_context(error_id="abcd1234"):
            log.error("answer failed")
    log.info("outside")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["message"] == "answer 42 done"
    assert (lines[0]["guild_id"], lines[0]["channel_id"], lines[0]["conversation_id"]) == (1, 2, 3)
    assert lines[1]["error_id"] == "abcd1234" and lines[1]["level"] == "ERROR"
    assert "guild_id" not in lines[2]


def test_logs_text_format_is_one_line_with_ids(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", "text", [])
    with log_context(guild_id=7, conversation_id=9):
        logging.getLogger("bot.test").warning("slow edit")
    (line,) = capsys.readouterr().err.splitlines()
    assert line.endswith("WARNING bot.test: slow edit [guild=7 conversation=9]")


def test_logs_redact_secrets_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", "text", [SECRET, ""])
    logging.getLogger("bot.test").info("calling with key %s", SECRET)
    logging.getLogger("bot.test").info(f"inline {SECRET} too")
    err = capsys.readouterr().err
    assert SECRET not in err and err.count("[redacted]") == 2


async def test_logs_context_does_not_leak_between_tasks(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", "json", [])
    log = logging.getLogger("bot.test")

    async def answer(conversation_id: int) -> None:
        with log_context(conversation_id=conversation_id):
            await asyncio.sleep(0.01)
            log.info("done")

    await asyncio.gather(answer(1), answer(2))
    ids = sorted(
        json.loads(line)["conversation_id"] for line in capsys.readouterr().err.splitlines()
    )
    assert ids == [1, 2]
