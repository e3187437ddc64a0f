"""The bot's tool loop calls an MCP tool end to end: the real LLMClient against the strict
fake endpoint, the tests' own MCP server over stdio."""

from __future__ import annotations

from bot.llm.client import LLMClient
from bot.llm.types import LoopDone, ToolFinished
from bot.tools.mcp.manager import McpManager
from tests.fakes.llm_scripts import text_reply, tool_call_reply
from tests.fakes.llm_server import FakeLLMServer
from tests.loop.conftest import client, llm, run  # noqa: F401 (fixtures)
from tests.tools.mcp.conftest import FAST, fake_server


async def test_mcp_tool_through_the_tool_loop(llm: FakeLLMServer, client: LLMClient) -> None:  # noqa: F811
    llm.enqueue(
        tool_call_reply([("files__echo", {"text": "ping"}), ("files__add", {"a": "x", "b": 1})]),
        text_reply("pong"),
    )
    async with McpManager([fake_server("files")], timing=FAST, startup_wait_s=60) as manager:
        events = await run(client, list(manager.tools().values()))

    finished = {e.call.name: e for e in events if isinstance(e, ToolFinished)}
    assert (finished["files__echo"].result, finished["files__echo"].status) == ("ping", "ok")
    assert finished["files__add"].status == "error"
    assert "input schema: a: 'x' is not of type 'integer'" in finished["files__add"].result
    assert isinstance(events[-1], LoopDone) and events[-1].text == "pong"

    first, second = llm.chat_requests
    offered = {t["function"]["name"]: t["function"] for t in first.json["tools"]}
    assert offered["files__echo"]["parameters"]["properties"] == {
        "text": {"title": "Text", "type": "string"}
    }
    tool_results = [m["content"] for m in second.json["messages"] if m["role"] == "tool"]
    assert tool_results[0] == "ping"
