"""One measured run of the Discord streaming benchmark: N concurrent `/chat` answers.

The real bot runs as in production, as its own process (`python -m bot`, default lanes =
Discord's real windows), against `FakeDiscord` with its default (Discord's) rate limits and a
`TimedLLMServer` that streams numbered words (`w0001 w0002 …`) on a fixed schedule and logs
when each word was written. Both fakes and all measurement live in this process, so the
fakes' CPU work is not charged to the bot (in production Discord is not on the bot's CPU).
Every timestamp is taken inside the fakes on this process's clock (`time.monotonic`): word
written, message revision arrived, interaction created and acknowledged, so "written" and
"visible" are directly comparable.
"""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.bot_process import bot_process, process_cpu_s
from tests.fakes.discord_server import (
    CallRecord,
    FakeChannel,
    FakeDiscord,
    FakeInteraction,
    FakeMessage,
)
from tests.fakes.llm_scripts import Scripted, text_reply
from tests.fakes.llm_server import FakeLLMServer

log = logging.getLogger(__name__)

WORD = re.compile(r"\bw(\d{4})\b")
ANSWER_TAG = re.compile(r"answer-(\d+)")
ANSWER_HEADER = "X-Bench-Answer"
WORD_INTERVAL_S = 0.05  # one word per write, 20 words/s: a brisk but realistic model
ROOT = Path(__file__).resolve().parents[1]


def prompt_for(answer: int) -> str:
    """The /chat prompt of answer `answer`; its tag survives into the thread name."""
    return f"bench answer-{answer:03d}: stream numbered words"


def numbered_words(count: int) -> str:
    return "".join(f"w{i:04d} " for i in range(1, count + 1))


class TimedLLMServer(FakeLLMServer):
    """A FakeLLMServer whose bench answers are written on a fixed schedule, logging times.

    Each request tagged `answer-K` in its last user message gets `words` numbered words, one
    per write, `interval_s` apart counted from the first write (a schedule, not a sleep per
    write, so a busy event loop delays words but does not stretch the offered load).
    `written[K][w]` is the monotonic time word `w` of answer K was handed to the socket,
    `ended[K]` when its stream was complete (the last chunk and the end of the body written).
    """

    def __init__(self, words: int, interval_s: float = WORD_INTERVAL_S) -> None:
        super().__init__(responder=self._respond)
        self.words = words
        self.interval_s = interval_s
        self.written: dict[int, dict[int, float]] = {}
        self.ended: dict[int, float] = {}
        self.requested: dict[int, float] = {}  # answer → when its request arrived

    def _respond(self, body: dict[str, Any]) -> Scripted:
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        found = ANSWER_TAG.search(str(users[-1].get("content", ""))) if users else None
        if found is None:
            return text_reply("not a bench prompt")
        # chunk_size 6 = one "w0001 " per content chunk.
        script = text_reply(numbered_words(self.words), chunk_size=6, delay=self.interval_s)
        script.headers[ANSWER_HEADER] = found.group(1)
        return script

    async def _play(self, request: web.Request, script: Scripted) -> web.StreamResponse:
        tag = script.headers.get(ANSWER_HEADER)
        if tag is None:
            return await super()._play(request, script)
        self.requested[int(tag)] = time.monotonic()
        times = self.written.setdefault(int(tag), {})
        response = web.StreamResponse(status=script.status, headers=script.headers)
        response.content_type = script.content_type
        response.headers["Cache-Control"] = "no-cache"
        await response.prepare(request)
        start = time.monotonic()
        for n, data in enumerate(script.writes, start=1):
            await asyncio.sleep(max(0.0, start + n * script.delay - time.monotonic()))
            word = WORD.search(data.decode())
            if word is not None:
                times[int(word.group(1))] = time.monotonic()
            await response.write(data)
        await response.write_eof()
        self.ended[int(tag)] = time.monotonic()
        return response


