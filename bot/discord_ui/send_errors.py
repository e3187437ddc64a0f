"""What the edit pacer does when a send fails: classify the exception, duck-typed.

The pacer never imports discord, so exceptions are read by their attributes:
`discord.HTTPException` has `.status` (and `.response.headers`), `discord.RateLimited` has
`.retry_after` and no status. Anything else is a connection problem (retry) or a bug (give up).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

log = logging.getLogger("bot.discord_ui.pacer")  # the pacer's own log name: its lines


class Verdict(enum.Enum):
    RATE_LIMITED = "rate_limited"  # wait `retry_after`, then send the latest state again
    TRANSIENT = "transient"  # 5xx or connection trouble: retry with backoff, bounded
    PERMANENT = "permanent"  # 4xx (message deleted, no access, invalid) or a bug: give up


@dataclass(frozen=True)
class Failure:
    verdict: Verdict
    retry_after: float | None = None
    is_global: bool = False
    status: int | None = None


# Connection-level failures worth retrying. aiohttp is only named for isinstance checks.
TRANSIENT_TYPES: tuple[type[BaseException], ...] = (OSError, TimeoutError, aiohttp.ClientError)


def _headers(exc: BaseException) -> Any:
    headers = getattr(getattr(exc, "response", None), "headers", None)
    return headers if hasattr(headers, "get") else None


def _float(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        try:
            parsed = float(value)
        except ValueError:
            return None
        return parsed if parsed >= 0 else None
    return None


def classify(exc: BaseException) -> Failure:
    status = getattr(exc, "status", None)
    status = status if isinstance(status, int) and not isinstance(status, bool) else None
    retry_after = _float(getattr(exc, "retry_after", None))
    if status == 429 or (status is None and retry_after is not None):
        headers = _headers(exc)
        is_global = bool(getattr(exc, "is_global", False))
        if headers is not None:
            if retry_after is None:
                retry_after = _float(headers.get("Retry-After"))
            is_global = is_global or str(headers.get("X-RateLimit-Global", "")).lower() == "true"
            is_global = is_global or headers.get("X-RateLimit-Scope") == "global"
        return Failure(Verdict.RATE_LIMITED, retry_after, is_global, status)
    if status is not None:
        verdict = Verdict.TRANSIENT if status >= 500 else Verdict.PERMANENT
        return Failure(verdict, status=status)
    if isinstance(exc, TRANSIENT_TYPES):
        return Failure(Verdict.TRANSIENT)
    return Failure(Verdict.PERMANENT)


class Action(enum.Enum):
    RETRY = "retry"  # send the target's latest state again after `delay_s`
    DROP_UPDATE = "drop_update"  # forget this update; the target's next one will try again
    GIVE_UP = "give_up"  # the target is lost (message deleted, no access, retries exhausted)


@dataclass(frozen=True)
class Decision:
    action: Action
    delay_s: float = 0.0
    pause_global: bool = False  # a global 429: every lane counting toward it waits too


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Final states get more attempts: the last state must land."""

    base_s: float = 0.5  # first backoff after a 5xx / connection error, doubled each time
    max_s: float = 30.0
    max_attempts: int = 3
    final_max_attempts: int = 10

    def decide(self, failure: Failure, *, attempts: int, final: bool, window_s: float) -> Decision:
        """`attempts`: consecutive transient failures of this target, this one included.
        `window_s`: the lane's window, the wait when a 429 does not say how long."""
        if failure.verdict is Verdict.RATE_LIMITED:
            # Honoured every time, without an attempt limit: Discord said exactly when.
            wait = failure.retry_after if failure.retry_after is not None else window_s
            return Decision(Action.RETRY, wait, pause_global=failure.is_global)
        if failure.verdict is Verdict.PERMANENT:
            return Decision(Action.GIVE_UP)
        if attempts < (self.final_max_attempts if final else self.max_attempts):
            return Decision(Action.RETRY, min(self.max_s, self.base_s * 2 ** (attempts - 1)))
        return Decision(Action.GIVE_UP if final else Action.DROP_UPDATE)


DEFAULT_RETRY = RetryPolicy()


def log_decision(
    lane_key: str, target_key: object, failure: Failure, decision: Decision, error: Exception
) -> None:
    """One log line per failed send, at the level its outcome deserves."""
    if decision.action is Action.RETRY:
        if failure.verdict is Verdict.RATE_LIMITED:
            scope = " (global)" if decision.pause_global else ""
            log.warning(
                "rate limited%s in %s: sending again in %.2f s", scope, lane_key, decision.delay_s
            )
        else:
            log.info(
                "send in %s failed (%r), retrying in %.2f s", lane_key, error, decision.delay_s
            )
    elif decision.action is Action.DROP_UPDATE:
        log.warning("dropped an update in %s after repeated errors: %r", lane_key, error)
    elif failure.status is not None:
        log.warning(
            "giving up on %r in %s: HTTP %d: %s", target_key, lane_key, failure.status, error
        )
    else:
        log.warning("giving up on %r in %s: %r", target_key, lane_key, error, exc_info=error)
