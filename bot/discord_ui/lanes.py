"""Rate-limit scopes for the edit pacer: lanes (one Discord bucket each) and the global budget.

A `Lane` names one Discord rate-limit bucket the pacer must respect: a channel (bot REST:
message edits and creates, which also count toward the bot's global limit) or an interaction
token (webhook routes, exempt from the global limit). `LaneClock` paces a lane by its bucket
(`limit` requests per `window_s`): it remembers when sends started and says when the next one
may start. `GlobalBudget` is the token bucket shared by every lane that counts toward the global
limit. Pure timing arithmetic, no I/O, no asyncio.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

# Discord does not document per-route limits; these are the values Discord reports in its
# rate-limit headers for these routes (and the fake server enforces): message edits and creates
# 5 per 5 s per channel, interaction webhooks 5 per 2 s per token.
CHANNEL_LIMIT = 5
CHANNEL_WINDOW_S = 5.0  # streaming pace 5.0 / (5 - 1) = 1.25 s between edits in one channel
INTERACTION_LIMIT = 5
INTERACTION_WINDOW_S = 2.0  # streaming pace 2.0 / (5 - 1) = 0.5 s per interaction token

# Share of a window the bucket's last request waits beyond it (see LaneClock.earliest_start).
LAST_REQUEST_GUARD = 0.02

THREADS_LIMIT = 50
THREADS_WINDOW_S = 1.0

# Discord allows 50 requests/s per bot across all routes and discord.py does not enforce it
# before sending (it learns of the global limit only from a 429). 45/s leaves room for REST
# calls that bypass the pacer (command sync, lookups of members and channels).
GLOBAL_PER_SECOND = 45.0
# Tokens the global bucket may hold while idle. Small on purpose: in any 1 s window at most
# burst + rate requests start, and that must stay under 50 even if the event loop bunches them.
GLOBAL_BURST = 2


@dataclass(frozen=True)
class Lane:
    """One rate-limit scope. `key` is logged: never put a token in it (use ids)."""

    key: str
    limit: int = CHANNEL_LIMIT
    window_s: float = CHANNEL_WINDOW_S
    uses_global: bool = True

    def __post_init__(self) -> None:
        if self.limit < 2:
            raise ValueError("a lane needs limit >= 2 (streaming keeps one request in reserve)")
        if self.window_s <= 0:
            raise ValueError("window_s must be positive")

    @property
    def cap(self) -> int:
        """Streaming sends allowed to start in any window of `window_s` (one below the
        bucket's limit, kept for first words and final states)."""
        return self.limit - 1

    @property
    def spacing_s(self) -> float:
        """Streaming pace: `cap` sends spread evenly over one window, the rate at which the
        bucket frees requests, so a long stream never drains it and then stalls."""
        return self.window_s / self.cap

    @property
    def max_in_flight(self) -> int:
        """Sends of this lane that may run at once: one for Discord's small buckets (so a send
        that sleeps inside discord.py holds only its own lane), a few for a large one (thread
        creation), whose throughput would otherwise be one request per round trip."""
        return max(1, self.limit // 10)

    @classmethod
    def channel(cls, channel_id: int) -> Lane:
        """Message edits (and deletes) in a channel or thread."""
        return cls(f"channel:{channel_id}")

    @classmethod
    def channel_creates(cls, channel_id: int) -> Lane:
        """Messages created in a channel or thread. Discord limits each route separately
        (POST and PATCH of messages have their own buckets), so creates do not eat into the
        edits' window: sharing one lane left answers unrefreshed for seconds after a part
        was created."""
        return cls(f"create:{channel_id}")

    @classmethod
    def threads(cls, parent_id: int) -> Lane:
        """Threads started in a channel. Discord publishes no limit for this route and
        discord.py follows its headers; the lane exists so thread creation takes its share of
        the global budget (a burst of /chat commands otherwise pushes past 50 requests/s)."""
        return cls(f"threads:{parent_id}", THREADS_LIMIT, THREADS_WINDOW_S)

    @classmethod
    def interaction(cls, interaction_id: int) -> Lane:
        """Webhook calls of one interaction (original response and followups)."""
        return cls(
            f"interaction:{interaction_id}",
            INTERACTION_LIMIT,
            INTERACTION_WINDOW_S,
            uses_global=False,
        )


class LaneClock:
    """When sends started in one lane, how many may be in flight at once, and until when the
    lane is blocked.

    Pacing by the bucket: a send may start while fewer than the bucket's limit started in the
    last window (sliding, so it holds whatever phase Discord's fixed window has). Urgent sends
    (an answer's first words, final states, one-off calls) may take every request of the
    bucket and go at once whenever one is free. Streaming edits leave one request of each
    window free for them and keep to the bucket's pace (`spacing_s` after the previous send):
    even spacing is what keeps a long answer's screen fresh, and the free request lets its
    final state go out the moment the stream ends instead of waiting for the window to turn.
    An idle lane therefore sends any update at once. When an urgent send takes the bucket's
    last request, discord.py sleeps inside that send until Discord's window resets; the edit
    is already visible by then, and the lane (busy meanwhile) had nothing left to send with.
    """

    def __init__(self, lane: Lane) -> None:
        self.lane = lane
        self.in_flight = 0
        self.blocked_until = -math.inf
        # Only the last `limit` starts matter: the oldest of them must leave the window first.
        self._starts: deque[float] = deque(maxlen=lane.limit)

    @property
    def busy(self) -> bool:
        """No further send may start until one in flight finishes."""
        return self.in_flight >= self.lane.max_in_flight

    def update(self, lane: Lane) -> None:
        """Adopt new limits for the same key (keeps the history that still applies)."""
        if lane != self.lane:
            self.lane = lane
            self._starts = deque(self._starts, maxlen=lane.limit)

    def earliest_start(self, *, urgent: bool) -> float:
        """Earliest time the next send may start: when the bucket has a request free for it
        (and, for a streaming edit, the pace allows it)."""
        at = self.blocked_until
        room = self.lane.limit if urgent else self.lane.cap
        if len(self._starts) >= room:
            # The bucket's last request has no reserve behind it: it waits a little longer
            # for the oldest send to leave the window, so a send that went out late (a busy
            # event loop, a descheduled process) cannot squeeze one request too many into it.
            guard = LAST_REQUEST_GUARD * self.lane.window_s if room == self.lane.limit else 0.0
            at = max(at, self._starts[-room] + self.lane.window_s + guard)
        if self._starts and not urgent:
            at = max(at, self._starts[-1] + self.lane.spacing_s)
        return at

    def record_start(self, now: float) -> None:
        """A send started at `now` (it counts toward the bucket from then on)."""
        self._starts.append(now)

    def begin(self, now: float) -> None:
        """A send starts now and runs until `end()`."""
        self.record_start(now)
        self.in_flight += 1

    def restamp(self, planned: float, actual: float) -> None:
        """The send begun at `planned` actually went out at `actual` (the event loop ran it a
        little later): the bucket counts it from then, so a busy loop cannot squeeze the next
        window's first request into this one."""
        starts = list(self._starts)
        if planned in starts:
            starts.remove(planned)  # equal times are interchangeable
            bisect.insort(starts, actual)
            self._starts = deque(starts, maxlen=self.lane.limit)

    def end(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)

    def block(self, until: float) -> None:
        self.blocked_until = max(self.blocked_until, until)

    def quiet_since(self, now: float) -> bool:
        """True when forgetting this lane loses nothing: idle and its history has expired."""
        if self.in_flight or self.blocked_until > now:
            return False
        return not self._starts or self._starts[-1] + self.lane.window_s <= now


class GlobalBudget:
    """Token bucket for requests that count toward the bot's global limit."""

    def __init__(self, per_second: float, burst: int, now: float) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("global budget needs per_second > 0 and burst >= 1")
        self.per_second = per_second
        self.burst = float(burst)
        self._tokens = float(burst)
        self._updated = now
        self.paused_until = -math.inf

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.per_second)
            self._updated = now

    def can_take(self, now: float) -> bool:
        """`try_take` would succeed now."""
        if now < self.paused_until:
            return False
        self._refill(now)
        return self._tokens >= 1.0

    def try_take(self, now: float) -> bool:
        if not self.can_take(now):
            return False
        self._tokens -= 1.0
        return True

    def next_available(self, now: float) -> float:
        """When `try_take` can next succeed."""
        self._refill(now)
        at = now + max(0.0, 1.0 - self._tokens) / self.per_second
        return max(at, self.paused_until)

    def pause(self, until: float) -> None:
        """A global 429: nothing that counts toward the global limit goes out before `until`."""
        self.paused_until = max(self.paused_until, until)
        self._tokens = 0.0
        self._updated = max(self._updated, until)
