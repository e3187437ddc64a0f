"""current_time with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.llm.tools import ToolContext, ToolError
from bot.tools.current_time import make_current_time_tool

# A Saturday; Paris is on CET (UTC+1), New York already on EDT (UTC-4).
NOW = datetime(2026, 3, 14, 15, 9, 26, 535_000, tzinfo=UTC)


async def now_in(timezone: str | None = None) -> str:
    tool = make_current_time_tool(lambda: NOW)
    if timezone is None:
        return await tool.handler(ToolContext())
    return await tool.handler(ToolContext(), timezone=timezone)


@pytest.mark.parametrize(
    ("timezone", "expected"),
    [
        (None, "2026-03-14T15:09:26+00:00 (Saturday, UTC, UTC+00:00)"),
        ("", "2026-03-14T15:09:26+00:00 (Saturday, UTC, UTC+00:00)"),
        ("Z", "2026-03-14T15:09:26+00:00 (Saturday, UTC, UTC+00:00)"),
        ("Europe/Paris", "2026-03-14T16:09:26+01:00 (Saturday, Europe/Paris, UTC+01:00, CET)"),
        ("europe/paris", "2026-03-14T16:09:26+01:00 (Saturday, Europe/Paris, UTC+01:00, CET)"),
        (
            "America/New_York",
            "2026-03-14T11:09:26-04:00 (Saturday, America/New_York, UTC-04:00, EDT)",
        ),
        ("Tokyo", "2026-03-15T00:09:26+09:00 (Sunday, Asia/Tokyo, UTC+09:00, JST)"),
        ("Asia/Kolkata", "2026-03-14T20:39:26+05:30 (Saturday, Asia/Kolkata, UTC+05:30, IST)"),
        ("America/Sao_Paulo", "2026-03-14T12:09:26-03:00 (Saturday, America/Sao_Paulo, UTC-03:00)"),
        ("+05:30", "2026-03-14T20:39:26+05:30 (Saturday, fixed UTC offset, UTC+05:30)"),
        ("UTC-8", "2026-03-14T07:09:26-08:00 (Saturday, fixed UTC offset, UTC-08:00)"),
    ],
)
async def test_current_time_formats_iso_with_weekday_and_offset(
    timezone: str | None, expected: str
) -> None:
    assert await now_in(timezone) == expected


async def test_current_time_follows_daylight_saving() -> None:
    tool = make_current_time_tool(lambda: datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    result = await tool.handler(ToolContext(), timezone="Europe/Paris")
    assert result == "2026-07-01T14:00:00+02:00 (Wednesday, Europe/Paris, UTC+02:00, CEST)"


async def test_current_time_naive_clock_is_taken_as_utc() -> None:
    tool = make_current_time_tool(lambda: datetime(2026, 1, 1, 0, 0))
    assert (await tool.handler(ToolContext())).startswith("2026-01-01T00:00:00+00:00")


async def test_current_time_unknown_zone_names_the_problem_and_suggests() -> None:
    with pytest.raises(ToolError, match=r"unknown time zone 'Europe/Pari'.*Europe/Paris"):
        await now_in("Europe/Pari")


@pytest.mark.parametrize(
    ("timezone", "message"),
    [
        ("Mars/Olympus_Mons", "unknown time zone"),
        ("../../etc/passwd", "unknown time zone"),
        ("/etc/localtime", "unknown time zone"),
        ("+15:00", "not a valid UTC offset"),
        ("x" * 100, "too long"),
    ],
)
async def test_current_time_refuses_bad_zones(timezone: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        await now_in(timezone)


def test_current_time_summary_and_schema() -> None:
    tool = make_current_time_tool()
    assert tool.summarize is not None
    assert tool.summarize({}) == "UTC"
    assert tool.summarize({"timezone": "Asia/Tokyo"}) == "Asia/Tokyo"
    assert tool.spec.parameters["required"] == []
