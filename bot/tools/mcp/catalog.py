"""The tools of MCP servers as the bot offers them.

`RemoteTool` is one tool as its server listed it, checked and made provider-safe
(`remote_tool` raises `SchemaProblem` otherwise). `McpToolInfo` is what the rest of the bot
may ask about an exposed tool: its server, its own name there, its annotations, and whether a
member must approve a call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jsonschema.protocols import Validator
from mcp.types import Tool as McpTool

from bot.tools.mcp.schemas import adapt_schema, compile_validator

MAX_DESCRIPTION = 1024


@dataclass(frozen=True, slots=True)
class RemoteTool:
    """A tool as the server listed it, with its schema made provider-safe."""

    name: str
    description: str
    parameters: dict[str, Any]
    validator: Validator
    title: str | None = None
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = False


def remote_tool(tool: McpTool) -> RemoteTool:
    """Raises `SchemaProblem` when the tool can't be offered to a model."""
    parameters = adapt_schema(tool.input_schema)
    validator = compile_validator(tool.input_schema)
    notes = tool.annotations
    title = tool.title or (notes.title if notes else None)
    description = (tool.description or title or f"The {tool.name} tool.")[:MAX_DESCRIPTION]
    read_only = bool(notes and notes.read_only_hint)
    return RemoteTool(
        tool.name,
        description,
        parameters,
        validator,
        title=title,
        read_only=read_only,
        # Only an explicit hint counts: unannotated tools are not all treated as destructive.
        destructive=bool(notes and notes.destructive_hint is True and not read_only),
        idempotent=bool(notes and notes.idempotent_hint),
        open_world=bool(notes and notes.open_world_hint),
    )


@dataclass(frozen=True, slots=True)
class McpToolInfo:
    name: str  # as exposed to the model: SERVER__tool
    server: str
    remote_name: str  # the server's own name for it
    title: str | None
    needs_approval: bool
    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool
