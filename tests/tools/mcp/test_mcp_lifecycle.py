"""MCP servers starting, failing, crashing, hanging, changing their tools and shutting down."""

from __future__ import annotations

import pytest

from bot.llm.tools import ToolContext, ToolError
from bot.tools.mcp import McpServerConfig
from bot.tools.mcp.manager import McpManager
from tests.polling import wait_until
from tests.tools.mcp.conftest import FAST, children, fake_server

CTX = ToolContext(conversation_id=1)


def states(manager: McpManager) -> dict[str, str]:
    return {status.name: status.state for status in manager.status()}


async def test_mcp_slow_server_does_not_hold_up_the_others() -> None:
    slow = fake_server("slow", "--delay-start", "600")
    manager = McpManager([slow, fake_server("fast")], timing=FAST, startup_wait_s=0.5)
    seen: list[dict[str, str]] = []
    manager.add_listener(lambda: seen.append(states(manager)))
    try:
        await manager.start()
        # start() is bounded: it returned while the slow server was still starting.
        assert states(manager)["slow"] == "starting"
        await wait_until(lambda: states(manager)["fast"] == "ready")

        assert seen[0] == {"slow": "starting", "fast": "ready"}
        assert "fast__echo" in manager.tools() and not any(
            n.startswith("slow") for n in manager.tools()
        )
        assert await manager.tools()["fast__echo"].handler(CTX, text="hi") == "hi"
    finally:
        await manager.stop()  # stops the slow one mid-start too
    assert states(manager) == {"slow": "stopped", "fast": "stopped"}
    assert children() == []


async def test_mcp_missing_command_is_reported_and_retried() -> None:
    missing = McpServerConfig("ghost", command=("/nonexistent/mcp-ghost", "--stdio"))
    async with McpManager([missing], timing=FAST, startup_wait_s=30) as manager:
        await wait_until(lambda: manager.status()[0].restarts >= 2)
        (status,) = manager.status()

    assert status.state == "failed" and status.tool_count == 0
    assert status.last_error == "command not found: /nonexistent/mcp-ghost"
    assert status.line().startswith("ghost (stdio): failed, ")
    assert manager.tools() == {}


async def test_mcp_server_dying_at_start_reports_its_last_words() -> None:
    dies = fake_server("dies", "--exit-at-start", "3")
    async with McpManager([dies], timing=FAST, startup_wait_s=60) as manager:
        (status,) = manager.status()

    assert status.state == "failed"
    assert status.last_error == (
        "the server exited while starting — its last words: cannot start: configuration missing"
    )


async def test_mcp_crash_is_an_error_result_then_a_restart() -> None:
    async with McpManager([fake_server("test")], timing=FAST, startup_wait_s=60) as manager:
        first_pid = children()[0].pid
        with pytest.raises(ToolError, match="stopped during the call; it is being restarted"):
            await manager.tools()["test__crash"].handler(CTX)

        await wait_until(
            lambda: manager.status()[0].restarts == 1 and states(manager)["test"] == "ready"
        )
        (status,) = manager.status()
        assert status.last_error == "the server exited — its last words: crashing on purpose"
        assert await manager.tools()["test__echo"].handler(CTX, text="back") == "back"
        assert [child.pid for child in children()] != [first_pid]
    assert children() == []


async def test_mcp_calls_while_restarting_get_a_plain_error() -> None:
    async with McpManager([fake_server("test")], timing=FAST, startup_wait_s=60) as manager:
        echo = manager.tools()["test__echo"]
        with pytest.raises(ToolError):
            await manager.tools()["test__crash"].handler(CTX)
        await wait_until(lambda: states(manager)["test"] != "ready")

        # The tools stay offered while the server comes back; a call says what is going on.
        assert "test__echo" in manager.tools()
        with pytest.raises(ToolError, match=r"is restarting \(the server exited"):
            await echo.handler(CTX, text="too early")


async def test_mcp_frozen_server_is_restarted() -> None:
    frozen = fake_server("frozen", timeout_s=1.0)
    async with McpManager([frozen], timing=FAST, startup_wait_s=60) as manager:
        with pytest.raises(ToolError, match="did not answer within 1 s"):
            await manager.tools()["frozen__freeze"].handler(CTX)

        await wait_until(
            lambda: manager.status()[0].restarts == 1 and states(manager)["frozen"] == "ready"
        )
        assert manager.status()[0].last_error == "it stopped answering"
        assert await manager.tools()["frozen__echo"].handler(CTX, text="thawed") == "thawed"
    assert children() == []


@pytest.mark.parametrize("era", ["2026-07-28", "2025-11-25"])
async def test_mcp_list_changed_adds_the_new_tool(era: str) -> None:
    options = ("--legacy-only",) if era == "2025-11-25" else ()
    async with McpManager(
        [fake_server("live", *options)], timing=FAST, startup_wait_s=60
    ) as manager:
        assert manager.status()[0].protocol_version == era
        changes: list[int] = []
        manager.add_listener(lambda: changes.append(manager.version))
        assert "live__shiny" not in manager.tools()

        await manager.tools()["live__add_tool"].handler(CTX, name="shiny")

        await wait_until(lambda: "live__shiny" in manager.tools())
        assert changes
        assert await manager.tools()["live__shiny"].handler(CTX) == "shiny was added at run time"


async def test_mcp_env_reaches_the_stdio_server() -> None:
    server = fake_server("env", env={"SWITCHBOARD_TEST_VALUE": "from config"})
    async with McpManager([server], timing=FAST, startup_wait_s=60) as manager:
        env = manager.tools()["env__env"].handler
        assert await env(CTX, name="SWITCHBOARD_TEST_VALUE") == "from config"
        # Only a minimal environment is inherited: the bot's own secrets stay home.
        assert await env(CTX, name="DISCORD_TOKEN") == "<unset>"


async def test_mcp_stop_closes_every_session_and_child_process() -> None:
    servers = [fake_server(f"s{n}") for n in range(3)] + [fake_server("legacy", "--legacy-only")]
    manager = McpManager(servers, timing=FAST, startup_wait_s=120)
    await manager.start()
    assert set(states(manager).values()) == {"ready"}
    assert len(children()) == 4

    await manager.stop()

    assert set(states(manager).values()) == {"stopped"}
    assert children() == []  # none left running, none left as a zombie
