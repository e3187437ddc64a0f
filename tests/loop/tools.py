"""Small real tools for loop tests (plain async functions, registered like built-ins)."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.llm.tools import Tool, ToolContext, ToolError

OBJECT = {"type": "object", "properties": {}, "additionalProperties": True}


def tool(name: str, handler: Any, *, timeout_s: float = 5.0) -> Tool:
    return Tool(name, f"test tool {name}", OBJECT, handler, timeout_s=timeout_s)


async def echo(ctx: ToolContext, **arguments: Any) -> str:
    return f"echo {sorted(arguments.items())} in {ctx.conversation_id}"


async def broken(ctx: ToolContext, **arguments: Any) -> str:
    raise RuntimeError("secret internal detail")


async def refuses(ctx: ToolContext, **arguments: Any) -> str:
    raise ToolError("the thing is not available")


async def sleepy(ctx: ToolContext, **arguments: Any) -> str:
    await asyncio.sleep(3600)
    return "never"


async def needs_x(ctx: ToolContext, *, x: int) -> str:
    return str(x * 2)
