"""Rate-limit scopes for the edit pacer: lanes (one Discord bucket each) and the global budget.

A `Lane` names one Discord rate-limit bucket the pacer must respect: a channel (bot REST:
message edits and creates, which also count toward the bot's global limit) or an interaction
token (webhook routes, exempt from the global limit). `LaneClock` remembers when sends started
in a lane and says when the next one may start; `GlobalBudget` is the token bucket shared by
every lane that counts toward the global limit. Pure timing arithmetic, no I/O, no asyncio.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

# Discord does not document per-route limits; these are the values observed and enforced by
# the fake server (reference §A.2): message edits/creates 5 per 5 s per channel, interaction
# webhooks 5 per 2 s per token. We let at most limit - 1 sends start in any window: discord.py
# sleeps *inside* the await whose response says `X-RateLimit-Remaining: 0` (reference §B.7), so
# keeping one request in reserve means its pre-emptive sleep never fires in steady state, and a
# little clock skew between us and Discord costs at most that sleep, never a 429.
CHANNEL_LIMIT = 5
CHANNEL_WINDOW_S = 5.0  # steady spacing 5.0 / (5 - 1) = 1.25 s between sends in one channel
INTERACTION_LIMIT = 5
INTERACTION_WINDOW_S = 2.0  # steady spacing 2.0 / (5 - 1) = 0.5 s per interaction token

THREADS_LIMIT = 50
THREADS_WINDOW_S = 1.0

# Discord allows 50 requests/s per bot across all routes and discord.py does not enforce it
# before sending (reference §B.7). 45/s leaves room for REST calls that bypass the pacer
# (thread creation, interaction callbacks, command sync).
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
            raise ValueError("a lane needs limit >= 2 (one request is kept in reserve)")
        if self.window_s <= 0:
            raise ValueError("window_s must be positive")

    @property
    def cap(self) -> int:
        """Sends allowed to start in any window of `window_s` (one below Discord's limit)."""
        return self.limit - 1

    @property
    def spacing_s(self) -> float:
        """Steady gap between sends: `cap` of them spread evenly over one window."""
        return self.window_s / self.cap

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
    """When sends started in one lane, whether one is running, and until when it is blocked."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane
        self.busy = False
        self.blocked_until = -math.inf
        # Only the last `cap` starts matter: the oldest of them must leave the window first.
        self._starts: deque[float] = deque(maxlen=lane.cap)

    def update(self, lane: Lane) -> None:
        """Adopt new limits for the same key (keeps the history that still applies)."""
        if lane != self.lane:
            self.lane = lane
            self._starts = deque(self._starts, maxlen=lane.cap)

    def earliest_start(self, *, urgent: bool) -> float:
        """Earliest time the next send may start. `urgent` sends skip the steady spacing
        (never the window cap): first visible text and final states go out at once when the
        bucket has room."""
        at = self.blocked_until
        if self._starts:
            if not urgent:
                at = max(at, self._starts[-1] + self.lane.spacing_s)
            if len(self._starts) >= self.lane.cap:
                at = max(at, self._starts[0] + self.lane.window_s)
        return at

    def record_start(self, now: float) -> None:
        self._starts.append(now)

    def block(self, until: float) -> None:
        self.blocked_until = max(self.blocked_until, until)

    def quiet_since(self, now: float) -> bool:
        """True when forgetting this lane loses nothing: idle and its history has expired."""
        if self.busy or self.blocked_until > now:
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

    def try_take(self, now: float) -> bool:
        if now < self.paused_until:
            return False
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

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
