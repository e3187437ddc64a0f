"""StreamLog: the open round of every answer in flight, saved in one transaction per interval."""

from __future__ import annotations

import asyncio
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench import stream_log as stream_log_bench
from bot.storage.database import Database
from bot.storage.messages import MessageRepository, NewStep
from bot.storage.models import Conversation
from bot.storage.stream_log import RoundDraft, StreamLog
from tests.polling import wait_until


@dataclass
class Streaming:
    """An answer being streamed, as the recorder describes it to the StreamLog."""

    round: int = 1
    reasoning: str = ""
    text: str = ""
    open: bool = True

    def draft(self) -> RoundDraft | None:
        return RoundDraft(self.round, self.reasoning, self.text) if self.open else None


def rows(db_path: Path, answer_id: int) -> list[tuple[int, int, str, str]]:
    """(seq, round, kind, content) of an answer's steps, read by a second connection."""
    with sqlite3.connect(db_path) as conn:
        found = conn.execute(
            "SELECT seq, round, kind, content FROM steps WHERE message_id = ? ORDER BY seq",
            (answer_id,),
        ).fetchall()
    return [tuple(r) for r in found]


def content(db_path: Path, answer_id: int) -> str:
    with sqlite3.connect(db_path) as conn:
        row = conn.execute("SELECT content FROM messages WHERE id = ?", (answer_id,)).fetchone()
    return str(row[0])


async def count_commits(db: Database) -> list[str]:
    """Every COMMIT the connection runs from now on (SQLite's statement trace)."""
    seen: list[str] = []
    await db.set_trace_callback(lambda sql: seen.append(sql) if sql.strip() == "COMMIT" else None)
    return seen


async def test_stream_log_flush_writes_every_changed_answer_in_one_transaction(
    db: Database, db_path: Path, messages: MessageRepository, thread: Conversation
) -> None:
    stream_log = StreamLog(db)
    answers = [await messages.start_answer(thread.id, "m", None) for _ in range(3)]
    streams = [Streaming(reasoning=f"think {i}", text=f"words {i}") for i in range(3)]
    handles = [stream_log.watch(a.id, s.draft) for a, s in zip(answers, streams, strict=True)]
    for handle in handles[:2]:
        handle.changed()
        handle.changed()  # marking twice is once
    commits = await count_commits(db)

    stats = await stream_log.flush()

    assert stats.answers == 2 and stream_log.transactions == 1
    assert len(commits) == 1
    assert rows(db_path, answers[0].id) == [
        (0, 1, "reasoning", "think 0"),
        (1, 1, "text", "words 0"),
    ]
    assert rows(db_path, answers[1].id) == [
        (0, 1, "reasoning", "think 1"),
        (1, 1, "text", "words 1"),
    ]
    assert rows(db_path, answers[2].id) == []  # unchanged: not written
    assert stream_log.pending == 0


async def test_stream_log_updates_the_draft_in_place(
    db: Database, db_path: Path, messages: MessageRepository, thread: Conversation
) -> None:
    stream_log = StreamLog(db)
    answer = await messages.start_answer(thread.id, "m", None)
    await messages.append_steps(answer.id, [NewStep(0, "text", "round zero")])
    stream = Streaming(reasoning="hmm")
    handle = stream_log.watch(answer.id, stream.draft)
    handle.changed()
    await stream_log.flush()
    stream.reasoning, stream.text = "hmm, yes", "The answer"
    handle.changed()
    await stream_log.flush()
    stream.text = "The answer is 42."
    handle.changed()
    await stream_log.flush()

    assert rows(db_path, answer.id) == [
        (0, 0, "text", "round zero"),
        (1, 1, "reasoning", "hmm, yes"),
        (2, 1, "text", "The answer is 42."),
    ]
    assert stream_log.transactions == 3


async def test_stream_log_save_round_replaces_the_draft(
    db: Database, db_path: Path, messages: MessageRepository, thread: Conversation
) -> None:
    stream_log = StreamLog(db)
    answer = await messages.start_answer(thread.id, "m", None)
    stream = Streaming(reasoning="let me look", text="Checking")
    handle = stream_log.watch(answer.id, stream.draft)
    handle.changed()
    await stream_log.flush()

    final = [
        NewStep(1, "reasoning", "let me look it up"),
        NewStep(1, "text", "Checking the docs."),
        NewStep(1, "tool_call", "", "c1", "search", "{}"),
    ]
    await handle.save_round(1, final)
    stream.open = False
    handle.changed()
    await stream_log.flush()

    assert rows(db_path, answer.id) == [
        (0, 1, "reasoning", "let me look it up"),
        (1, 1, "text", "Checking the docs."),
        (2, 1, "tool_call", ""),
    ]


async def test_stream_log_save_round_of_an_empty_round_removes_its_draft(
    db: Database, db_path: Path, messages: MessageRepository, thread: Conversation
) -> None:
    stream_log = StreamLog(db)
    answer = await messages.start_answer(thread.id, "m", None)
    handle = stream_log.watch(answer.id, Streaming(text="draft only").draft)
    handle.changed()
    await stream_log.flush()

    await handle.save_round(1, [])

    assert rows(db_path, answer.id) == []


