"""Every tool an answer may be given: the built-ins and, when configured, the tools of MCP
servers (`NAME__tool`), which appear and change while the bot runs (a server starts late,
restarts, or announces a new list). Built-ins follow their defaults per channel; MCP tools
are off until `/settings tools` switches them on in a channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.llm.tools import ToolRegistry
from bot.tools.mcp.status import McpServerStatus

if TYPE_CHECKING:  # the manager imports the MCP SDK, most of the bot's start-up time
    from bot.tools.mcp.manager import McpManager

__all__ = ["ToolCatalog"]


class ToolCatalog:
    def __init__(self, builtins: ToolRegistry, mcp: McpManager | None = None) -> None:
        self._builtins = builtins
        self._mcp = mcp
        self._merged: ToolRegistry | None = None
        self._version = -1

    @property
    def builtins(self) -> ToolRegistry:
        return self._builtins

    @property
    def mcp(self) -> McpManager | None:
        return self._mcp

    def registry(self) -> ToolRegistry:
        """Every tool available now (built once per change of the MCP servers' tools)."""
        if self._mcp is None:
            return self._builtins
        if self._merged is None or self._version != self._mcp.version:
            self._version = self._mcp.version
            self._merged = ToolRegistry([*self._builtins.values(), *self._mcp.tools().values()])
        return self._merged

    def names(self) -> tuple[str, ...]:
        return tuple(self.registry())

    def mcp_tools_by_server(self) -> dict[str, list[str]]:
        """The MCP tools available now, by server (for `/settings show`)."""
        found: dict[str, list[str]] = {}
        if self._mcp is None:
            return found
        for name in self._mcp.tools():
            info = self._mcp.tool_info(name)
            if info is not None:
                found.setdefault(info.server, []).append(name)
        return found

    def mcp_status(self) -> list[McpServerStatus]:
        return self._mcp.status() if self._mcp is not None else []
