"""Helpers for the MCP client tests: the tests' own server as a config, bounded waits, and a
look at this process's children (to prove shutdown leaves none, zombies included)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.tools.mcp import McpServerConfig
from bot.tools.mcp.server import Timing

ROOT = Path(__file__).resolve().parents[3]
SERVER_MODULE = "tests.fakes.mcp_server"
# Starts SERVER_MODULE, or fails to (`--delay-start`, `--exit-at-start`) without the SDK.
STARTER_MODULE = "tests.fakes.mcp_server_start"
# Fast restarts for tests; the start timeout stays generous (a child imports the SDK).
FAST = Timing(
    start_timeout_s=60.0,
    backoff_initial_s=0.05,
    backoff_max_s=0.5,
    stable_after_s=60.0,
    health_timeout_s=2.0,
    stop_timeout_s=15.0,
)


def fake_server(name: str = "test", *args: str, **options: Any) -> McpServerConfig:
    """The tests' own FastMCP server (tests/fakes/mcp_server.py) over stdio."""
    env = {"PYTHONPATH": str(ROOT), **options.pop("env", {})}
    return McpServerConfig(
        name, command=(sys.executable, "-m", STARTER_MODULE, *args), env=env, **options
    )


@dataclass(frozen=True)
class Child:
    pid: int
    state: str  # from /proc: R, S, Z (zombie), …
    cmdline: str


def children(marker: str = SERVER_MODULE) -> list[Child]:
    """This process's child processes whose command line contains `marker`."""
    found = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        # The command may contain spaces and parentheses: fields follow the last ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        state, parent = fields[0], int(fields[1])
        if parent == me and (marker in cmdline or state == "Z"):
            found.append(Child(int(entry.name), state, cmdline))
    return found
