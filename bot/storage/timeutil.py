"""Time conversion for storage: aware UTC datetimes in the models, INTEGER unix ms on disk.

Integer arithmetic (not `datetime.timestamp()` floats) so a value survives a round trip
exactly, and naive datetimes are refused instead of being silently read as local time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A time in ms falls on the UTC day `ms // MS_PER_DAY` (the ledger's roll-ups count by it).
MS_PER_DAY = 86_400_000
_ONE_MS = timedelta(milliseconds=1)


def utc_now() -> datetime:
    """The current time, aware UTC, truncated to what the database keeps (milliseconds)."""
    return from_ms(now_ms())


def now_ms() -> int:
    return to_ms(datetime.now(UTC))


def to_ms(value: datetime) -> int:
    """Unix milliseconds of an aware datetime (sub-millisecond parts are floored)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: storage only takes timezone-aware times")
    return (value - EPOCH) // _ONE_MS


def from_ms(value: int) -> datetime:
    return EPOCH + timedelta(milliseconds=value)


def from_ms_or_none(value: int | None) -> datetime | None:
    return None if value is None else from_ms(value)
