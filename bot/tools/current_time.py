"""The `current_time` tool: the current date and time in a time zone (IANA, via zoneinfo).

Accepts IANA names in any letter case (`europe/paris`), a bare city (`Tokyo`), `UTC`/`Z`/
`GMT`, and fixed offsets (`+05:30`, `UTC-8`). The clock is injected so tests are exact.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from bot.llm.tools import Tool, ToolContext, ToolError

Clock = Callable[[], datetime]

_UTC_NAMES = frozenset({"utc", "z", "gmt", "zulu", "etc/utc", "etc/gmt", "universal"})
_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_MAX_NAME = 64


def system_clock() -> datetime:
    return datetime.now(UTC)


@functools.cache
def _zone_index() -> tuple[dict[str, str], dict[str, str]]:
    """(lower-case key → key, lower-case city → key) over the installed tz database."""
    keys = sorted(zoneinfo.available_timezones())
    by_key = {key.lower(): key for key in keys}
    by_city: dict[str, str] = {}
    for key in keys:
        if "/" in key and not key.startswith(("Etc/", "SystemV/")):
            by_city.setdefault(key.rsplit("/", 1)[1].lower(), key)
    return by_key, by_city


def _fixed_offset(match: re.Match[str]) -> tzinfo:
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes >= 60 or (hours == 14 and minutes):
        raise ToolError(f"{match.group(0)!r} is not a valid UTC offset (range -14:00 to +14:00)")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if sign == "-" else delta)


def resolve_zone(name: str | None) -> tuple[tzinfo, str]:
    """(tzinfo, display name) for `name`; raises ToolError naming the problem."""
    text = (name or "").strip()
    if not text or text.lower() in _UTC_NAMES:
        return UTC, "UTC"
    if len(text) > _MAX_NAME:
        raise ToolError("that time zone name is too long")
    if match := _OFFSET.match(text):
        zone = _fixed_offset(match)
        return zone, "fixed UTC offset"
    by_key, by_city = _zone_index()
    wanted = text.replace(" ", "_").lower()
    key = by_key.get(wanted) or by_city.get(wanted)
    if key is None:
        if not by_key:  # no tz database listing on this machine: let zoneinfo try the key
            try:
                return zoneinfo.ZoneInfo(text), text
            except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
                pass
        close = difflib.get_close_matches(wanted, [*by_key, *by_city], n=3, cutoff=0.75)
        suggestions = [by_key.get(c) or by_city[c] for c in close]
        hint = f" Did you mean {', '.join(dict.fromkeys(suggestions))}?" if suggestions else ""
        raise ToolError(
            f"unknown time zone {text!r}: use an IANA name such as Europe/Paris, "
            f"America/New_York or Asia/Tokyo, or a UTC offset like +05:30.{hint}"
        )
    return zoneinfo.ZoneInfo(key), key


def describe_time(now: datetime, zone: tzinfo, label: str) -> str:
    """e.g. `2026-03-14T15:09:26+01:00 (Saturday, Europe/Paris, UTC+01:00, CET)`."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    local = now.astimezone(zone)
    offset = local.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    parts = [local.strftime("%A"), label, offset]
    abbreviation = local.tzname() or ""
    # Numeric "abbreviations" like -03 or UTC+5 repeat the offset; only names add anything.
    named = abbreviation[:1].isalpha() and abbreviation[:3] != "UTC"
    if named and abbreviation not in (label, offset):
        parts.append(abbreviation)
    return f"{local.isoformat(timespec='seconds')} ({', '.join(parts)})"


def summarize_current_time(arguments: Mapping[str, Any]) -> str:
    return str(arguments.get("timezone") or "UTC")[:_MAX_NAME]


def make_current_time_tool(clock: Clock = system_clock, *, timeout_s: float = 20.0) -> Tool:
    async def current_time(ctx: ToolContext, timezone: str | None = None) -> str:
        if timezone is not None and not isinstance(timezone, str):
            raise ToolError("timezone must be text, e.g. 'Europe/Paris'")
        zone, label = resolve_zone(timezone)
        return describe_time(clock(), zone, label)

    return Tool(
        name="current_time",
        description=(
            "Get the current date, time and weekday. Optionally in a time zone: an IANA name "
            "like 'Europe/Paris' or 'America/New_York', or a UTC offset like '+05:30'. "
            "Defaults to UTC."
        ),
        parameters={
            "type": "object",
            "properties": {
                "timezone": {
                    "type": "string",
                    "description": "IANA time zone name or UTC offset; omit for UTC.",
                }
            },
            "required": [],
            "additionalProperties": False,
        },
        handler=current_time,
        timeout_s=timeout_s,
        summarize=summarize_current_time,
    )
