"""Per-channel settings overrides and tool toggles, and their thread → parent inheritance.

A stored NULL means "inherit". `effective()` merges a thread's own values over its parent
channel's; the caller applies the bot's defaults to whatever is still None.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import TypeVar

from bot.storage.database import Database
from bot.storage.models import ChannelSettings
from bot.storage.sql import Conn, Row
from bot.storage.timeutil import now_ms
from bot.vocabulary import ChannelMode, ReasoningMode


class Unset(enum.Enum):
    """Marks a keyword of `update()` that was not passed (None means "clear")."""

    UNSET = enum.auto()


UNSET = Unset.UNSET
T = TypeVar("T")

_SETTINGS = (
    "SELECT channel_id, guild_id, model, system_prompt, reasoning_mode, mode, mentions"
    " FROM channel_settings"
)
_TOOLS = "SELECT channel_id, tool, enabled FROM channel_tools"


def _settings(row: Row, tools: Iterable[tuple[str, bool]]) -> ChannelSettings:
    mentions = row.mentions
    return ChannelSettings(
        channel_id=row.channel_id,
        guild_id=row.guild_id,
        model=row.model,
        system_prompt=row.system_prompt,
        reasoning_mode=row.reasoning_mode,
        mode=row.mode,
        mentions=None if mentions is None else bool(mentions),
        tools=tuple(sorted(tools)),
    )


class ChannelSettingsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        # Bumped by every write: readers that cache settings compare it to know when to drop
        # their copies (this repository is the only writer of these tables).
        self.version = 0

    _GET = f"{_SETTINGS} WHERE channel_id = ?"
    _GET_TOOLS = f"{_TOOLS} WHERE channel_id = ?"

    async def get(self, channel_id: int, *, conn: Conn | None = None) -> ChannelSettings | None:
        """The channel's own overrides (nothing inherited), or None if it has none."""
        async with self._db.reading(conn) as c:
            async with c.execute(self._GET, (channel_id,)) as cursor:
                row = cursor.fetchone()
            if row is None:
                return None
            tools = await c.execute_fetchall(self._GET_TOOLS, (channel_id,))
        return _settings(row, ((t.tool, bool(t.enabled)) for t in tools))

    # One constant statement for any subset of fields: each column takes the new value only
    # when its `set_*` flag is 1, so "not passed" and "set to NULL" stay distinct.
    _UPDATE = """
        INSERT INTO channel_settings AS old (channel_id, guild_id, model, system_prompt,
                                      reasoning_mode, mode, mentions, updated_at)
        VALUES (:channel_id, :guild_id, :model, :system_prompt,
                :reasoning_mode, :mode, :mentions, :updated_at)
        ON CONFLICT (channel_id) DO UPDATE SET
            guild_id = excluded.guild_id,
            model = CASE WHEN :set_model = 1 THEN excluded.model ELSE old.model END,
            system_prompt = CASE WHEN :set_system_prompt = 1
                THEN excluded.system_prompt ELSE old.system_prompt END,
            reasoning_mode = CASE WHEN :set_reasoning_mode = 1
                THEN excluded.reasoning_mode ELSE old.reasoning_mode END,
            mode = CASE WHEN :set_mode = 1 THEN excluded.mode ELSE old.mode END,
            mentions = CASE WHEN :set_mentions = 1 THEN excluded.mentions ELSE old.mentions END,
            updated_at = excluded.updated_at
    """

    async def update(
        self,
        channel_id: int,
        guild_id: int | None,
        *,
        model: str | Unset | None = UNSET,
        system_prompt: str | Unset | None = UNSET,
        reasoning_mode: ReasoningMode | Unset | None = UNSET,
        mode: ChannelMode | Unset | None = UNSET,
        mentions: bool | Unset | None = UNSET,
        conn: Conn | None = None,
    ) -> ChannelSettings:
        """Change the given fields (None clears one back to "inherit"); returns the result."""
        fields: dict[str, object] = {
            "model": model,
            "system_prompt": system_prompt,
            "reasoning_mode": reasoning_mode,
            "mode": mode,
            "mentions": mentions,
        }
        params: dict[str, object] = {
            "channel_id": channel_id,
            "guild_id": guild_id,
            "updated_at": now_ms(),
        }
        for name, value in fields.items():
            given = value is not UNSET
            params[f"set_{name}"] = int(given)
            # Booleans as 0/1: PostgreSQL won't put a boolean into the integer column.
            params[name] = (int(value) if isinstance(value, bool) else value) if given else None
        self.version += 1
        async with self._db.maybe_transaction(conn) as c:
            await c.execute(self._UPDATE, params)
            updated = await self.get(channel_id, conn=c)
        self.version += 1
        assert updated is not None
        return updated

    _TOUCH = """
        INSERT INTO channel_settings AS old (channel_id, guild_id, updated_at) VALUES (?, ?, ?)
        ON CONFLICT (channel_id) DO UPDATE SET
            guild_id = excluded.guild_id, updated_at = excluded.updated_at
    """
    _SET_TOOL = """
        INSERT INTO channel_tools (channel_id, tool, enabled) VALUES (?, ?, ?)
        ON CONFLICT (channel_id, tool) DO UPDATE SET enabled = excluded.enabled
    """
    _CLEAR_TOOL = "DELETE FROM channel_tools WHERE channel_id = ? AND tool = ?"

    async def set_tool(
        self,
        channel_id: int,
        guild_id: int | None,
        tool: str,
        enabled: bool | None,
        *,
        conn: Conn | None = None,
    ) -> None:
        """Turn a tool on or off in this channel; None removes the toggle (inherit again)."""
        self.version += 1
        async with self._db.maybe_transaction(conn) as c:
            await c.execute(self._TOUCH, (channel_id, guild_id, now_ms()))
            if enabled is None:
                await c.execute(self._CLEAR_TOOL, (channel_id, tool))
            else:
                await c.execute(self._SET_TOOL, (channel_id, tool, int(enabled)))
        self.version += 1

    _GET_PAIR = f"{_SETTINGS} WHERE channel_id IN (:own, :parent)"
    _GET_PAIR_TOOLS = f"{_TOOLS} WHERE channel_id IN (:own, :parent)"

    async def effective(
        self,
        channel_id: int,
        parent_channel_id: int | None,
        *,
        conn: Conn | None = None,
    ) -> ChannelSettings:
        """The channel's values over its parent's (a thread inherits its channel's settings,
        tool by tool too). Fields neither sets stay None for the caller's defaults."""
        ids = {"own": channel_id, "parent": parent_channel_id}
        async with self._db.reading(conn) as c:
            rows = {r.channel_id: r for r in await c.execute_fetchall(self._GET_PAIR, ids)}
            tool_rows = await c.execute_fetchall(self._GET_PAIR_TOOLS, ids)
        own_tools = {t.tool: bool(t.enabled) for t in tool_rows if t[0] == channel_id}
        tools = {t.tool: bool(t.enabled) for t in tool_rows if t[0] != channel_id}
        tools.update(own_tools)
        empty = ChannelSettings(channel_id=channel_id, guild_id=None)
        own = _settings(rows[channel_id], ()) if channel_id in rows else empty
        parent = (
            _settings(rows[parent_channel_id], ())
            if parent_channel_id is not None and parent_channel_id in rows
            else empty
        )
        return ChannelSettings(
            channel_id=channel_id,
            guild_id=own.guild_id if own.guild_id is not None else parent.guild_id,
            model=_first(own.model, parent.model),
            system_prompt=_first(own.system_prompt, parent.system_prompt),
            reasoning_mode=_first(own.reasoning_mode, parent.reasoning_mode),
            mode=_first(own.mode, parent.mode),
            mentions=_first(own.mentions, parent.mentions),
            tools=tuple(sorted(tools.items())),
        )


def _first(own: T | None, parent: T | None) -> T | None:
    return own if own is not None else parent
