"""Sharding as Discord does it: which shard gets an event, and how fast shards may IDENTIFY.

- A guild belongs to shard `(guild_id >> 22) % shard_count`; its events (GUILD_CREATE,
  MESSAGE_CREATE, INTERACTION_CREATE, ...) go only to sessions of that shard. Events without a
  guild (DMs) go to shard 0 only. A session that identified without `shard` is shard [0, 1]
  and gets everything.
- `GET /gateway/bot` answers the recommended `shards` and a `session_start_limit` whose
  `max_concurrency` says how many shards may IDENTIFY per window (5 s at Discord): shards are
  put in buckets by `shard_id % max_concurrency`, and each bucket may IDENTIFY once per window.
  Faster ones are refused with op 9 INVALID_SESSION (not resumable), as Discord refuses them.
- A session identifying as a shard that another connected session already runs is let in
  (Discord lets it, and both get the shard's events) but recorded in `duplicates`, so tests
  can see a second process started with the same shard ids.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from tests.fakes.discord.models import JSON

# Discord's identify window: each bucket of shards may IDENTIFY once per 5 seconds.
IDENTIFY_WINDOW_S = 5.0
SESSION_STARTS_PER_DAY = 1000


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord delivers a guild's events to."""
    return (guild_id >> 22) % shard_count


def guild_of(event: str, data: JSON) -> int | None:
    """The guild an event belongs to (None: a DM or something global, which is shard 0's)."""
    raw = data.get("id") if event.startswith("GUILD_") and "guild_id" not in data else None
    raw = raw if raw is not None else data.get("guild_id")
    return int(raw) if raw is not None else None


def receives(shard: list[int] | None, guild_id: int | None) -> bool:
    """Whether a session identified as `shard` ([id, count], or None) gets this guild's events."""
    if shard is None:
        return True
    shard_id, count = shard
    if guild_id is None:
        return shard_id == 0
    return shard_of(guild_id, count) == shard_id


def valid_shard(shard: object) -> bool:
    """`[id, count]` with 0 <= id < count (else Discord closes with 4010 Invalid shard)."""
    if not isinstance(shard, list) or len(shard) != 2:
        return False
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in shard):
        return False
    shard_id, count = shard
    return count >= 1 and 0 <= shard_id < count


@dataclass(frozen=True)
class IdentifyRecord:
    at: float  # time.monotonic()
    shard: tuple[int, int] | None
    accepted: bool


@dataclass
class ShardPlan:
    """What the fake tells clients about sharding, and what it saw them do.

    `identify_window_s` None lets every IDENTIFY in (the fake's default: tests restart bots on
    one fake much faster than Discord allows, and discord.py waits 5 s before re-identifying
    on its own); set it (to 5.0, or smaller to keep a test fast) to refuse fast ones."""

    shards: int = 1  # the shard count GET /gateway/bot recommends
    max_concurrency: int = 1
    identify_window_s: float | None = None
    identifies: list[IdentifyRecord] = field(default_factory=list)
    # Shards identified while another connected session already ran them: (shard id, count).
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    _last_identify: dict[int, float] = field(default_factory=dict)

    def bucket(self, shard: list[int] | None) -> int:
        shard_id = 0 if shard is None else shard[0]
        return shard_id % max(1, self.max_concurrency)

    def admit(self, shard: list[int] | None) -> bool:
        """Count one IDENTIFY; False when its bucket already identified within the window."""
        now = time.monotonic()
        key = (shard[0], shard[1]) if shard is not None else None
        bucket = self.bucket(shard)
        last = self._last_identify.get(bucket)
        window = self.identify_window_s
        accepted = window is None or last is None or now - last >= window
        if accepted:
            self._last_identify[bucket] = now
        self.identifies.append(IdentifyRecord(now, key, accepted))
        return accepted

    @property
    def rejected_identifies(self) -> list[IdentifyRecord]:
        return [r for r in self.identifies if not r.accepted]

    def gateway_bot(self, url: str) -> JSON:
        """The body of GET /gateway/bot."""
        started = sum(1 for r in self.identifies if r.accepted)
        limit = {
            "total": SESSION_STARTS_PER_DAY,
            "remaining": max(0, SESSION_STARTS_PER_DAY - started),
            "reset_after": 24 * 3600 * 1000,
            "max_concurrency": self.max_concurrency,
        }
        return {"url": url, "shards": self.shards, "session_start_limit": limit}
