"""What `/status` and `python -m bot check` show of each MCP server: `McpServerStatus`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.tools.mcp.config import Transport

ServerState = Literal["starting", "ready", "restarting", "failed", "stopped"]


@dataclass(frozen=True, slots=True)
class McpServerStatus:
    name: str
    transport: Transport
    # starting: never connected yet; failed: never connected, retrying after a failed start;
    # restarting: was ready, reconnecting; stopped: after stop().
    state: ServerState
    last_error: str | None
    tool_count: int
    restarts: int
    skipped_tools: tuple[str, ...] = ()  # "tool: why", tools a provider would reject
    protocol_version: str | None = None

    def line(self) -> str:
        """One plain line, e.g. `time (stdio): ready, 2 tools`."""
        parts = [f"{self.name} ({self.transport}): {self.state}"]
        if self.state == "ready" or self.tool_count:
            parts.append(f"{self.tool_count} tools")
        if self.skipped_tools:
            parts.append(f"{len(self.skipped_tools)} skipped")
        if self.restarts:
            parts.append(f"{self.restarts} restarts")
        text = ", ".join(parts)
        return f"{text} — {self.last_error}" if self.last_error else text