@pytest.mark.parametrize("first", ["flush", "save_round"])
async def test_stream_log_never_writes_a_draft_after_the_final_round(
    first: str, db: Database, db_path: Path, messages: MessageRepository, thread: Conversation
) -> None:
    stream_log = StreamLog(db)
    answer = await messages.start_answer(thread.id, "m", None)
    # The source still offers round 1 after its final write (the worst case for the log).
    stream = Streaming(text="half an ans")
    handle = stream_log.watch(answer.id, stream.draft)
    handle.changed()
    final = [NewStep(1, "text", "half an answer, then all of it.")]

    if first == "flush":
        flushing = asyncio.ensure_future(stream_log.flush())
        await asyncio.sleep(0)  # the flush holds the database
        await handle.save_round(1, final)
        await flushing
    else:
        saving = asyncio.ensure_future(handle.save_round(1, final))
        await asyncio.sleep(0)  # the final write holds the database
        await stream_log.flush()
        await saving
    handle.changed()
    await stream_log.flush()

    assert rows(db_path, answer.id) == [(0, 1, "text", "half an answer, then all of it.")]


async def test_stream_log_moves_text_that_was_reasoning(
    db: Database, db_path: Path, messages: MessageRepository, thread: Conversation
) -> None:
    stream_log = StreamLog(db)
    answer = await messages.start_answer(thread.id, "m", None)
    stream = Streaming(text="<think>planning")
    handle = stream_log.watch(answer.id, stream.draft)
    handle.changed()
    await stream_log.flush()
    stream.reasoning, stream.text = "<think>planning", ""
    handle.changed()
    await stream_log.flush()

    assert rows(db_path, answer.id) == [(0, 1, "text", ""), (1, 1, "reasoning", "<think>planning")]


async def test_stream_log_forgets_a_closed_answer(
    db: Database, messages: MessageRepository, thread: Conversation
) -> None:
    stream_log = StreamLog(db)
    answer = await messages.start_answer(thread.id, "m", None)
    handle = stream_log.watch(answer.id, Streaming(text="draft").draft)
    handle.changed()

    handle.close()
    handle.changed()
    assert stream_log.pending == 0
    assert (await stream_log.flush()).answers == 0


async def test_stream_log_failed_flush_is_written_by_the_next(
    db: Database, db_path: Path, messages: MessageRepository, thread: Conversation
) -> None:
    stream_log = StreamLog(db)
    answer = await messages.start_answer(thread.id, "m", None)
    calls = 0
    stream = Streaming(text="kept")

    def flaky() -> RoundDraft | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")
        return stream.draft()

    handle = stream_log.watch(answer.id, flaky)
    handle.changed()
    with pytest.raises(RuntimeError):
        await stream_log.flush()
    assert stream_log.pending == 1
    await stream_log.flush()
    assert rows(db_path, answer.id) == [(0, 1, "text", "kept")]


async def test_stream_log_running_flushes_on_its_own_and_on_exit(
    db: Database, db_path: Path, messages: MessageRepository, thread: Conversation
) -> None:
    periodic = await messages.start_answer(thread.id, "m", None)
    last = await messages.start_answer(thread.id, "m", None)
    async with StreamLog.running(db, interval_s=0.01) as stream_log:
        stream_log.watch(periodic.id, Streaming(text="on its own").draft).changed()
        # Polled: the log's own timer is what is tested, and it signals nothing.
        await wait_until(lambda: bool(stream_log.transactions), within_s=5)
        assert rows(db_path, periodic.id) == [(0, 1, "text", "on its own")]
    async with StreamLog.running(db, interval_s=3600) as stream_log:
        stream_log.watch(last.id, Streaming(text="on exit").draft).changed()
    assert rows(db_path, last.id) == [(0, 1, "text", "on exit")]


async def test_stream_log_recovery_makes_the_saved_text_the_content(
    db: Database, db_path: Path, messages: MessageRepository, thread: Conversation
) -> None:
    stream_log = StreamLog(db)
    answer = await messages.start_answer(thread.id, "m", None)
    reasoning_only = await messages.start_answer(thread.id, "m", None)
    stream = Streaming(text="Checking.")
    handle = stream_log.watch(answer.id, stream.draft)
    await handle.save_round(1, [NewStep(1, "text", "Checking."), NewStep(1, "text", " ")])
    stream.round, stream.reasoning, stream.text = 2, "so", "It is 4"
    handle.changed()
    stream_log.watch(reasoning_only.id, Streaming(reasoning="hmm").draft).changed()
    await stream_log.flush()
    assert content(db_path, answer.id) == ""  # saved as steps only, while streaming

    interrupted = await messages.interrupt_orphaned(unowned=True)

    assert [m.content for m in interrupted] == ["Checking.\n\nIt is 4", ""]
    assert await messages.get(answer.id) == interrupted[0]
    assert await messages.get(reasoning_only.id) == interrupted[1]


async def test_stream_log_bench_runs_at_toy_size() -> None:
    results = await stream_log_bench.run(quick=True)

    assert len(results) == 5
    assert all(math.isfinite(r.value) and r.value >= 0 for r in results), results
