"""PostgreSQL lost mid-run: noticing it, reconnecting with backoff, and the writes that wait.

The pool replaces dead connections by itself (a connection idle for a while is pinged at
checkout, and a statement that finds its connection cut replaces the whole pool: see
`postgres_backend.PING_IDLE_S`), so "reconnecting" needs no state of ours beyond knowing the
server is gone. The first statement that fails because the
connection was cut or refused (`Database` translates it into `DatabaseUnavailableError`,
which members read as one plain line) calls `lost`: one warning, the `on_lost` listeners are
told (the chat service ends the answers in flight), and a task tries `SELECT 1` with growing
pauses, one log line per attempt and no traceback, until the server answers.

What could not be written meanwhile and must not be dropped (an answer's final text and
status, a budget hold to release) is queued with `redo` and written, in order, as soon as
the server is back. If the process stops first, those answers are still `streaming` in the
database, and the next start's recovery marks them interrupted with the text their steps
hold: nothing stays `streaming` for good either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.errors import DatabaseUnavailableError
from bot.tasks import spawn

log = logging.getLogger(__name__)

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0

Write = Callable[[], Awaitable[object]]


class Outage:
    """Whether PostgreSQL at `where` is reachable, as far as this process knows."""

    def __init__(
        self,
        where: str,
        probe: Callable[[], Awaitable[None]],
        describe: Callable[[BaseException], str],
        *,
        retry_first_s: float = RETRY_FIRST_S,
        retry_max_s: float = RETRY_MAX_S,
    ) -> None:
        self.where = where
        self._probe = probe  # one round trip on a fresh or pinged connection
        self._describe = describe  # an error as one line, without secrets
        self.retry_first_s = retry_first_s
        self.retry_max_s = retry_max_s
        self.closed = False  # the database is closing: no more reconnecting
        self.count = 0  # outages noticed since start
        self._reconnecting: asyncio.Task[None] | None = None
        self._lost_listeners: list[Callable[[], None]] = []
        self._redo: list[tuple[str, Write]] = []
        self._redoing = asyncio.Lock()
        self._reachable = asyncio.Event()  # cleared while the server is gone
        self._reachable.set()

    @property
    def down(self) -> bool:
        """The server was found gone and not yet found back."""
        return not self._reachable.is_set()

    @property
    def waiting(self) -> int:
        """Writes queued until the server is back."""
        return len(self._redo)

    async def until_back(self, within_s: float) -> bool:
        """Wait (up to `within_s`) until the server is found reachable again; True if it is."""
        if self.closed:
            return False
        try:
            async with asyncio.timeout(within_s):
                await self._reachable.wait()
        except TimeoutError:
            return False
        return not self.closed

    def on_lost(self, listener: Callable[[], None]) -> None:
        """Call `listener` (synchronously, so it can't fail half-way) whenever the server is
        found gone."""
        self._lost_listeners.append(listener)

    def lost(self, reason: str) -> None:
        """A statement failed because the server is gone: start reconnecting (once)."""
        was_down = self.down
        self._reachable.clear()
        if was_down or self.closed:
            return
        self.count += 1
        log.warning(
            "lost the connection to PostgreSQL at %s (%s); reconnecting", self.where, reason
        )
        self._reconnecting = spawn(self._reconnect(), name="database-reconnect")
        for listener in self._lost_listeners:
            listener()

    def redo(self, what: str, write: Write) -> None:
        """Run `write` once the server is reachable (at once if it already is again)."""
        self._redo.append((what, write))
        if not self.down and not self.closed:
            spawn(self._write_waiting(), name="database-redo")

    async def close(self) -> None:
        """Stop reconnecting; try once more to write what waits (the server may be back
        before the next attempt was due)."""
        self.closed = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
            self._reconnecting = None
        if self._redo:
            self._reachable.set()
            await self._write_waiting()
        if self._redo:
            log.warning(
                "%d writes left unsaved by the lost PostgreSQL connection: the answers among "
                "them are marked interrupted by the next start",
                len(self._redo),
            )

    async def _reconnect(self) -> None:
        delay, attempt = self.retry_first_s, 0
        while True:
            await asyncio.sleep(delay)
            attempt += 1
            try:
                await self._probe()
            except Exception as exc:
                delay = min(delay * 2, self.retry_max_s)
                log.warning(
                    "PostgreSQL at %s still unreachable (attempt %d: %s); next try in %.1f s",
                    self.where,
                    attempt,
                    self._describe(exc),
                    delay,
                )
                continue
            break
        log.warning("PostgreSQL at %s reachable again (attempt %d)", self.where, attempt)
        self._reachable.set()
        self._reconnecting = None
        await self._write_waiting()

    async def _write_waiting(self) -> None:
        async with self._redoing:
            written = 0
            while self._redo and not self.down:
                what, write = self._redo[0]
                try:
                    await write()
                except DatabaseUnavailableError:
                    return  # gone again: `lost` was called, the next reconnect writes it
                except Exception:
                    log.exception("writing %s after the outage failed", what)
                else:
                    written += 1
                self._redo.pop(0)
            if written:
                log.info("wrote %d records left waiting by the lost connection", written)