@dataclass
class AnswerRecord:
    """What one answer looked like on the fake Discord."""

    answer: int
    written: dict[int, float]  # word → time written by the LLM server
    visible: dict[int, float]  # word → time the first revision showing it arrived
    patches: int  # PATCH requests on this answer's messages (429s included)
    interaction: FakeInteraction
    stream_end: float | None = None  # when the LLM server finished the stream
    final_visible: float | None = None  # when the final state (footer, no buttons) arrived

    @property
    def first_visible_s(self) -> float | None:
        if 1 not in self.written or 1 not in self.visible:
            return None
        return self.visible[1] - self.written[1]

    def staleness_s(self) -> list[float]:
        return [self.visible[w] - t for w, t in self.written.items() if w in self.visible]

    @property
    def command_to_visible_s(self) -> float | None:
        """What the member waits: /chat invoked → first word visible."""
        if 1 not in self.visible:
            return None
        return self.visible[1] - self.interaction.created_at

    @property
    def end_to_final_s(self) -> float | None:
        """What the member waits for the last words: stream complete → final state shown."""
        if self.stream_end is None or self.final_visible is None:
            return None
        return self.final_visible - self.stream_end

    @property
    def missing_words(self) -> int:
        return sum(1 for w in self.written if w not in self.visible)


@dataclass
class LevelRun:
    """Everything measured at one N."""

    n: int
    words: int
    answers: list[AnswerRecord]
    total_429s: int
    rate_limit_hits: dict[str, int]
    wall_s: float
    bot_cpu_s: float  # the bot process (nan where /proc is unavailable)
    fakes_cpu_s: float  # this process: fake Discord, fake LLM and the measuring
    # This process's event loop (the fakes'), not the bot's.
    fakes_loop_lag_s: list[float] = field(default_factory=list)
    finished: int = 0
    calls: list[CallRecord] = field(default_factory=list)  # every REST call, for diagnosis
    started_at: float = 0.0


def peak_concurrency(answers: list[AnswerRecord]) -> int:
    """Most answers streaming (between their first and last word written) at one instant."""
    edges = sorted(
        edge
        for a in answers
        if a.written
        for edge in ((min(a.written.values()), 1), (max(a.written.values()), -1))
    )
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def visible_times(messages: list[FakeMessage], words: int) -> dict[int, float]:
    """Word → arrival time of the first revision (of any part) showing it or a later word."""
    revisions = sorted((r.at, r.content) for m in messages for r in m.revisions)
    visible: dict[int, float] = {}
    shown = 0
    for at, content in revisions:
        highest = max((int(w) for w in WORD.findall(content)), default=0)
        for word in range(shown + 1, min(highest, words) + 1):
            visible[word] = at
        shown = max(shown, highest)
    return visible


def _stopping(components: list[Any]) -> bool:
    """Whether these components hold the Stop button (a finished answer may offer others)."""
    for row in components:
        for item in row.get("components", []) if isinstance(row, dict) else []:
            if str(item.get("custom_id", "")).startswith("switchboard:stop:"):
                return True
    return False


def is_finished(messages: list[FakeMessage]) -> bool:
    """The last part shows the footer and no Stop button: the final state landed."""
    live = [m for m in messages if not m.deleted]
    return bool(live) and "-# " in live[-1].content and not _stopping(live[-1].components)


def final_visible_time(messages: list[FakeMessage]) -> float | None:
    """Arrival of the first revision of the last part that shows the final state."""
    live = [m for m in messages if not m.deleted]
    if not live:
        return None
    final = (r.at for r in live[-1].revisions if "-# " in r.content and not _stopping(r.components))
    return next(final, None)


