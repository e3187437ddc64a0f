"""The `[mcp.NAME]` tables of the configuration file, turned into `McpServerConfig`s.

```toml
[mcp.time]                             # NAME: letters, digits, - and _ (no "__"), at most 40
command = ["uvx", "mcp-server-time"]   # a stdio server: the command and its arguments
env = { TZ = "Europe/Paris" }          # added to the server's (minimal) environment
approval = "never"                     # "never", "always" or a list of the server's tool names
timeout_seconds = 30                   # per tool call (default: TOOL_TIMEOUT_SECONDS)

[mcp.search]
url = "https://mcp.example.com/mcp"    # a streamable HTTP server (exactly one of command, url)
headers_env = { Authorization = "EXAMPLE_MCP_AUTH" }  # header → variable holding its value
```

Unset `approval` means: destructive tools only for a command, every tool for a URL. Each
problem is one plain line naming the file, the table and the key, like the provider tables;
`bot.config_file.load_mcp_servers` reads the file and raises them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.tools.mcp.config import SERVER_NAME, Approval, McpServerConfig

_KEYS = {"command", "url", "env", "headers_env", "approval", "timeout_seconds"}
MAX_TIMEOUT_S = 600

Bad = Callable[[str, str], None]


def build_mcp_servers(
    document: Mapping[str, Any], env: Mapping[str, str], *, source: str
) -> tuple[tuple[McpServerConfig, ...], list[str]]:
    """The servers of `document`'s `[mcp.*]` tables and the problems found (one line each)."""
    problems: list[str] = []
    tables = document.get("mcp", {})
    if not isinstance(tables, dict):
        return (), [f"{source}: mcp: must be a table of [mcp.NAME] tables"]
    servers: list[McpServerConfig] = []
    for name, table in tables.items():
        where = f"[mcp.{name}]"

        def bad(key: str, text: str, where: str = where) -> None:
            problems.append(" ".join(part for part in (f"{source}:", where, key, text) if part))

        if not isinstance(table, dict):
            bad("", "must be a table")
            continue
        if not SERVER_NAME.match(name):
            bad("", 'has an invalid name — use letters, digits, - and _ (no "__"), at most 40')
            continue
        server = _server(name, table, env, bad)
        if server is not None:
            servers.append(server)
    return tuple(servers), problems


def _server(
    name: str, table: Mapping[str, Any], env: Mapping[str, str], bad: Bad
) -> McpServerConfig | None:
    ok = True
    for key in table:
        if key not in _KEYS:
            bad(f"{key}:", f"is not an MCP server key — use {', '.join(sorted(_KEYS))}")
            ok = False
    command = table.get("command")
    url = table.get("url")
    if (command is None) == (url is None):
        bad("command:", "or url: set exactly one (a command to run, or a streamable HTTP URL)")
        return None
    if command is not None and (
        not isinstance(command, list)
        or not command
        or not all(isinstance(part, str) and part for part in command)
    ):
        bad("command:", 'must be a non-empty list of strings, e.g. ["uvx", "mcp-server-time"]')
        ok = False
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("http://", "https://"))
    ):
        bad("url:", "must be an http(s) URL")
        ok = False
    server_env = _strings(table, "env", bad)
    if server_env and url is not None:
        bad("env:", "applies only to servers started with command")
        ok = False
    headers = _headers(table, env, bad)
    if headers and command is not None:
        bad("headers_env:", "applies only to servers reached by url")
        ok = False
    approval_ok, approval = _approval(table.get("approval"), bad)
    timeout = table.get("timeout_seconds")
    if timeout is not None and (
        not isinstance(timeout, int | float)
        or isinstance(timeout, bool)
        or not 0 < timeout <= MAX_TIMEOUT_S
    ):
        bad("timeout_seconds:", f"must be a number of seconds above 0 and at most {MAX_TIMEOUT_S}")
        ok = False
    if not ok or server_env is None or headers is None or not approval_ok:
        return None
    return McpServerConfig(
        name,
        command=tuple(command) if command is not None else (),
        env=server_env,
        url=url.rstrip("/") if isinstance(url, str) else None,
        headers=headers,
        approval=approval,
        timeout_s=float(timeout) if timeout is not None else None,
    )


def _strings(table: Mapping[str, Any], key: str, bad: Bad) -> dict[str, str] | None:
    value = table.get(key, {})
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        bad(f"{key}:", 'must be a table of strings, e.g. { NAME = "value" }')
        return None
    return dict(value)


def _headers(table: Mapping[str, Any], env: Mapping[str, str], bad: Bad) -> dict[str, str] | None:
    names = _strings(table, "headers_env", bad)
    if names is None:
        return None
    headers: dict[str, str] = {}
    ok = True
    for header, variable in names.items():
        value = env.get(variable, "").strip()
        if not value:
            bad(
                f"headers_env: {header}:",
                f"{variable} is not set — set it in the environment or .env",
            )
            ok = False
        else:
            headers[header] = value
    return headers if ok else None


def _approval(value: object, bad: Bad) -> tuple[bool, Approval | None]:
    """(valid, the approval setting or None when unset); a problem is reported here."""
    if value is None:
        return True, None
    if value == "never" or value == "always":
        return True, value
    if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
        return True, tuple(value)
    bad("approval:", 'must be "never", "always" or a list of the server\'s tool names')
    return False, None
