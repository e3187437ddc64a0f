"""Why an MCP server could not start or went away, as one line for `/status` and the log.

The SDK's errors arrive wrapped in exception groups and name the protocol, not what an admin
can act on: a missing command, an unreachable URL, a server that exited. The server's own
last stderr line usually says why, so it goes with the reason when there is one.
"""

from __future__ import annotations

import httpx2
from mcp.shared.exceptions import MCPError
from mcp.types import CONNECTION_CLOSED

from bot.tools.mcp.config import McpServerConfig
from bot.tools.mcp.stderr import StderrTail

MAX_REASON_CHARS = 300


def start_failure(exc: BaseException, config: McpServerConfig, tail: StderrTail | None) -> str:
    """What stopped `config`'s server from starting (or serving), in one line."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, FileNotFoundError):
        text = f"command not found: {config.command[0]}"
    elif isinstance(exc, PermissionError):
        text = f"command not executable: {config.command[0]}"
    elif isinstance(exc, TimeoutError):
        text = str(exc) or "timed out"
    elif isinstance(exc, MCPError) and exc.code == CONNECTION_CLOSED:
        text = "the server exited while starting"
    elif isinstance(exc, MCPError):
        text = f"the server refused the connection: {exc.message}"
    elif isinstance(exc, httpx2.HTTPError):
        text = f"can't reach {config.url} ({exc.__class__.__name__})"
    else:
        text = f"{exc.__class__.__name__}: {exc}"
    return with_last_words(text[:MAX_REASON_CHARS], tail)


def with_last_words(text: str, tail: StderrTail | None) -> str:
    """`text`, followed by the server's last stderr line if it wrote one."""
    last = tail.last_line() if tail is not None else None
    return f"{text} — its last words: {last}" if last else text
