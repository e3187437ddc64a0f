"""timeutil: exact ms round trips, aware UTC out, naive datetimes refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.storage.timeutil import from_ms, from_ms_or_none, to_ms, utc_now


def test_timeutil_round_trip_is_exact() -> None:
    moment = datetime(2026, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)
    assert to_ms(moment) == 1772368215123
    assert from_ms(to_ms(moment)) == moment


def test_timeutil_converts_other_offsets_to_utc() -> None:
    paris = datetime(2026, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    back = from_ms(to_ms(paris))
    assert back == paris
    assert back.tzinfo is UTC


def test_timeutil_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_ms(datetime(2026, 3, 1))


def test_timeutil_now_is_aware_and_ms_precise() -> None:
    now = utc_now()
    assert now.tzinfo is UTC
    assert now.microsecond % 1000 == 0
    assert from_ms_or_none(None) is None
