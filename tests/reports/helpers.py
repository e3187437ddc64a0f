"""Ledger rows for report tests, written with plain SQL (the trigger fills `usage_daily`)."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.storage.database import Database

NOW = datetime(2026, 11, 21, 15, 30, tzinfo=UTC)
DAY_MS = 86_400_000
NOW_DAY = int(NOW.timestamp() * 1000) // DAY_MS
GUILD = 111
OTHER_GUILD = 222
USERS = (1001, 1002, 1003, 1004, 1005)
CHANNELS = (501, 502, 503)
MODELS = ("gpt-big", "gpt-small", "free-model")  # free-model has no price
_keys = itertools.count()


@dataclass(frozen=True, slots=True)
class Call:
    guild_id: int | None
    day: int  # days since epoch
    user_id: int | None = 1001
    channel_id: int | None = 501
    model: str = "gpt-big"
    prompt_tokens: int = 100
    cached_tokens: int = 10
    completion_tokens: int = 50
    reasoning_tokens: int = 5
    cost_micros: int | None = 1_000
    offset_ms: int = 3_600_000  # time of day


_INSERT = """
    INSERT INTO usage_ledger (idempotency_key, created_at, guild_id, channel_id, user_id, model,
        prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens, input_price,
        cached_price, output_price, price_source, cost_micros, status, usage_source)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'completed', 'provider')
"""


async def insert_calls(db: Database, calls: list[Call]) -> None:
    params = [
        (
            f"test-{next(_keys)}",
            c.day * DAY_MS + c.offset_ms,
            c.guild_id,
            c.channel_id,
            c.user_id,
            c.model,
            c.prompt_tokens,
            c.cached_tokens,
            c.completion_tokens,
            c.reasoning_tokens,
            None if c.cost_micros is None else 2_000_000,
            None if c.cost_micros is None else 1_000_000,
            None if c.cost_micros is None else 8_000_000,
            None if c.cost_micros is None else "catalog",
            c.cost_micros,
        )
        for c in calls
    ]
    async with db.transaction() as conn:
        await conn.executemany(_INSERT, params)


def random_calls(seed: int, n: int, days_back: int = 45) -> list[Call]:
    """Calls in GUILD, OTHER_GUILD and DMs over the last `days_back` days (today included)."""
    rng = random.Random(seed)
    calls = []
    for _ in range(n):
        guild = rng.choice((GUILD, GUILD, GUILD, OTHER_GUILD, None))
        model = rng.choice(MODELS)
        prompt = rng.randint(0, 5_000)
        completion = rng.randint(0, 2_000)
        calls.append(
            Call(
                guild_id=guild,
                day=NOW_DAY - rng.randrange(days_back),
                user_id=rng.choice((*USERS, None)),
                channel_id=rng.choice((*CHANNELS, None)),
                model=model,
                prompt_tokens=prompt,
                cached_tokens=rng.randint(0, prompt),
                completion_tokens=completion,
                reasoning_tokens=rng.randint(0, completion),
                cost_micros=None if model == "free-model" else rng.randint(0, 50_000),
                offset_ms=rng.randrange(DAY_MS),
            )
        )
    return calls
