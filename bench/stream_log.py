"""Saving answers in flight: N answers streaming at once, one write transaction per interval.

A real database file; N answers (200) each with a real `AnswerRecorder` registered with a
running `StreamLog` at its default interval (1 s). One producer feeds every answer a delta
every 50 ms (20 tokens/s each, 4,000 deltas/s in all; the first fifth reasoning, then text)
for several intervals. Measured:
(a) write transactions per interval while all N stream, counted as COMMITs in SQLite's own
    statement trace (target 1: one transaction for every answer, not N);
(b) a flush that writes all N answers, from taking the lock to the commit (median and max);
(c) the longest time between two saves: about the most of a streaming answer a kill loses;
(d) the reference, in the same run: N other answers holding the same text saved one
    transaction each, as saving per answer would, next to the same save batched in one.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from pathlib import Path

from bench.results import Result, Target, median
from bot.llm.types import ChatRequest, ReasoningDelta, RoundStarted, TextDelta
from bot.services.recorder import AnswerRecorder
from bot.storage.conversations import ConversationRepository
from bot.storage.database import Database
from bot.storage.messages import MessageRepository
from bot.storage.stream_log import FlushStats, StreamLog

GROUP = "stream-log"
TICK_S = 0.05
TRANSACTIONS_TARGET = 1.05  # per interval: one (a flush's own duration makes it a bit less)
FLUSH_TARGET_MS = 50.0
GAP_TARGET_S = 2.0
REQUEST = ChatRequest("fake-model", ())
_WORDS = ("the ", "answer ", "streams ", "while ", "members ", "read ", "Zürich ", "東京 ")


async def _answers(db: Database, count: int, first_channel: int = 10_000) -> list[int]:
    conversations = ConversationRepository(db)
    messages = MessageRepository(db)
    ids = []
    for n in range(count):
        conversation = await conversations.create(
            kind="thread", guild_id=1, channel_id=first_channel + n, parent_channel_id=5,
            title=None, model=None, created_by=7,
        )  # fmt: skip
        asked = await messages.add_user_message(conversation.id, "a question", 7, "Ann", None)
        answer = await messages.start_answer(conversation.id, "fake-model", asked.id)
        ids.append(answer.id)
    return ids


async def _stream(
    recorders: list[AnswerRecorder], ticks: int, stream_log: StreamLog
) -> list[FlushStats]:
    """Feed every answer one delta per tick; returns each flush seen meanwhile."""
    for recorder in recorders:
        await recorder.on_event(RoundStarted(1, REQUEST))
    flushes: list[FlushStats] = []
    for tick in range(ticks):
        word = _WORDS[tick % len(_WORDS)]
        event = ReasoningDelta(word) if tick < ticks // 5 else TextDelta(word)
        for recorder in recorders:
            await recorder.on_event(event)
        await asyncio.sleep(TICK_S)
        last = stream_log.last_flush
        if last is not None and (not flushes or flushes[-1] is not last):
            flushes.append(last)
    return flushes


async def _batched(db: Database, ids: list[int], interval_s: float, intervals: int) -> list[Result]:
    messages = MessageRepository(db)
    commits: list[float] = []
    # The trace runs on the connection's thread, for every statement of every task.
    await db.set_trace_callback(
        lambda sql: commits.append(time.monotonic()) if sql.strip() == "COMMIT" else None
    )
    async with StreamLog.running(db, interval_s=interval_s) as stream_log:
        recorders = [AnswerRecorder(messages, i, drafts=stream_log) for i in ids]
        started = time.monotonic()
        flushes = await _stream(recorders, round(intervals * interval_s / TICK_S), stream_log)
        seen = [t for t in commits if t >= started]
    await db.set_trace_callback(None)
    full = [f.seconds for f in flushes if f.answers == len(ids)]
    gaps = [b - a for a, b in zip([started, *seen], seen, strict=False)]
    span = seen[-1] - seen[0] if len(seen) > 1 else math.nan
    n = len(ids)
    return [
        Result(
            GROUP,
            f"transactions per interval, {n} answers streaming",
            (len(seen) - 1) / (span / interval_s),
            "",
            Target(TRANSACTIONS_TARGET),
            note=f"{len(seen)} COMMITs in {span:.1f} s at {interval_s:g} s intervals, "
            f"{median([f.answers for f in flushes]):.0f} answers each",
        ),
        Result(
            GROUP,
            f"flush of {n} answers (median)",
            median(full) * 1000,
            "ms",
            Target(FLUSH_TARGET_MS),
        ),
        Result(GROUP, f"flush of {n} answers (max)", max(full, default=math.nan) * 1000, "ms"),
        Result(
            GROUP,
            "longest time between two saves",
            max(gaps, default=math.nan),
            "s",
            Target(GAP_TARGET_S),
            note="about the most of a streaming answer a kill can lose",
        ),
    ]


async def _save_all(db: Database, ids: list[int], text: str, logs: list[StreamLog]) -> float:
    """Stream `text` into each answer, save once, grow each by a word; seconds to save that."""
    messages = MessageRepository(db)
    recorders = [
        AnswerRecorder(messages, answer_id, drafts=logs[i % len(logs)])
        for i, answer_id in enumerate(ids)
    ]
    for recorder in recorders:
        await recorder.on_event(RoundStarted(1, REQUEST))
        await recorder.on_event(TextDelta(text))
    for stream_log in logs:
        await stream_log.flush()
    for recorder in recorders:
        await recorder.on_event(TextDelta(_WORDS[0]))
    started = time.perf_counter()
    for stream_log in logs:
        await stream_log.flush()
    return time.perf_counter() - started


async def _reference(db: Database, count: int, ticks: int) -> list[Result]:
    """Other answers with the text the streamed ones reached: per answer vs. batched."""
    text = "".join(_WORDS[t % len(_WORDS)] for t in range(ticks // 5, ticks))
    apart = await _save_all(
        db, await _answers(db, count, 20_000), text, [StreamLog(db) for _ in range(count)]
    )
    together = await _save_all(db, await _answers(db, count, 30_000), text, [StreamLog(db)])
    return [
        Result(
            GROUP,
            f"reference: {count} answers saved a transaction each",
            apart * 1000,
            "ms",
            note=f"the same save in one transaction: {together * 1000:.1f} ms "
            f"({together / apart:.2f}x)",
        )
    ]


async def run(quick: bool) -> list[Result]:
    count = 20 if quick else 200
    interval_s = 0.1 if quick else 1.0
    intervals = 3 if quick else 6
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as folder:
        async with Database.open(Path(folder) / "stream.db") as db:
            ids = await _answers(db, count)
            results = await _batched(db, ids, interval_s, intervals)
            results += await _reference(db, count, round(intervals * interval_s / TICK_S))
    return results