class LoopLagMonitor:
    """How late a 10 ms sleep wakes up: the event loop's backlog, sampled continuously."""

    def __init__(self, period_s: float = 0.01) -> None:
        self.period_s = period_s
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.period_s)
            self.lags.append(max(0.0, time.monotonic() - before - self.period_s))

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def _wait_finished(
    fake: FakeDiscord, threads: Callable[[], dict[int, FakeChannel]], n: int, timeout_s: float
) -> int:
    """Poll (cheaply, so the check does not load the loop it measures) until all answers
    show their final state; returns how many did."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = threads()
        done = sum(1 for t in found.values() if is_finished(fake.messages(t.id)))
        if done >= n or time.monotonic() > deadline:
            return done
        await asyncio.sleep(0.25)


async def run_level(
    n: int, words: int, *, db_dir: Path | None = None, global_rate: float | None = None
) -> LevelRun:
    """Start a fresh fake Discord, fake LLM and bot process; run N concurrent /chat answers.
    `global_rate`: the bot's DISCORD_GLOBAL_RATE (its default when None)."""
    env = {} if global_rate is None else {"DISCORD_GLOBAL_RATE": f"{global_rate:g}"}
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-", dir=db_dir) as tmp:
        llm = TimedLLMServer(words)
        async with FakeDiscord() as fake, llm, bot_process(fake, llm, Path(tmp), env=env) as bot:
            assert fake.channel is not None
            return await measure(fake, llm, [bot.process.pid], [fake.channel.id], n, words)


async def measure(
    fake: FakeDiscord,
    llm: TimedLLMServer,
    bot_pids: list[int],
    parents: list[int],
    n: int,
    words: int,
) -> LevelRun:
    """Invoke N /chat commands, answer k in channel `parents[k % len(parents)]`, and wait for
    every answer to finish; `bot_pids`: the bot processes whose CPU is counted."""
    by_answer: dict[int, FakeChannel] = {}

    def threads() -> dict[int, FakeChannel]:
        if len(by_answer) < n:
            for parent in parents:
                for thread in fake.threads(parent):
                    tag = ANSWER_TAG.search(thread.name)
                    if tag is not None:
                        by_answer[int(tag.group(1))] = thread
        return by_answer

    lag = LoopLagMonitor()
    lag.start()
    started, cpu_started = time.monotonic(), time.process_time()
    bot_cpu_started = sum(process_cpu_s(pid) for pid in bot_pids)
    interactions = [
        await fake.invoke_slash_command(
            "chat", {"prompt": prompt_for(k)}, channel_id=parents[k % len(parents)]
        )
        for k in range(n)
    ]
    stream_s = words * WORD_INTERVAL_S
    finished = await _wait_finished(fake, threads, n, timeout_s=60 + 2 * stream_s + n * 0.5)
    wall, cpu = time.monotonic() - started, time.process_time() - cpu_started
    bot_cpu = sum(process_cpu_s(pid) for pid in bot_pids) - bot_cpu_started
    await lag.stop()

    answers: list[AnswerRecord] = []
    for k, interaction in enumerate(interactions):
        thread = by_answer.get(k)
        messages = fake.messages(thread.id) if thread is not None else []
        mine = [m for m in messages if m.author.id == fake.bot_user.id]
        prefix = f"/channels/{thread.id}/messages/" if thread is not None else "-"
        patches = sum(1 for c in fake.calls if c.method == "PATCH" and prefix in c.path)
        answers.append(
            AnswerRecord(
                answer=k,
                written=dict(llm.written.get(k, {})),
                visible=visible_times(mine, words),
                patches=patches,
                interaction=interaction,
                stream_end=llm.ended.get(k),
                final_visible=final_visible_time(mine),
            )
        )
    return LevelRun(
        n=n,
        words=words,
        answers=answers,
        total_429s=fake.total_429s,
        rate_limit_hits=dict(fake.rate_limit_hits),
        wall_s=wall,
        bot_cpu_s=bot_cpu,
        fakes_cpu_s=cpu,
        fakes_loop_lag_s=lag.lags,
        finished=finished,
        calls=list(fake.calls),
        started_at=started,
    )
