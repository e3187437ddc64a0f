"""A stdio MCP server's stderr: logged line by line at DEBUG, its last lines kept for status.

`StderrTail.open()` makes a pipe and returns its write end, to be the child's stderr; the
read end is watched by the event loop (no thread, no task). `child_started()` closes our copy
of the write end so the pipe ends when the child (and anything it spawned) exits. A server
that fails to start usually says why on stderr: `last_line()` is what `/status` shows.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import os
from collections import deque
from typing import TextIO

log = logging.getLogger(__name__)

MAX_LINE = 500


class StderrTail:
    def __init__(self, server: str, *, keep: int = 20) -> None:
        self.server = server
        self.lines: deque[str] = deque(maxlen=keep)
        self._writer: TextIO | None = None
        self._transport: asyncio.ReadTransport | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""

    async def open(self) -> TextIO:
        read_fd, write_fd = os.pipe()
        self._writer = os.fdopen(write_fd, "w", encoding="utf-8")
        loop = asyncio.get_running_loop()
        try:
            self._transport, _ = await loop.connect_read_pipe(
                lambda: _Pipe(self), os.fdopen(read_fd, "rb", buffering=0)
            )
        except BaseException:
            self.child_started()
            os.close(read_fd)
            raise
        return self._writer

    def child_started(self) -> None:
        """Close our copy of the write end (the child keeps its own)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> None:
        self.child_started()
        if self._transport is not None:
            self._drain(self._transport)
            self._transport.close()
            self._transport = None
        self._flush()

    def _drain(self, transport: asyncio.ReadTransport) -> None:
        """Read what is already in the pipe: a dying server's last line may not have reached
        the event loop yet, and it is the one `/status` should show."""
        pipe = transport.get_extra_info("pipe")
        if pipe is None:
            return
        for _ in range(64):  # at most 4 MB; the pipe is non-blocking
            try:
                data = os.read(pipe.fileno(), 65_536)
            except (BlockingIOError, OSError, ValueError):
                return
            if not data:
                return
            self.feed(data)

    def last_line(self) -> str | None:
        return self.lines[-1] if self.lines else None

    def feed(self, data: bytes) -> None:
        text = self._partial + self._decoder.decode(data)
        *complete, self._partial = text.split("\n")
        self._partial = self._partial[-MAX_LINE:]
        for line in complete:
            self._line(line)

    def _flush(self) -> None:
        if self._partial:
            self._line(self._partial)
            self._partial = ""

    def _line(self, line: str) -> None:
        line = line.rstrip()[:MAX_LINE]
        if line:
            self.lines.append(line)
            log.debug("mcp server %s: %s", self.server, line)


class _Pipe(asyncio.Protocol):
    def __init__(self, tail: StderrTail) -> None:
        self.tail = tail

    def data_received(self, data: bytes) -> None:
        self.tail.feed(data)

    def eof_received(self) -> bool:
        self.tail._flush()
        return False
