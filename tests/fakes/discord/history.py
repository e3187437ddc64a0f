"""Channel history as Discord pages it (GET /channels/{id}/messages).

Newest first, `limit` 1 to 100 (default 50), and one of `around`, `before` or `after`. `after`
returns the messages right after the id (the oldest ones after it), still newest first:
discord.py's `history(after=…)` takes the first item of each page as the next `after`.
Ephemeral and deleted messages are never listed.
"""

from __future__ import annotations

from tests.fakes.discord.models import FakeMessage
from tests.fakes.discord.validation import DiscordHTTPError

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


def _form_error(name: str, code: str, message: str) -> DiscordHTTPError:
    errors = {name: {"_errors": [{"code": code, "message": message}]}}
    return DiscordHTTPError(400, 50035, "Invalid Form Body", errors)


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise _form_error("limit", "NUMBER_TYPE_COERCE", f'Value "{raw}" is not int.') from None
    if limit < 1:
        raise _form_error(
            "limit", "NUMBER_TYPE_MIN", "int value should be greater than or equal to 1."
        )
    if limit > MAX_LIMIT:
        raise _form_error(
            "limit", "NUMBER_TYPE_MAX", f"int value should be less than or equal to {MAX_LIMIT}."
        )
    return limit


def _snowflake(query: dict[str, str], name: str) -> int:
    raw = query[name]
    try:
        return int(raw)
    except ValueError:
        raise _form_error(name, "NUMBER_TYPE_COERCE", f'Value "{raw}" is not snowflake.') from None


def page(messages: list[FakeMessage], query: dict[str, str]) -> list[FakeMessage]:
    """The messages one request returns, newest first (raises DiscordHTTPError on a bad query)."""
    limit = _limit(query.get("limit"))
    ordered = sorted((m for m in messages if not m.ephemeral and not m.deleted), key=_id)
    # Discord documents the three as mutually exclusive; discord.py never sends two, and the
    # fake honours the first of around, before, after.
    if "around" in query:
        picked = _around(ordered, _snowflake(query, "around"), limit)
    elif "before" in query:
        before = _snowflake(query, "before")
        picked = [m for m in ordered if m.id < before][-limit:]
    elif "after" in query:
        after = _snowflake(query, "after")
        picked = [m for m in ordered if m.id > after][:limit]
    else:
        picked = ordered[-limit:]
    return picked[::-1]


def _around(ordered: list[FakeMessage], center: int, limit: int) -> list[FakeMessage]:
    """The message itself (if it exists) and about as many older as newer ones around it; the
    exact split is undocumented, the fake gives the older side the odd one."""
    at = [m for m in ordered if m.id == center]
    older = [m for m in ordered if m.id < center]
    newer = [m for m in ordered if m.id > center]
    room = limit - len(at)
    n_newer = room // 2
    n_older = room - n_newer
    return older[max(0, len(older) - n_older) :] + at + newer[:n_newer]


def _id(m: FakeMessage) -> int:
    return m.id
