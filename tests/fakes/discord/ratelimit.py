"""Discord-style rate limiting: fixed windows per bucket + major parameter, and a global limit.

Emits the five X-RateLimit-* headers on every response and, on 429, Discord's JSON body with
`retry_after`, `Retry-After`, `X-RateLimit-Scope` and the `Via` header discord.py requires before
it will retry (without `Via` it takes a 429 for a Cloudflare ban and gives up).

`proxy_429s` plays a shared REST proxy (nirn-proxy) in front of Discord: its own 429s carry the
JSON body and `Retry-After` but no `Via` header, which discord.py alone would raise as a ban.

Per-resource limits that the headers never announce (Discord's two channel renames per ten
minutes) are `resource` windows: a handler calls `take_resource`, which raises `ResourceLimited`,
and the router answers 429 with scope "shared" while the route's own headers still show
requests remaining, as Discord does.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter
from dataclasses import dataclass, field

from tests.fakes.discord.models import JSON

# discord.py's timers may fire a hair early; treat a request this close to the reset as after it.
_RESET_GRACE = 0.002


@dataclass(frozen=True)
class BucketLimit:
    limit: int
    window: float  # seconds


@dataclass
class RateLimitConfig:
    """Limits per bucket; the defaults are conservative versions of Discord's observed ones."""

    message_create: BucketLimit = field(default_factory=lambda: BucketLimit(5, 5.0))
    message_edit: BucketLimit = field(default_factory=lambda: BucketLimit(5, 5.0))
    interaction_webhook: BucketLimit = field(default_factory=lambda: BucketLimit(5, 2.0))
    interaction_callback: BucketLimit = field(default_factory=lambda: BucketLimit(50, 1.0))
    default: BucketLimit = field(default_factory=lambda: BucketLimit(50, 1.0))
    # PATCH /channels/{id}: the announced per-channel bucket.
    channel_edit: BucketLimit = field(default_factory=lambda: BucketLimit(5, 15.0))
    # The unannounced one: a channel's name (and, separately, its topic) changes at most twice
    # per ten minutes. Tests scale the window down.
    channel_rename: BucketLimit = field(default_factory=lambda: BucketLimit(2, 600.0))
    global_limit: BucketLimit | None = field(default_factory=lambda: BucketLimit(50, 1.0))
    # When True, X-RateLimit-Remaining never reaches 0, so a well-behaved client cannot wait
    # pre-emptively and runs into real 429s (for testing 429 handling).
    lie_about_remaining: bool = False
    # When True, 429s come without `Via`, as a shared REST proxy's own 429s do.
    proxy_429s: bool = False


@dataclass
class _Window:
    limit: int
    window: float
    count: int = 0
    reset_at: float = 0.0

    def roll(self, now: float) -> None:
        if now + _RESET_GRACE >= self.reset_at:
            self.count = 0
            self.reset_at = now + self.window


@dataclass(frozen=True)
class Decision:
    """Outcome of one request: headers to send, and the 429 body if it was refused."""

    headers: dict[str, str]
    refused: JSON | None
    scope: str | None


