"""A simulated Discord for pacer tests: records when each send starts, per lane and globally,
and notes every moment a real Discord bucket would have been overrun.

Windows are scaled down (e.g. 5 per 0.5 s per lane, 50 per 0.1 s globally) so tests stay fast.
The audit uses sliding windows, stricter than Discord's fixed ones.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

from bot.discord_ui.lanes import Lane

# Lanes and budget used by most tests: Discord's shapes, time divided by 10.
LANE_LIMIT = 5
LANE_WINDOW_S = 0.5
GLOBAL_LIMIT = 50
GLOBAL_WINDOW_S = 0.1


def lane(key: str, *, uses_global: bool = True) -> Lane:
    return Lane(key, LANE_LIMIT, LANE_WINDOW_S, uses_global)


class HTTPError(Exception):
    """Duck-typed like discord.HTTPException: carries `.status`."""

    def __init__(self, status: int, text: str = "error") -> None:
        super().__init__(f"{status} {text}")
        self.status = status


class RateLimitedError(HTTPError):
    """A 429 as the pacer sees it: `.status` 429 and `.retry_after` (and maybe global)."""

    def __init__(self, retry_after: float, *, is_global: bool = False) -> None:
        super().__init__(429, "Too Many Requests")
        self.retry_after = retry_after
        self.is_global = is_global


@dataclass
class Sent:
    target: Hashable
    lane: str
    payload: object
    at: float


@dataclass
class SimDiscord:
    lane_limit: int = LANE_LIMIT
    lane_window_s: float = LANE_WINDOW_S
    global_limit: int = GLOBAL_LIMIT
    global_window_s: float = GLOBAL_WINDOW_S
    latency_s: float = 0.001
    sent: list[Sent] = field(default_factory=list)
    shown: dict[Hashable, object] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    # Exceptions to raise, per target, in order, before sends succeed.
    failures: dict[Hashable, list[Exception]] = field(default_factory=dict)
    in_flight: dict[Hashable, int] = field(default_factory=lambda: defaultdict(int))
    lane_in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    max_in_flight: int = 0
    max_lane_in_flight: int = 0
    _lane_times: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _global_times: deque[float] = field(default_factory=deque)

    def sender(
        self, target: Hashable, lane: Lane, payload: object
    ) -> Callable[[], Awaitable[None]]:
        async def send() -> None:
            await self.deliver(target, lane, payload)

        return send

    async def deliver(self, target: Hashable, lane: Lane, payload: object) -> None:
        now = time.monotonic()
        self._audit(lane, now)
        self.in_flight[target] += 1
        self.lane_in_flight[lane.key] += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight[target])
        self.max_lane_in_flight = max(self.max_lane_in_flight, self.lane_in_flight[lane.key])
        try:
            await asyncio.sleep(self.latency_s)
            queued = self.failures.get(target)
            if queued:
                raise queued.pop(0)
            self.sent.append(Sent(target, lane.key, payload, now))
            self.shown[target] = payload
        finally:
            self.in_flight[target] -= 1
            self.lane_in_flight[lane.key] -= 1

    def _audit(self, lane: Lane, now: float) -> None:
        times = self._lane_times[lane.key]
        times.append(now)
        while times and times[0] <= now - self.lane_window_s:
            times.popleft()
        if len(times) > self.lane_limit:
            self.violations.append(f"{lane.key}: {len(times)} in {self.lane_window_s}s at {now}")
        if lane.uses_global:
            self._global_times.append(now)
            while self._global_times and self._global_times[0] <= now - self.global_window_s:
                self._global_times.popleft()
            if len(self._global_times) > self.global_limit:
                self.violations.append(f"global: {len(self._global_times)} at {now}")

    def sends_to(self, target: Hashable) -> list[Sent]:
        return [s for s in self.sent if s.target == target]
