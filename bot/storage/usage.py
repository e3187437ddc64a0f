"""The usage ledger: append-only, one row per LLM call.

Rows are only ever inserted; triggers refuse UPDATE and DELETE and keep `usage_daily` in
step within the same transaction. The idempotency key makes a second write of the same call
a no-op. Report queries live in `bot.storage.usage_reports`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.storage.sql import Row, SyncConn

Purpose = Literal["answer", "title", "other"]
CallStatus = Literal["completed", "stopped", "error"]
UsageSource = Literal["provider", "estimated"]
PriceSource = Literal["override", "catalog"]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One LLM call. Token counts are inclusive (cached and cache writes ⊂ prompt,
    reasoning ⊂ completion).

    Prices are micro-dollars per million tokens; all price fields, `price_source` and
    `cost_micros` are None together when the model had no known price.
    """

    idempotency_key: str
    created_at: int  # unix ms UTC
    guild_id: int | None
    channel_id: int | None
    user_id: int | None
    conversation_id: int | None
    answer_id: int | None
    purpose: Purpose
    model: str
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    input_price: int | None
    cached_price: int | None
    output_price: int | None
    price_source: PriceSource | None
    cost_micros: int | None
    status: CallStatus
    usage_source: UsageSource
    # The provider the call went to (`default` for the LLM_* endpoint); `model` is the
    # model reference as members chose it.
    provider: str = "default"
    # Prompt tokens written to the provider's cache (a part of prompt_tokens, like
    # cached_tokens for cache reads) and the price they were billed at.
    cache_write_tokens: int = 0
    cache_write_price: int | None = None


_FIELDS: tuple[str, ...] = LedgerEntry.__slots__
ENTRY_FIELDS = _FIELDS  # the ledger's columns, in LedgerEntry's order
_COLUMNS = ", ".join(_FIELDS)


def entry_from_row(row: Row) -> LedgerEntry:
    return LedgerEntry(*row[: len(_FIELDS)])


def entry_params(entry: LedgerEntry) -> tuple[object, ...]:
    return tuple(getattr(entry, name) for name in _FIELDS)


_INSERT_ENTRY = (
    f"INSERT INTO usage_ledger ({_COLUMNS}) VALUES ({', '.join('?' * len(_FIELDS))})"
    " ON CONFLICT (idempotency_key) DO NOTHING"
)
ENTRY_BY_KEY = f"SELECT {_COLUMNS} FROM usage_ledger WHERE idempotency_key = ?"


def append_entry(conn: SyncConn, entry: LedgerEntry) -> bool:
    """The one write to the ledger, inside the caller's transaction (the settlement of a
    call's budget hold runs it in the same transaction as the release); False when the
    entry's key was already recorded."""
    return conn.execute(_INSERT_ENTRY, entry_params(entry)).rowcount > 0
