"""What the bot knows about one MCP server before starting it: `McpServerConfig`.

A server is reached either over stdio (`command`, run as a child process with `env` added to a
minimal inherited environment) or over streamable HTTP (`url`, with `headers` such as
`Authorization`). `approval` decides which of its tools a member must approve before a call:

    "always"            every tool
    "never"             none, whatever the server's annotations say
    ("a", "b")          these tools (the server's own names), and every destructive tool
    None (unset)        stdio: destructive tools only; HTTP: every tool (a remote server's
                        tool list and annotations can change at any time)

A tool is destructive when the server annotates it `destructiveHint: true` (and not
`readOnlyHint: true`). This module has no I/O and imports nothing of the MCP SDK.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Approval = Literal["never", "always"] | tuple[str, ...]
Transport = Literal["stdio", "http"]

SERVER_NAME = re.compile(r"^(?!.*__)[A-Za-z0-9_-]{1,40}$")


@dataclass(frozen=True, slots=True)
class McpServerConfig:
    name: str
    command: tuple[str, ...] = ()
    # Values may be secrets (API keys for the server): never shown in reprs or logs.
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    approval: Approval | None = None
    timeout_s: float | None = None  # per tool call; None: the manager's default

    def __post_init__(self) -> None:
        if not SERVER_NAME.match(self.name):
            raise ValueError(f"invalid MCP server name {self.name!r}")
        if bool(self.command) == (self.url is not None):
            raise ValueError(f"MCP server {self.name!r} needs exactly one of command and url")
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise ValueError(f"MCP server {self.name!r}: timeout must be positive")

    @property
    def transport(self) -> Transport:
        return "stdio" if self.command else "http"

    def needs_approval(self, tool: str, *, destructive: bool) -> bool:
        """Whether a call of the server's tool `tool` must be approved by a member first."""
        approval = self.approval
        if approval == "always":
            return True
        if approval == "never":
            return False
        if approval is None:
            return destructive or self.transport == "http"
        return destructive or tool in approval

    def secrets(self) -> tuple[str, ...]:
        """Values to redact from logs: every env and header value."""
        return tuple(v for v in (*self.env.values(), *self.headers.values()) if v)
