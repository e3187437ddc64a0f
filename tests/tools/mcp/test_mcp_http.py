"""MCP over streamable HTTP: the tests' own server in a child process on 127.0.0.1."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import pytest

from bot.llm.tools import ToolContext, ToolError
from bot.tools.mcp import McpServerConfig
from bot.tools.mcp.manager import McpManager
from tests.polling import wait_until
from tests.tools.mcp.conftest import FAST, ROOT, SERVER_MODULE

CTX = ToolContext(conversation_id=1)


@pytest.fixture
async def http_server() -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """The URL of the tests' own server serving streamable HTTP, and its process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", SERVER_MODULE, "--http", stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(60):
            line = await process.stdout.readline()
        port = int(line.decode().split()[-1])
        yield f"http://127.0.0.1:{port}/mcp", process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def test_mcp_http_server_gets_the_configured_headers(
    http_server: tuple[str, asyncio.subprocess.Process],
) -> None:
    url, _ = http_server
    config = McpServerConfig("web", url=url, headers={"Authorization": "Bearer t0k"})
    async with McpManager([config], timing=FAST, startup_wait_s=60) as manager:
        (status,) = manager.status()
        assert (status.transport, status.state) == ("http", "ready")
        # Unset approval on a remote server: every tool needs approval.
        assert manager.needs_approval("web__echo")
        manager.set_approver(_yes)
        assert await manager.tools()["web__whoami"].handler(CTX) == "Bearer t0k"
        assert await manager.tools()["web__add"].handler(CTX, a=20, b=22) == "42"


async def test_mcp_http_server_going_away_is_noticed_and_retried(
    http_server: tuple[str, asyncio.subprocess.Process],
) -> None:
    url, process = http_server
    config = McpServerConfig("web", url=url, approval="never")
    async with McpManager([config], timing=FAST, startup_wait_s=60) as manager:
        process.kill()
        await process.wait()
        with pytest.raises(ToolError, match="the MCP server web"):
            await manager.tools()["web__echo"].handler(CTX, text="anyone?")

        await wait_until(lambda: manager.status()[0].restarts >= 1)
        (status,) = manager.status()
        assert status.state == "restarting"
        assert status.last_error is not None and "can't reach" in status.last_error


async def test_mcp_http_server_never_reached_is_reported() -> None:
    config = McpServerConfig("down", url="http://127.0.0.1:9/mcp")
    async with McpManager([config], timing=FAST, startup_wait_s=60) as manager:
        (status,) = manager.status()

    assert status.state == "failed"
    assert status.last_error == "can't reach http://127.0.0.1:9/mcp (ConnectError)"


async def _yes(_request: object) -> bool:
    return True
