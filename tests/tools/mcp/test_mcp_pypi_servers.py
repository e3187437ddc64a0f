"""Published MCP servers from PyPI (dev dependencies), started over stdio by our client."""

from __future__ import annotations

import json
import os
import sys

from bot.llm.tools import ToolContext
from bot.tools.mcp import McpServerConfig
from bot.tools.mcp.manager import McpManager
from tests.tools.conftest import PAGE, LocalServer
from tests.tools.mcp.conftest import FAST, children

CTX = ToolContext(conversation_id=1)
# Anything but loopback would go to a dead proxy: the fetch server can't reach the internet.
# PATH holds only this Python: with Node.js on PATH, the server's HTML simplifier runs
# `npm install` (from the internet) on first use.
NO_INTERNET = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "ALL_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1",
    "PATH": os.path.dirname(sys.executable),
}


async def test_mcp_time_server_converts_a_time() -> None:
    config = McpServerConfig(
        "time", command=(sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC")
    )
    async with McpManager([config], timing=FAST, startup_wait_s=60) as manager:
        assert {"time__get_current_time", "time__convert_time"} <= set(manager.tools())
        convert = manager.tools()["time__convert_time"]
        text = await convert.handler(
            CTX, source_timezone="UTC", time="12:00", target_timezone="Asia/Tokyo"
        )

    result = json.loads(text)
    assert result["source"]["timezone"] == "UTC"
    assert result["target"]["datetime"].split("T")[1].startswith("21:00")
    assert children("mcp_server_time") == []


async def test_mcp_fetch_server_reads_a_loopback_page(server: LocalServer) -> None:
    config = McpServerConfig(
        "fetch",
        command=(
            sys.executable,
            "-m",
            "mcp_server_fetch",
            "--ignore-robots-txt",  # no robots.txt request at all
            "--allow-private-ips",  # the page is on 127.0.0.1
        ),
        env=NO_INTERNET,
    )
    async with McpManager([config], timing=FAST, startup_wait_s=60) as manager:
        info = manager.tool_info("fetch__fetch")
        assert info is not None and info.read_only and not info.needs_approval
        text = await manager.tools()["fetch__fetch"].handler(CTX, url=server.url("/html"))

    assert text.startswith(f"Contents of {server.url('/html')}:")
    assert "First paragraph with" in text and "hidden" not in text
    assert "Heading" in PAGE
    assert children("mcp_server_fetch") == []
