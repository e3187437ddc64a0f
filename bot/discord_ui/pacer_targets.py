"""The edit pacer's bookkeeping: what each target (one Discord message) has pending, in flight
and landed, which targets wait in each lane, and the counters the pacer exposes.

Plain data and small pure helpers; `bot.discord_ui.pacer` owns the logic that moves updates
between these states.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field, replace

from bot.discord_ui.lanes import LaneClock

Send = Callable[[], Awaitable[object]]


@dataclass
class PacerStats:
    submitted: int = 0
    sent: int = 0  # sends that succeeded
    coalesced: int = 0  # pending updates replaced by a newer one before being sent
    stale: int = 0  # submits ignored because that target already had a newer version
    rate_limited: int = 0  # sends that failed with a 429
    retried: int = 0  # sends queued again after a 429 or a transient error
    failed: int = 0  # targets given up on
    dropped: int = 0  # updates discarded (closing, failed target, retries exhausted)
    max_queue_wait_s: float = 0.0  # longest wait from an update being pending to its send


@dataclass(frozen=True)
class Update:
    version: int
    send: Send
    final: bool
    first_visible: bool  # shows an answer's first words
    since: float  # when the target last became pending: how stale the screen is
    first_sign: bool = False  # shows where an answer will appear (its thread, its placeholder)

    @property
    def urgent(self) -> bool:
        """Urgent updates skip a lane's streaming pace and may use the whole bucket."""
        return self.first_visible or self.final or self.first_sign

    def merged_into(self, newer: Update) -> Update:
        """`newer` replacing this unsent update: it keeps this one's urgency and age."""
        return replace(
            newer,
            final=newer.final or self.final,
            first_visible=newer.first_visible or self.first_visible,
            first_sign=newer.first_sign or self.first_sign,
            since=min(newer.since, self.since),
        )


@dataclass(eq=False)
class LaneState:
    clock: LaneClock
    waiting: dict[Hashable, Target] = field(default_factory=dict)  # targets with a pending update
    live: int = 0  # tracked targets in this lane

    @property
    def key(self) -> str:
        return self.clock.lane.key


@dataclass(eq=False)
class Target:
    key: Hashable
    lane: LaneState
    pending: Update | None = None
    in_flight: Update | None = None
    landed: int | None = None
    attempts: int = 0  # consecutive transient failures
    waiters: list[tuple[int, asyncio.Future[bool]]] = field(default_factory=list)

    def newest_version(self) -> int | None:
        versions = [self.landed]
        versions += [u.version if u else None for u in (self.pending, self.in_flight)]
        return max((v for v in versions if v is not None), default=None)

    def final_open(self) -> bool:
        """A final state is still waiting or being sent."""
        return any(u is not None and u.final for u in (self.pending, self.in_flight))

    def landed_at_least(self, version: int) -> bool:
        return self.landed is not None and self.landed >= version

    def resolve_waiters(self, *, everyone: bool, failed: bool = False) -> None:
        """Answer `wait_landed` callers: those whose version landed, or (everyone) all of them."""
        keep: list[tuple[int, asyncio.Future[bool]]] = []
        for version, future in self.waiters:
            if future.done():
                continue
            landed = self.landed_at_least(version) and not failed
            if landed or everyone:
                future.set_result(landed)
            else:
                keep.append((version, future))
        self.waiters = keep


@dataclass(frozen=True)
class FinishedTarget:
    """What is remembered about a target after its final state landed or it failed."""

    landed: int | None
    failed: bool
    error: BaseException | None = None

    def landed_at_least(self, version: int) -> bool:
        return not self.failed and self.landed is not None and self.landed >= version


@dataclass(frozen=True)
class CallKey:
    """Target key of a one-off `EditPacer.call`."""

    number: int
