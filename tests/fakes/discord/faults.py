"""What goes wrong on purpose: rate-limit control, and REST faults that last for a while.

`fail_requests` answers every matching call with a 5xx and Discord's error JSON for some
seconds, without applying it, so a client that retries never posts twice. (discord.py's REST
client retries 500, 502, 504 and 524 after 1, 3, 5... seconds and raises DiscordServerError at
once on a 503; its webhook client, which answers interactions, retries every 5xx.)

`delay_requests` holds matching calls back: by default the call takes effect at once and only
its response is late, like a slow Discord whose client gave up too early and cannot know the
message landed. Both end by themselves, on `clear_faults()` (which also lets held responses
go), and when the fake closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass
from http import HTTPStatus

from tests.fakes.discord import payloads
from tests.fakes.discord.models import JSON
from tests.fakes.discord.ratelimit import RateLimitConfig, RateLimiter


@dataclass
class Fault:
    """One active fault; `hits` counts the calls it changed."""

    method: str | None  # None: any method
    route_contains: str | None  # matched against the route template and the path; None: any
    until: float  # time.monotonic() when it stops
    status: int | None = None  # a 5xx to answer with, or None for a delay
    delay: float = 0.0
    apply_first: bool = True
    hits: int = 0

    def matches(self, method: str, template: str, path: str, now: float) -> bool:
        if now >= self.until or (self.method is not None and self.method != method):
            return False
        wanted = self.route_contains
        return wanted is None or wanted in template or wanted in path


def error_body(status: int) -> JSON:
    """Discord's JSON for a server error, e.g. {"message": "502: Bad Gateway", "code": 0}."""
    return payloads.error(0, f"{status}: {HTTPStatus(status).phrase}")


class Faults:
    def __init__(self) -> None:
        self.rules: list[Fault] = []
        self._release = asyncio.Event()

    def add(self, fault: Fault) -> Fault:
        self.rules.append(fault)
        return fault

    def _first(self, method: str, template: str, path: str, *, failing: bool) -> Fault | None:
        now = time.monotonic()
        self.rules = [f for f in self.rules if now < f.until]
        for fault in self.rules:
            if (fault.status is not None) == failing and fault.matches(method, template, path, now):
                fault.hits += 1
                return fault
        return None

    def failing(self, method: str, template: str, path: str) -> Fault | None:
        return self._first(method, template, path, failing=True)

    def delaying(self, method: str, template: str, path: str) -> Fault | None:
        return self._first(method, template, path, failing=False)

    async def hold(self, seconds: float) -> float:
        """Wait `seconds`, or less if the faults are cleared meanwhile; returns the time held."""
        start = time.monotonic()
        release = self._release
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), seconds)
        return time.monotonic() - start

    def clear(self) -> None:
        """Drop every fault and let held calls go on now."""
        self.rules.clear()
        self._release.set()
        self._release = asyncio.Event()


class FaultControl:
    """The control API for 429s and faults (mixed into FakeDiscord)."""

    limiter: RateLimiter
    faults: Faults

    @property
    def rate_limit_hits(self) -> Counter[str]:
        """429s sent, per "METHOD /route/template"."""
        return self.limiter.hits

    @property
    def total_429s(self) -> int:
        return sum(self.limiter.hits.values())

    @property
    def rate_limits(self) -> RateLimitConfig:
        """Mutable at runtime (e.g. `fake.rate_limits.lie_about_remaining = True`)."""
        return self.limiter.config

    def inject_429(
        self,
        *,
        times: int = 1,
        retry_after: float = 0.1,
        is_global: bool = False,
        match: str | None = None,
        via: bool = True,
    ) -> None:
        """Refuse the next `times` matching calls with a 429; `via=False` makes them a shared
        REST proxy's own 429s (no `Via` header, which discord.py alone raises as a ban)."""
        self.limiter.inject_429(
            times=times, retry_after=retry_after, is_global=is_global, match=match, via=via
        )

    def fail_requests(
        self,
        *,
        method: str | None = None,
        route_contains: str | None = None,
        status: int = 500,
        seconds: float,
    ) -> Fault:
        """For `seconds`, answer matching calls with `status` (5xx) and do nothing else.

        `route_contains` is looked for in the route template ("/channels/{channel_id}/messages")
        and in the path (so "/channels/123" singles out one channel); None matches every route."""
        if not 500 <= status <= 599:
            raise ValueError(f"status must be a 5xx, not {status}")
        until = time.monotonic() + seconds
        return self.faults.add(Fault(method, route_contains, until, status=status))

    def delay_requests(
        self,
        *,
        method: str | None = None,
        route_contains: str | None = None,
        seconds: float,
        delay: float,
        apply_first: bool = True,
    ) -> Fault:
        """For `seconds`, hold each matching call `delay` seconds.

        `apply_first`: the call takes effect at once and only its response waits (a client that
        times out does not know it landed); False: nothing happens until the hold ends (then it
        is applied even if the client has given up, as a queued request would be)."""
        until = time.monotonic() + seconds
        fault = Fault(method, route_contains, until, delay=delay, apply_first=apply_first)
        return self.faults.add(fault)

    def clear_faults(self) -> None:
        """End every fault now; held calls go on at once."""
        self.faults.clear()
