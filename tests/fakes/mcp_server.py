"""A small MCP server of the tests' own, built on the official SDK's `MCPServer` (FastMCP).

`python -m tests.fakes.mcp_server [options]` serves over stdio (the default) or, with
`--http`, over streamable HTTP on 127.0.0.1 (it prints `listening on PORT` first). Its tools
exercise what the bot's MCP client must survive:

    noop, echo, add              plain calls (add has structured output)
    crash                        the process exits at once, mid-call
    hang                         the call never ends, the server stays responsive
    freeze                       the server's event loop blocks: it stops answering at all
    add_tool                     registers a tool at run time and notifies tools/list_changed
    image                        text plus an image content block (a 1x1 PNG)
    delete_everything            annotated destructiveHint=true
    big                          10 MB of text (or `chars` characters)
    fail                         an isError result with the given text
    env                          the value of an environment variable (for `env` configs)
    whoami                       the request's Authorization header (streamable HTTP only)

Options: `--legacy-only` serves the handshake era only (`server/discover` is
refused, so clients fall back to `initialize` and get list changes as notifications),
`--odd-schemas` adds tools whose schemas, as sent on the wire, need adapting (`no_type`,
`one_of_top`) or can't be offered (`array_schema`), and tools with a dotted and a very long
name. A server slow to start or dying at start: `tests.fakes.mcp_server_start`.
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import sys
import time
from typing import Any

import anyio
from mcp.server import ServerRequestContext
from mcp.server.context import CallNext, HandlerResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.runner import serve_loop
from mcp.server.stdio import stdio_server
from mcp.types import ImageContent, TextContent, ToolAnnotations
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

# A 1x1 red PNG.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
BIG_DEFAULT = 10_000_000
LONG_NAME = "a_tool_name_that_is_much_longer_than_any_provider_allows_for_function_names"


# Schemas the SDK's own server would never send, as other servers do: patched into the wire
# form of tools/list (a middleware sees the serialized result).
ODD_SCHEMAS: dict[str, dict[str, Any]] = {
    "no_type": {"properties": {"text": {"type": "string"}}, "required": ["text"]},
    "array_schema": {"type": "array"},
    "one_of_top": {"type": "object", "oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
}


async def _odd_schemas(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    result = await call_next(ctx)
    if ctx.method == "tools/list" and isinstance(result, dict):
        for tool in result.get("tools", []):
            if tool.get("name") in ODD_SCHEMAS:
                tool["inputSchema"] = ODD_SCHEMAS[tool["name"]]
    return result


def build_server(*, odd_schemas: bool = False) -> MCPServer[Any]:
    server = MCPServer[Any]("switchboard-test", version="1.0", instructions="Tools for tests.")
    if odd_schemas:
        server.middleware.append(_odd_schemas)

    @server.tool(description="Does nothing and returns an empty text.")
    async def noop() -> str:
        return ""

    @server.tool(description="Returns its text.")
    async def echo(text: str) -> str:
        return text

    @server.tool(description="Adds two integers.")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="Exits the server process at once.")
    async def crash() -> str:
        sys.stderr.write("crashing on purpose\n")
        sys.stderr.flush()
        os._exit(3)

    @server.tool(description="Never answers; the server stays responsive.")
    async def hang(seconds: float = 3600.0) -> str:
        await anyio.sleep(seconds)
        return "woke up"

    @server.tool(description="Blocks the server's event loop: nothing is answered any more.")
    async def freeze() -> str:
        time.sleep(3600)  # noqa: ASYNC251 (the point: the whole server stops answering)
        return "thawed"

    @server.tool(description="Adds a tool named `name` and notifies tools/list_changed.")
    async def add_tool(name: str, ctx: Context) -> str:
        async def added() -> str:
            return f"{name} was added at run time"

        server.add_tool(added, name=name, description=f"Added at run time: {name}.")
        # 2026-07-28 clients listen with subscriptions/listen; earlier ones get a notification.
        await ctx.notify_tools_changed()
        if ctx.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS:
            await ctx.session.send_tool_list_changed()
        return f"added {name}"

    @server.tool(description="Returns a caption and a 1x1 PNG.")
    async def image() -> list[TextContent | ImageContent]:
        data = base64.b64encode(PIXEL_PNG).decode("ascii")
        return [
            TextContent(type="text", text="a red pixel"),
            ImageContent(type="image", data=data, mime_type="image/png"),
        ]

    @server.tool(
        description="Deletes everything (it does not really).",
        annotations=ToolAnnotations(destructive_hint=True, read_only_hint=False),
    )
    async def delete_everything() -> str:
        return "deleted nothing"

    @server.tool(description="Returns `chars` characters of text (10 MB by default).")
    async def big(chars: int = BIG_DEFAULT) -> str:
        line = "0123456789abcdefghijklmnopqrstuvwxyz" * 2 + "\n"
        return (line * (chars // len(line) + 1))[:chars]

    @server.tool(description="Fails with `message` as an isError result.")
    async def fail(message: str) -> str:
        raise ToolError(message)

    @server.tool(description="Returns the value of an environment variable.")
    async def env(name: str) -> str:
        return os.environ.get(name, "<unset>")

    @server.tool(description="Returns the Authorization header of the request (HTTP only).")
    async def whoami(ctx: Context) -> str:
        headers = ctx.headers or {}
        return headers.get("authorization", "<none>")

    if odd_schemas:

        @server.tool(name="no_type", description="Echoes text; its schema lacks a type.")
        async def no_type(text: str) -> str:
            return text

        @server.tool(name="array_schema", description="Advertises an array schema.")
        async def array_schema() -> str:
            return "never called"

        @server.tool(name="one_of_top", description="Advertises a top-level oneOf.")
        async def one_of_top(a: str = "", b: str = "") -> str:
            return a or b

        @server.tool(name="dotted.name", description="A name with dots.")
        async def dotted() -> str:
            return "dotted"

        @server.tool(name=LONG_NAME, description="A very long name.")
        async def long_named() -> str:
            return "long"

    return server


async def _serve_legacy_stdio(server: MCPServer[Any]) -> None:
    """The handshake-era loop only: `server/discover` is refused before `initialize`."""
    lowlevel = server._lowlevel_server
    async with stdio_server() as (read, write), lowlevel.lifespan(lowlevel) as state:
        options = lowlevel.create_initialization_options()
        await serve_loop(lowlevel, read, write, lifespan_state=state, init_options=options)


async def _serve_http(server: MCPServer[Any]) -> None:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = server.streamable_http_app(host="127.0.0.1")
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    print(f"listening on {port}", flush=True)
    await uvicorn.Server(config).serve(sockets=[sock])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.mcp_server")
    parser.add_argument("--legacy-only", action="store_true")
    parser.add_argument("--odd-schemas", action="store_true")
    parser.add_argument("--http", action="store_true")
    args = parser.parse_args(argv)
    server = build_server(odd_schemas=args.odd_schemas)
    if args.http:
        anyio.run(_serve_http, server)
    elif args.legacy_only:
        anyio.run(_serve_legacy_stdio, server)
    else:
        server.run()


if __name__ == "__main__":
    main()
