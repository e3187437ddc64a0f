"""The Discord streaming benchmark runs end to end at a tiny size, and its arithmetic is right.

No timing is asserted: only that the bot ran as its own process, no request was rate-limited,
every answer finished, every word became visible, and the table has its rows.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bench.bot_process import BotProcess, _stop, _wait_ready, process_cpu_s, stderr_tail
from bench.discord import (
    command_to_visible_target,
    level_results,
    percentile,
    staleness_target,
)
from bench.discord_probe import (
    AnswerRecord,
    final_visible_time,
    numbered_words,
    peak_concurrency,
    run_level,
    visible_times,
)
from tests.fakes.discord_server import FakeInteraction, FakeMessage, FakeUser, MessageRevision


def _revision(at: float, content: str, *, button: bool = False) -> MessageRevision:
    stop = {"type": 2, "custom_id": "switchboard:stop:1"}
    components: list[Any] = [{"type": 1, "components": [stop]}] if button else []
    return MessageRevision(at, datetime.now(UTC), content, [], components, 0, None)


def _message(*revisions: tuple[float, str], buttons_until: float = 0.0) -> FakeMessage:
    """A bot message with these revisions; those before `buttons_until` carry a button."""
    message = FakeMessage(id=1, channel_id=2, author=FakeUser(3, "bot", bot=True))
    message.revisions = [
        _revision(at, content, button=at < buttons_until) for at, content in revisions
    ]
    return message


def _answer(written: dict[int, float]) -> AnswerRecord:
    user = FakeUser(4, "alice")
    interaction = FakeInteraction(5, "t", 2, user, 2, None, {}, created_at=0.0)
    return AnswerRecord(0, written, {}, 0, interaction)


def test_visible_times_take_the_first_revision_showing_each_word() -> None:
    first = _message((1.0, "⏳ Working…"), (2.0, "w0001 w0002"), (4.0, "w0001 w0002 w0003 w0004"))
    second = _message((3.0, "w0003"))  # a later part shows word 3 before the first part does

    visible = visible_times([first, second], words=4)

    assert visible == {1: 2.0, 2: 2.0, 3: 3.0, 4: 4.0}


def test_visible_times_ignore_words_beyond_the_answer() -> None:
    assert visible_times([_message((1.0, "w0009 -# fake-model"))], words=2) == {1: 1.0, 2: 1.0}


def test_final_visible_time_is_the_first_final_revision_of_the_last_part() -> None:
    first = _message((1.0, "w0001 -# not last"))
    last = _message(
        (2.0, "w0002 -# footer while streaming"), (3.0, "w0002 -# final"), buttons_until=2.5
    )

    assert final_visible_time([first, last]) == 3.0
    assert final_visible_time([_message((1.0, "w0001"))]) is None


def test_end_to_final_counts_from_the_end_of_the_stream() -> None:
    answer = _answer({1: 0.0})
    answer.stream_end, answer.final_visible = 10.0, 10.25

    assert answer.end_to_final_s == 0.25
    assert _answer({1: 0.0}).end_to_final_s is None


def test_command_to_visible_target_is_judged_from_fifty_answers() -> None:
    assert command_to_visible_target(10) is None
    assert command_to_visible_target(50) == 1.5
    assert command_to_visible_target(200) == 6.0


def test_peak_concurrency_counts_overlapping_streams() -> None:
    answers = [_answer({1: 0.0, 2: 5.0}), _answer({1: 1.0, 2: 2.0}), _answer({1: 6.0, 2: 7.0})]

    assert peak_concurrency(answers) == 2


def test_staleness_target_follows_the_global_budget_beyond_ten() -> None:
    assert staleness_target(1) == staleness_target(10) == 1.5
    assert staleness_target(90) == 90 / 45 + 1.5


def test_percentile_of_one_value_is_that_value() -> None:
    assert percentile([0.25], 95) == 0.25
    assert percentile([float(i) for i in range(101)], 95) == 95.0


def test_numbered_words_are_six_characters_each() -> None:
    assert numbered_words(3) == "w0001 w0002 w0003 "


def test_process_cpu_s_reads_a_live_process() -> None:
    cpu = process_cpu_s(os.getpid())

    assert math.isnan(cpu) or cpu > 0
    assert math.isnan(process_cpu_s(2**22 + 1))  # beyond Linux's pid_max: no such process


def test_stderr_tail_keeps_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "err.log"
    log.write_text("".join(f"line {i}\n" for i in range(50)))

    assert stderr_tail(log, 2) == "line 48\nline 49"
    assert stderr_tail(tmp_path / "missing.log") == ""


async def test_wait_ready_reports_a_bot_that_exits_with_its_stderr(tmp_path: Path) -> None:
    log = tmp_path / "err.log"
    with log.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "import sys; print('bad token', file=sys.stderr); sys.exit(2)",
            stderr=err,
        )
    await process.wait()

    with pytest.raises(RuntimeError, match=r"exited with 2 before it was ready(.|\n)*bad token"):
        await _wait_ready(BotProcess(process, log), timeout_s=10)


async def test_stop_sends_sigterm_and_returns_the_exit_code(tmp_path: Path) -> None:
    log = tmp_path / "err.log"
    script = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))\n"
        "print('connected as test', file=sys.stderr, flush=True)\n"
        "time.sleep(30)\n"
    )
    with log.open("wb") as err:
        process = await asyncio.create_subprocess_exec(sys.executable, "-c", script, stderr=err)
    bot = BotProcess(process, log)
    await _wait_ready(bot, timeout_s=10)

    assert await _stop(bot) == 3


async def test_discord_bench_level_runs_against_the_real_bot_process() -> None:
    run = await run_level(2, 5)

    assert run.finished == 2
    assert run.total_429s == 0
    if sys.platform == "linux":  # a separate process, its CPU read from /proc
        assert run.bot_cpu_s > 0
    assert len(run.answers) == 2
    for answer in run.answers:
        assert sorted(answer.written) == [1, 2, 3, 4, 5]
        assert answer.missing_words == 0
        assert answer.interaction.acknowledged
        assert answer.patches >= 1
        assert answer.end_to_final_s is not None
    names = [r.name for r in level_results(run)]
    assert "N=2   429s received" in names
    assert "N=2   staleness p95" in names
    assert "N=2   /chat → first visible (median)" in names
    assert "N=2   stream end → final visible (median)" in names
    assert all(r.group == "discord" for r in level_results(run))
