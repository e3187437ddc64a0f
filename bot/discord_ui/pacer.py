"""Edit pacer: turns "this message should now look like X" into Discord calls under every limit.

The pacer owns timing and retries for message edits and creates; it never imports discord.
Callers hand it async callables (`send`) that do the actual call, e.g.
`lambda: message.edit(**payload)`, so this module stays free of Discord types.

    pacer = EditPacer()                 # or: async with EditPacer() as pacer:
    await pacer.start()
    pacer.submit(target, Lane.channel(thread_id), version, send, first_visible=..., final=...)
    await pacer.wait_landed(target, final_version)     # True once that state (or newer) landed
    msg = await pacer.call(Lane.channel(thread_id), lambda: thread.send(...))  # paced one-off
    await pacer.close(flush_timeout=5.0)

Rules it keeps:
- Latest wins: each target (one Discord message) holds at most one pending update; a newer
  `submit` replaces it. At most one send is in flight per target, and per lane (a few for a
  lane with a large bucket, such as thread creation).
- Lanes (`bot.discord_ui.lanes`) are paced by their bucket: urgent sends (an answer's first
  words, final states, one-off calls) go at once whenever the bucket has a request free;
  streaming edits leave one request per window for them and keep to the bucket's pace.
- Global budget: lanes with `uses_global` share a token bucket (45/s by default, under
  Discord's 50/s, which discord.py does not enforce before sending).
- Priority (`bot.discord_ui.schedule`): first signs (an answer's first words, then new
  threads and placeholders) go before finals, and finals before streaming edits of answers
  already on screen, unless those waited longer than one round of the global budget plus a
  margin (at most `promote_after_s`); ties go to the longest wait. With N busy answers
  each is refreshed about every N/45 s.
- Never blocks the producer: `submit` is synchronous and O(1); one background task schedules,
  and every send runs as its own task, so a send that sleeps inside discord.py (a drained
  bucket, a 429 retry) holds only its own lane.
- Errors (`bot.discord_ui.send_errors`): 429 → the lane (or every global lane, for a global
  429) waits `retry_after`, then the latest state is sent; 5xx / connection errors → retried
  with backoff (`RetryPolicy`: a few attempts for updates, more for final states); other
  errors (404 message deleted, 403, 400) → the target is given up, logged once at WARNING.
- `close(flush_timeout)` drops pending non-final updates, waits (bounded) for finals to land,
  then cancels what is left.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections.abc import Awaitable, Callable, Hashable
from types import TracebackType
from typing import TypeVar

from bot.discord_ui.lanes import GLOBAL_BURST, GLOBAL_PER_SECOND, GlobalBudget, Lane
from bot.discord_ui.pacer_book import PacerBook
from bot.discord_ui.pacer_targets import CallKey, LaneState, PacerStats, Send, Target, Update
from bot.discord_ui.schedule import choose
from bot.discord_ui.send_errors import (
    DEFAULT_RETRY,
    Action,
    RetryPolicy,
    Verdict,
    classify,
    log_decision,
)
from bot.tasks import spawn

log = logging.getLogger(__name__)

T = TypeVar("T")

_SWEEP_EVERY_S = 30.0


class PacerClosedError(RuntimeError):
    """`call()` could not run because the pacer is closed."""


class EditPacer:
    def __init__(
        self,
        *,
        global_per_second: float = GLOBAL_PER_SECOND,
        global_burst: int = GLOBAL_BURST,
        promote_after_s: float = 30.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        send_timeout_s: float = 120.0,
    ) -> None:
        self._global = GlobalBudget(global_per_second, global_burst, time.monotonic())
        self._promote_after_s = promote_after_s
        self._retry = retry
        self._send_timeout_s = send_timeout_s
        self.stats = PacerStats()
        self._book = PacerBook(self.stats)
        self._sends: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._close_done = asyncio.Event()
        self._scheduler: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = False
        self._next_sweep = time.monotonic() + _SWEEP_EVERY_S
        self._call_numbers = itertools.count()

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        if self._scheduler is None and not self._closed:
            self._scheduler = spawn(self._run(), name="edit-pacer")

    async def __aenter__(self) -> EditPacer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self, *, flush_timeout: float = 5.0) -> None:
        """Land pending final states (for at most `flush_timeout` s), then stop everything.
        A second call waits for the first to finish."""
        if self._closing:
            await self._close_done.wait()
            return
        self._closing = True
        book = self._book
        for target in list(book.targets.values()):
            if target.pending is not None and not target.pending.final:
                book.drop_pending(target)
        self._wake.set()
        if self._scheduler is not None and book.finals_open():
            self._drained.clear()
            try:
                async with asyncio.timeout(flush_timeout):
                    await self._drained.wait()
            except TimeoutError:
                left = sum(1 for t in book.targets.values() if t.final_open())
                log.warning("edit pacer closed with %d final updates not landed", left)
        self._closed = True
        tasks = [*self._sends, *([self._scheduler] if self._scheduler else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for target in book.targets.values():
            target.resolve_waiters(everyone=True, failed=True)
        book.targets.clear()
        book.ready.clear()
        self._close_done.set()

    # ---- producer side ---------------------------------------------------------------------

    def submit(
        self,
        target: Hashable,
        lane: Lane,
        version: int,
        send: Send,
        *,
        final: bool = False,
        first_visible: bool = False,
        first_sign: bool = False,
    ) -> None:
        """Make `send` the state to show for `target` (replacing any unsent one). Never blocks.

        `version` must grow per target; older or equal versions are ignored. `first_visible`
        marks the first update that shows an answer's text; `first_sign` one that shows where
        an answer will appear (its thread, its placeholder); `final` the answer's last state,
        which is retried until it lands or fails for good.
        """
        if self._closed or (self._closing and not final):
            self.stats.dropped += 1
            return
        self.stats.submitted += 1
        update = Update(version, send, final, first_visible, time.monotonic(), first_sign)
        if self._book.offer(target, lane, update):
            self._wake.set()

    def mark_first_words(self, target: Hashable) -> None:
        """The update waiting for `target` (e.g. a `call` given that key) now shows an
        answer's first words: it goes before other first signs. No-op once it was sent."""
        if self._book.mark_first_words(target):
            self._wake.set()

    async def wait_landed(self, target: Hashable, version: int) -> bool:
        """True once `version` (or a newer one) of `target` landed; False if it never will
        (the target failed, finished at an older version, or the pacer closed)."""
        current = self._book.targets.get(target)
        if current is None:
            done = self._book.done.get(target)
            return done is not None and done.landed_at_least(version)
        if current.landed_at_least(version):
            return True
        if self._closed:
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        current.waiters.append((version, future))
        return await future

    async def call(
        self,
        lane: Lane,
        fn: Callable[[], Awaitable[T]],
        *,
        first_sign: bool = True,
        first_words: bool = False,
        key: Hashable | None = None,
    ) -> T:
        """Run one call (e.g. creating a message) through `lane`'s pacing, with the retries of
        a final state, and return its result or raise its error.

        `first_sign`: the call shows where an answer will appear (the thread it opens, its
        placeholder), which goes before answers already on screen; `first_words`: it shows
        the answer's first text, which goes before other first signs. Other calls (a long
        answer's later parts) rank with final states. `key` (unique, never reused) lets
        `mark_first_words` raise the call's rank while it waits."""
        results: list[T] = []

        async def send() -> None:
            results.append(await fn())

        if key is None:
            key = CallKey(next(self._call_numbers))
        self.submit(
            key, lane, 0, send, final=True, first_visible=first_words, first_sign=first_sign
        )
        landed = await self.wait_landed(key, 0)
        done = self._book.done.pop(key, None)
        if landed and results:
            return results[0]
        if done is not None and done.error is not None:
            raise done.error
        raise PacerClosedError("the edit pacer closed before the call ran")

    @property
    def queued(self) -> int:
        """Targets with an update waiting to be sent."""
        return self._book.queued

    # ---- scheduling ------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = self._dispatch(time.monotonic())
            except Exception:
                log.exception("edit pacer scheduling failed")
                delay = 0.1
            if delay is None:
                await self._wake.wait()
                continue
            try:
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def _dispatch(self, now: float) -> float | None:
        """Start every send allowed now, best first; return seconds until the next chance."""
        if now >= self._next_sweep:
            self._next_sweep = now + _SWEEP_EVERY_S
            self._book.sweep(now)
        book = self._book
        # One round: every tracked message (each answer on screen) getting its turn.
        round_s = book.global_live / self._global.per_second
        chosen, wake_at = choose(
            book.ready.values(), self._global, now, self._promote_after_s, round_s
        )
        for state, target in chosen:
            self._start(state, target, now)
            if state.waiting and not state.clock.busy:
                wake_at = now  # a lane that runs several sends at once may start another
        return None if wake_at == math.inf else max(0.0, wake_at - now)

    def _start(self, state: LaneState, target: Target, now: float) -> None:
        update = target.pending
        assert update is not None
        target.pending = None
        target.in_flight = update
        self._book.unqueue(target)
        state.clock.begin(now)
        self.stats.max_queue_wait_s = max(self.stats.max_queue_wait_s, now - update.since)
        task = spawn(self._send(state, target, update, now), name=f"pacer-send {state.key}")
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send(self, state: LaneState, target: Target, update: Update, planned: float) -> None:
        state.clock.restamp(planned, time.monotonic())
        error: Exception | None = None
        try:
            # A send stuck for minutes (a long retry_after slept inside discord.py, a dead
            # connection) would hold its lane forever; cut it and retry as a transient error.
            async with asyncio.timeout(self._send_timeout_s):
                await update.send()
        except asyncio.CancelledError:
            state.clock.end()
            target.in_flight = None
            raise
        except Exception as exc:
            error = exc
        self._finish(state, target, update, error)

    # ---- outcomes --------------------------------------------------------------------------

    def _finish(
        self, state: LaneState, target: Target, update: Update, error: Exception | None
    ) -> None:
        state.clock.end()
        target.in_flight = None
        self._wake.set()
        if error is None:
            self.stats.sent += 1
            target.attempts = 0
            target.landed = update.version
            target.resolve_waiters(everyone=False)
            if target.pending is None and update.final:
                self._book.retire(target, failed=False)
        else:
            self._handle_error(state, target, update, error)
        if self._closing and not self._book.finals_open():
            self._drained.set()

    def _handle_error(
        self, state: LaneState, target: Target, update: Update, error: Exception
    ) -> None:
        now = time.monotonic()
        failure = classify(error)
        lane = state.clock.lane
        final = update.final or (target.pending is not None and target.pending.final)
        if failure.verdict is Verdict.TRANSIENT:
            target.attempts += 1
        decision = self._retry.decide(
            failure, attempts=target.attempts, final=final, window_s=lane.window_s
        )
        if decision.action is Action.RETRY:
            state.clock.block(now + decision.delay_s)
            if failure.verdict is Verdict.RATE_LIMITED:
                self.stats.rate_limited += 1
                if decision.pause_global and lane.uses_global:
                    self._global.pause(now + decision.delay_s)
            log_decision(lane.key, target.key, failure, decision, error)
            self._book.requeue(target, update, closing=self._closing)
        elif decision.action is Action.DROP_UPDATE:
            # Only this update is lost; the target's next one (at the latest its final) retries.
            target.attempts = 0
            self.stats.dropped += 1
            log_decision(lane.key, target.key, failure, decision, error)
        else:
            self.stats.failed += 1
            log_decision(lane.key, target.key, failure, decision, error)
            self._book.drop_pending(target)
            self._book.retire(target, failed=True, error=error)
