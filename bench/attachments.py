"""Attachments: reading what members bring, end to end over HTTP on 127.0.0.1.

The files are attached to a member's message on the fake Discord and downloaded from its CDN
route by `read_attachments`, so every figure includes the download, like in production:
(a) a 10 MB UTF-8 text file (log-like lines), decoded and turned into the model's text;
(b) the same size in cp1252, which goes through charset detection;
(c) a 50-page PDF, the text of every page extracted;
(d) a 12-megapixel JPEG photo, downscaled and re-encoded (for information).
Limits are raised so that everything is read: the defaults would cut the text at 20,000 tokens
and the work would be far less. Peak memory is measured with tracemalloc in a separate read
(tracing slows Python down, so it is never on while timing), as Python allocations above the
baseline before that read. The event loop's longest blocked stretch is the largest lateness
of a task that wakes every millisecond while the timed reads run; a read that did its CPU
work on the loop would show up there as the length of that work.
"""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from collections.abc import Awaitable, Callable

import aiohttp

from bench.results import Result, Target, median
from bot.attachments import AttachmentLimits, AttachmentRef, MessageAttachments, read_attachments
from tests.attachments.samples import image_bytes, pdf_pages, prose
from tests.fakes.discord.cdn import FakeFile
from tests.fakes.discord_server import FakeDiscord

GROUP = "attachments"
MB = 1_000_000
# Room for the whole 10 MB text and all 50 pages (about 3 M and 40 k tokens).
UNCUT = AttachmentLimits(
    max_file_bytes=16 * MB,
    max_message_bytes=32 * MB,
    max_file_tokens=10_000_000,
    max_message_tokens=10_000_000,
)
TICK_S = 0.001

Read = Callable[[], Awaitable[MessageAttachments]]


class LoopWatch:
    """Measures how late a task that sleeps TICK_S at a time wakes up: the loop's blocking."""

    def __init__(self) -> None:
        self.longest_s = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(TICK_S)
            self.longest_s = max(self.longest_s, time.perf_counter() - before - TICK_S)

    async def __aenter__(self) -> LoopWatch:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def text_of_size(size: int) -> str:
    """Log-like lines with a few accented words, about `size` characters."""
    line_block = prose(64_000) + "\nrésumé of the café run: naïve façade\n"
    return (line_block * (size // len(line_block) + 1))[:size]


async def peak_memory_mb(read: Read) -> float:
    """Python allocations at the peak of one read, above what was allocated before it."""
    gc.collect()
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        await read()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - baseline) / MB


async def run(quick: bool) -> list[Result]:
    text_bytes = (1 if quick else 10) * MB
    n_pages = 5 if quick else 50
    repetitions = 2 if quick else 5
    photo = (1600, 1200) if quick else (4000, 3000)
    text = text_of_size(text_bytes)
    files = {
        "utf8": FakeFile("server.log", text.encode("utf-8")),
        "cp1252": FakeFile("legacy.txt", text.encode("cp1252")),
        "pdf": FakeFile("report.pdf", pdf_pages(n_pages)),
        "photo": FakeFile("photo.jpg", image_bytes(*photo, "JPEG")),
    }
    async with FakeDiscord() as fake, aiohttp.ClientSession() as session:
        readers: dict[str, Read] = {}
        for name, file in files.items():
            message = await fake.send_user_message(attachments=[file])
            refs = [
                AttachmentRef(a["filename"], a.get("content_type"), a["size"], a["url"])
                for a in message.attachments
            ]

            async def read(refs: list[AttachmentRef] = refs) -> MessageAttachments:
                reading = await read_attachments(session, refs, UNCUT)
                if reading.summary is not None:
                    raise RuntimeError(f"not everything was read: {reading.summary}")
                if reading.texts:
                    reading.model_text()  # what the model is sent, built as it would be
                return reading

            readers[name] = read
        for read in readers.values():
            await read()  # warm-up: imports, connection pool
        timings: dict[str, list[float]] = {name: [] for name in readers}
        blocked: dict[str, float] = dict.fromkeys(readers, 0.0)
        for name, read in readers.items():
            for _ in range(repetitions):
                gc.collect()  # before the watch starts: a collection is not the read's doing
                async with LoopWatch() as watch:
                    started = time.perf_counter()
                    await read()
                    timings[name].append(time.perf_counter() - started)
                blocked[name] = max(blocked[name], watch.longest_s)
        memory = {name: await peak_memory_mb(readers[name]) for name in ("utf8", "pdf")}
    return _results(text_bytes, n_pages, photo, repetitions, timings, blocked, memory)


def _results(
    text_bytes: int,
    n_pages: int,
    photo: tuple[int, int],
    repetitions: int,
    timings: dict[str, list[float]],
    blocked: dict[str, float],
    memory: dict[str, float],
) -> list[Result]:
    ms = 1000.0
    size = f"{text_bytes // MB} MB"
    worst = max(blocked, key=lambda name: blocked[name])
    spread = ", ".join(f"{name} {seconds * ms:.1f}" for name, seconds in blocked.items())
    return [
        Result(
            GROUP,
            f"{size} UTF-8 text: download + decode + model text",
            median(timings["utf8"]) * ms,
            "ms",
            Target(300.0),
            note=f"median of {repetitions}, whole text kept",
        ),
        Result(
            GROUP,
            f"{size} cp1252 text: the same, with charset detection",
            median(timings["cp1252"]) * ms,
            "ms",
            Target(300.0),
        ),
        Result(
            GROUP,
            f"{n_pages}-page PDF: download + text of every page",
            median(timings["pdf"]) * ms,
            "ms",
            Target(2000.0),
        ),
        Result(
            GROUP,
            f"{photo[0] * photo[1] / MB:g} MP JPEG photo: download + downscale + re-encode",
            median(timings["photo"]) * ms,
            "ms",
            note=f"{photo[0]}x{photo[1]} to at most 1.15 MP, for information",
        ),
        Result(
            GROUP,
            f"peak memory above baseline, {size} text",
            memory["utf8"],
            "MB",
            Target(100.0),
            note="Python allocations (tracemalloc), the fake CDN's included",
        ),
        Result(
            GROUP,
            f"peak memory above baseline, {n_pages}-page PDF",
            memory["pdf"],
            "MB",
            Target(100.0),
        ),
        Result(
            GROUP,
            "event loop blocked, longest stretch during the reads",
            blocked[worst] * ms,
            "ms",
            Target(20.0),
            note=f"per read, ms: {spread}",
        ),
    ]