class ResourceLimited(Exception):
    """Raised by a handler when a per-resource limit refuses it (answered 429, scope shared)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"resource rate limited for {retry_after:.3f} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Injected:
    retry_after: float
    is_global: bool
    match: str | None
    via: bool = True


def _hash(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()[:32]


def _ceil_ms(seconds: float) -> float:
    return max(0.0, math.ceil(seconds * 1000) / 1000)


class RateLimiter:
    def __init__(self, config: RateLimitConfig) -> None:
        self.config = config
        self._windows: dict[tuple[str, str], _Window] = {}
        self._global: _Window | None = None
        self._injected: list[_Injected] = []
        self._resources: dict[tuple[str, str], _Window] = {}
        # 429s per "METHOD /route/template".
        self.hits: Counter[str] = Counter()

    def limit_for(self, bucket: str) -> BucketLimit:
        limit: BucketLimit = getattr(self.config, bucket)
        return limit

    def inject_429(
        self,
        *,
        times: int = 1,
        retry_after: float = 0.1,
        is_global: bool = False,
        match: str | None = None,
        via: bool = True,
    ) -> None:
        """Refuse the next `times` requests (whose "METHOD route" contains `match`, if given);
        `via=False`: as a REST proxy's own 429 (no `Via` header)."""
        self._injected.extend(_Injected(retry_after, is_global, match, via) for _ in range(times))

    def check(
        self, route_key: str, limit_name: str, bucket: str, major: str, *, global_exempt: bool
    ) -> Decision:
        """Count one request to `bucket` (an id) for `major`, limited by config.`limit_name`."""
        now = time.monotonic()
        limit = self.limit_for(limit_name)
        win = self._windows.get((bucket, major))
        if win is None or win.limit != limit.limit or win.window != limit.window:
            win = _Window(limit.limit, limit.window)
            self._windows[(bucket, major)] = win
        win.roll(now)

        injected = self._take_injected(route_key)
        if injected is not None:
            self.hits[route_key] += 1
            scope = "global" if injected.is_global else "user"
            headers = self._route_headers(win, now, bucket, remaining=0)
            return self._refuse(headers, injected.retry_after, scope, via=injected.via)

        if not global_exempt and self.config.global_limit is not None:
            g = self._global_window(now)
            if g.count >= g.limit:
                self.hits[route_key] += 1
                headers = self._route_headers(win, now, bucket, remaining=None)
                return self._refuse(headers, g.reset_at - now, "global")
            g.count += 1

        if win.count >= win.limit:
            self.hits[route_key] += 1
            headers = self._route_headers(win, now, bucket, remaining=0)
            return self._refuse(headers, win.reset_at - now, "user")
        win.count += 1
        return Decision(self._route_headers(win, now, bucket, remaining=None), None, None)

    def take_resource(self, limit_name: str, key: str) -> None:
        """Count one use of a per-resource limit (config.`limit_name`) for `key`, or raise
        ResourceLimited with the time left in its window. Refused uses are not counted."""
        now = time.monotonic()
        limit = self.limit_for(limit_name)
        win = self._resources.get((limit_name, key))
        if win is None or win.limit != limit.limit or win.window != limit.window:
            win = _Window(limit.limit, limit.window)
            self._resources[(limit_name, key)] = win
        win.roll(now)
        if win.count >= win.limit:
            raise ResourceLimited(win.reset_at - now)
        win.count += 1

    def refuse_resource(
        self, route_key: str, headers: dict[str, str], retry_after: float
    ) -> Decision:
        """The 429 for a ResourceLimited: the route's headers unchanged (they never announce
        this limit), scope "shared", and the documented per-resource body."""
        self.hits[route_key] += 1
        refused = self._refuse(headers, retry_after, "shared")
        assert refused.refused is not None
        body = {**refused.refused, "message": "The resource is being rate limited."}
        return Decision(refused.headers, body, refused.scope)

    def _global_window(self, now: float) -> _Window:
        cfg = self.config.global_limit
        assert cfg is not None
        if self._global is None or self._global.limit != cfg.limit:
            self._global = _Window(cfg.limit, cfg.window)
        self._global.roll(now)
        return self._global

    def _take_injected(self, route_key: str) -> _Injected | None:
        for index, item in enumerate(self._injected):
            if item.match is None or item.match in route_key:
                return self._injected.pop(index)
        return None

    def _route_headers(
        self, win: _Window, now: float, bucket: str, *, remaining: int | None
    ) -> dict[str, str]:
        if remaining is None:
            remaining = win.limit - win.count
            if self.config.lie_about_remaining:
                remaining = win.limit
        reset_after = _ceil_ms(win.reset_at - now)
        return {
            "X-RateLimit-Limit": str(win.limit),
            "X-RateLimit-Remaining": str(max(0, remaining)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": _hash(bucket),
        }

    def _refuse(
        self, headers: dict[str, str], retry_after: float, scope: str, *, via: bool = True
    ) -> Decision:
        retry_after = _ceil_ms(retry_after)
        headers = dict(headers)
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        headers["X-RateLimit-Scope"] = scope
        # Without Via (and a JSON retry_after) discord.py treats a 429 as a Cloudflare ban.
        if via and not self.config.proxy_429s:
            headers["Via"] = "1.1 google"
        is_global = scope == "global"
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body: JSON = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
        }
        return Decision(headers, body, scope)
