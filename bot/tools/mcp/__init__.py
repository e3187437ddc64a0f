"""Tools from MCP servers (Model Context Protocol), through the official `mcp` SDK.

Light to import: this package exports the configuration and status types only. The engine is
`bot.tools.mcp.manager.McpManager` (it imports the SDK, which takes a second or so to load);
its module docstring shows the whole API: start, tools, listeners, status, approval, stop.

    config.py      McpServerConfig: command or url, env, headers, approval, timeout
    status.py      McpServerStatus: state, last error, tool count, restarts (for /status)
    manager.py     McpManager: every server; their tools as bot.llm.tools.Tool; approvals
    server.py      ServerSupervisor: one server's connection, listing, health and restarts
    gate.py        StartGate: stdio servers take turns to start, about one per core
    transports.py  the SDK's stdio / streamable HTTP transports, watched for their end
    catalog.py     a listed tool made provider-safe; McpToolInfo for the rest of the bot
    schemas.py     provider-safe names (SERVER__tool) and schemas; argument validation
    results.py     CallToolResult → text for the model (cut) + images (ToolOutput)
    stderr.py      a stdio server's stderr: logged, last lines kept
    failures.py    why a server could not start, as one line (with its last stderr words)
"""

from bot.tools.mcp.config import Approval, McpServerConfig
from bot.tools.mcp.status import McpServerStatus, ServerState

__all__ = ["Approval", "McpServerConfig", "McpServerStatus", "ServerState"]
