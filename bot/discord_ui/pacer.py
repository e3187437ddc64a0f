"""Edit pacer: turns "this message should now look like X" into Discord calls under every limit.

The pacer owns timing and retries for message edits and creates; it never imports discord.
Callers hand it async callables (`send`) that do the actual call, e.g.
`lambda: message.edit(**payload)` (SPEC §4, reference §A.2/§B.7).

    pacer = EditPacer()                 # or: async with EditPacer() as pacer:
    await pacer.start()
    pacer.submit(target, Lane.channel(thread_id), version, send, first_visible=..., final=...)
    await pacer.wait_landed(target, final_version)     # True once that state (or newer) landed
    msg = await pacer.call(Lane.channel(thread_id), lambda: thread.send(...))  # paced one-off
    await pacer.close(flush_timeout=5.0)

Rules it keeps:
- Latest wins: each target (one Discord message) holds at most one pending update; a newer
  `submit` replaces it. At most one send is in flight per target, and per lane.
- Lanes (`bot.discord_ui.lanes`): at most `limit - 1` sends start in any window of a lane,
  spaced `window / (limit - 1)` apart in steady state; the first send in an idle lane goes at
  once, and urgent updates (first visible text, final state) skip the spacing but not the cap.
- Global budget: lanes with `uses_global` share a token bucket (45/s by default, under
  Discord's 50/s, which discord.py does not enforce before sending).
- Fairness (`bot.discord_ui.schedule`): when more lanes are ready than the budget allows, the
  pick goes to updates that have waited longer than `promote_after_s`, then first visible
  text, then final states, then the update that has waited longest. With N busy answers each
  is refreshed about every N/45 s.
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
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import replace
from types import TracebackType
from typing import TypeVar

from bot.discord_ui.lanes import GLOBAL_BURST, GLOBAL_PER_SECOND, GlobalBudget, Lane, LaneClock
from bot.discord_ui.pacer_targets import (
    CallKey,
    Done,
    LaneState,
    PacerStats,
    Send,
    Target,
    Update,
)
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

# Finished targets remembered so late `wait_landed` calls and submits to deleted messages
# get the right answer; bounded so a long-running bot does not grow without limit.
_DONE_MEMORY = 4096
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
        self._targets: dict[Hashable, Target] = {}
        self._lanes: dict[str, LaneState] = {}
        self._ready: dict[str, LaneState] = {}  # lanes with at least one waiting target
        self._done: OrderedDict[Hashable, Done] = OrderedDict()
        self._sends: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._close_done = asyncio.Event()
        self._scheduler: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = False
        self._next_sweep = time.monotonic() + _SWEEP_EVERY_S
        self._call_numbers = itertools.count()
        self.stats = PacerStats()

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
        for target in list(self._targets.values()):
            if target.pending is not None and not target.pending.final:
                self._drop_pending(target)
        self._wake.set()
        if self._scheduler is not None and self._finals_open():
            self._drained.clear()
            try:
                async with asyncio.timeout(flush_timeout):
                    await self._drained.wait()
            except TimeoutError:
                left = sum(1 for t in self._targets.values() if t.final_open())
                log.warning("edit pacer closed with %d final updates not landed", left)
        self._closed = True
        tasks = [*self._sends, *([self._scheduler] if self._scheduler else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for target in self._targets.values():
            target.resolve_waiters(everyone=True, failed=True)
        self._targets.clear()
        self._ready.clear()
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
    ) -> None:
        """Make `send` the state to show for `target` (replacing any unsent one). Never blocks.

        `version` must grow per target; older or equal versions are ignored. `first_visible`
        marks the first update that shows text; `final` the answer's last state, which is
        retried until it lands or fails for good.
        """
        if self._closed or (self._closing and not final):
            self.stats.dropped += 1
            return
        self.stats.submitted += 1
        state = self._lane_state(lane)
        current = self._targets.get(target)
        if current is None:
            done = self._done.get(target)
            if done is not None:
                if done.failed:  # e.g. its message was deleted: nothing to show it in
                    self.stats.dropped += 1
                    return
                if done.landed is not None and version <= done.landed:
                    self.stats.stale += 1
                    return
                del self._done[target]
            current = Target(target, state)
            state.live += 1
            self._targets[target] = current
        else:
            newest = current.newest_version()
            if newest is not None and version <= newest:
                self.stats.stale += 1
                return
        old = current.pending
        if old is not None:
            self.stats.coalesced += 1
            current.pending = Update(
                version, send, final or old.final, first_visible or old.first_visible, old.since
            )
            return
        current.pending = Update(version, send, final, first_visible, time.monotonic())
        self._enqueue(current)

    async def wait_landed(self, target: Hashable, version: int) -> bool:
        """True once `version` (or a newer one) of `target` landed; False if it never will
        (the target failed, finished at an older version, or the pacer closed)."""
        current = self._targets.get(target)
        if current is None:
            done = self._done.get(target)
            return done is not None and done.landed_at_least(version)
        if current.landed_at_least(version):
            return True
        if self._closed:
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        current.waiters.append((version, future))
        return await future

    async def call(self, lane: Lane, fn: Callable[[], Awaitable[T]]) -> T:
        """Run one call (e.g. creating a message) through `lane`'s pacing, with top priority
        and the retries of a final state, and return its result or raise its error."""
        results: list[T] = []

        async def send() -> None:
            results.append(await fn())

        key = CallKey(next(self._call_numbers))
        self.submit(key, lane, 0, send, final=True, first_visible=True)
        landed = await self.wait_landed(key, 0)
        done = self._done.pop(key, None)
        if landed and results:
            return results[0]
        if done is not None and done.error is not None:
            raise done.error
        raise PacerClosedError("the edit pacer closed before the call ran")

    @property
    def queued(self) -> int:
        """Targets with an update waiting to be sent."""
        return sum(len(state.waiting) for state in self._ready.values())

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
            self._sweep(now)
        chosen, wake_at = choose(self._ready.values(), self._global, now, self._promote_after_s)
        for state, target in chosen:
            self._start(state, target, now)
        return None if wake_at == math.inf else max(0.0, wake_at - now)

    def _start(self, state: LaneState, target: Target, now: float) -> None:
        update = target.pending
        assert update is not None
        target.pending = None
        target.in_flight = update
        self._unqueue(target)
        state.clock.busy = True
        state.clock.record_start(now)
        self.stats.max_queue_wait_s = max(self.stats.max_queue_wait_s, now - update.since)
        task = spawn(self._send(state, target, update), name=f"pacer-send {state.clock.lane.key}")
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send(self, state: LaneState, target: Target, update: Update) -> None:
        error: Exception | None = None
        try:
            # A send stuck for minutes (a long retry_after slept inside discord.py, a dead
            # connection) would hold its lane forever; cut it and retry as a transient error.
            async with asyncio.timeout(self._send_timeout_s):
                await update.send()
        except asyncio.CancelledError:
            state.clock.busy = False
            target.in_flight = None
            raise
        except Exception as exc:
            error = exc
        self._finish(state, target, update, error)

    # ---- outcomes --------------------------------------------------------------------------

    def _finish(
        self, state: LaneState, target: Target, update: Update, error: Exception | None
    ) -> None:
        state.clock.busy = False
        target.in_flight = None
        self._wake.set()
        if error is None:
            self.stats.sent += 1
            target.attempts = 0
            target.landed = update.version
            target.resolve_waiters(everyone=False)
            if target.pending is None and update.final:
                self._retire(target, failed=False)
        else:
            self._handle_error(state, target, update, error)
        if self._closing and not self._finals_open():
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
            self._requeue(target, update)
        elif decision.action is Action.DROP_UPDATE:
            # Only this update is lost; the target's next one (at the latest its final) retries.
            target.attempts = 0
            self.stats.dropped += 1
            log_decision(lane.key, target.key, failure, decision, error)
        else:
            self.stats.failed += 1
            log_decision(lane.key, target.key, failure, decision, error)
            self._drop_pending(target)
            self._retire(target, failed=True, error=error)

    # ---- bookkeeping -----------------------------------------------------------------------

    def _lane_state(self, lane: Lane) -> LaneState:
        state = self._lanes.get(lane.key)
        if state is None:
            state = self._lanes[lane.key] = LaneState(LaneClock(lane))
        else:
            state.clock.update(lane)
        return state

    def _enqueue(self, target: Target) -> None:
        state = target.lane
        state.waiting[target.key] = target
        self._ready[state.clock.lane.key] = state
        self._wake.set()

    def _unqueue(self, target: Target) -> None:
        state = target.lane
        state.waiting.pop(target.key, None)
        if not state.waiting:
            self._ready.pop(state.clock.lane.key, None)

    def _requeue(self, target: Target, update: Update) -> None:
        """Put a failed update back, unless a newer one is waiting (it wins, and inherits the
        older one's urgency and age)."""
        self.stats.retried += 1
        pending = target.pending
        if pending is None:
            if self._closing and not update.final:
                self.stats.dropped += 1
                return
            target.pending = update
            self._enqueue(target)
        else:
            target.pending = replace(
                pending,
                final=pending.final or update.final,
                first_visible=pending.first_visible or update.first_visible,
                since=min(pending.since, update.since),
            )

    def _drop_pending(self, target: Target) -> None:
        if target.pending is not None:
            self.stats.dropped += 1
            target.pending = None
            self._unqueue(target)

    def _retire(self, target: Target, *, failed: bool, error: Exception | None = None) -> None:
        self._targets.pop(target.key, None)
        target.lane.live -= 1
        self._done[target.key] = Done(target.landed, failed, error)
        self._done.move_to_end(target.key)
        while len(self._done) > _DONE_MEMORY:
            self._done.popitem(last=False)
        target.resolve_waiters(everyone=True, failed=failed)

    def _finals_open(self) -> bool:
        return any(t.final_open() for t in self._targets.values())

    def _sweep(self, now: float) -> None:
        """Forget lanes whose history can no longer matter."""
        self._next_sweep = now + _SWEEP_EVERY_S
        for key, state in list(self._lanes.items()):
            if state.live == 0 and not state.waiting and state.clock.quiet_since(now):
                del self._lanes[key]
