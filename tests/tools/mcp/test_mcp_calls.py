"""Calling tools of a running MCP server: results, errors, schemas, names and approval.

One manager (the tests' own server, plain and with odd schemas) serves the whole module."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.llm.tool_runs import MAX_TOOL_RESULT_CHARS
from bot.llm.tools import Tool, ToolContext, ToolError
from bot.tools.mcp.manager import ApprovalRequest, McpManager
from bot.tools.mcp.results import ToolOutput
from bot.tools.mcp.schemas import MAX_NAME, exposed_name
from tests.fakes.mcp_server import LONG_NAME, PIXEL_PNG
from tests.tools.mcp.conftest import FAST, fake_server

# One worker takes the whole module (tests/worker_groups.py): spread over several, each
# would start its own three servers, a second of CPU apiece.
pytestmark = pytest.mark.asyncio(loop_scope="module")
CTX = ToolContext(conversation_id=7, user_id=42)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def manager() -> AsyncIterator[McpManager]:
    servers = [
        fake_server("test"),
        fake_server("odd", "--odd-schemas"),
        fake_server("short", timeout_s=1.0),
    ]
    async with McpManager(servers, timing=FAST, startup_wait_s=120) as manager:
        yield manager


def tool(manager: McpManager, name: str) -> Tool:
    return manager.tools()[name]


async def call(manager: McpManager, name: str, **arguments: object) -> str:
    return await tool(manager, name).handler(CTX, **arguments)


async def test_mcp_tools_are_named_server__tool(manager: McpManager) -> None:
    names = set(manager.tools())

    assert {"test__echo", "test__add", "test__image", "odd__echo"} <= names
    assert all(len(name) <= MAX_NAME for name in names)
    assert [s.state for s in manager.status()] == ["ready", "ready", "ready"]
    echo = tool(manager, "test__echo")
    assert echo.description == "Returns its text."
    assert echo.parameters["required"] == ["text"]
    assert echo.timeout_s == 20.0 + 5  # the default call timeout plus a margin
    assert tool(manager, "short__echo").timeout_s == 1.0 + 5  # the server's own


async def test_mcp_call_returns_the_text(manager: McpManager) -> None:
    assert await call(manager, "test__echo", text="héllo") == "héllo"
    assert await call(manager, "test__add", a=2, b=40) == "42"
    assert await call(manager, "test__noop") == "(no output)"


async def test_mcp_image_result_is_kept_as_an_image_part(manager: McpManager) -> None:
    output = await call(manager, "test__image")

    assert isinstance(output, ToolOutput)
    assert output.startswith("a red pixel\n[image 1: image/png")
    assert "image/png, 1x1, 1 KB]" in output
    (image,) = output.images
    assert image.mime == "image/png" and base64.b64decode(image.data_b64) == PIXEL_PNG
    assert image.name == "test__image image 1" and image.tokens > 0
    assert image.data_url.startswith("data:image/png;base64,iVBOR")


async def test_mcp_is_error_result_is_a_tool_error_with_its_text(manager: McpManager) -> None:
    with pytest.raises(ToolError, match="boom: the disk is full"):
        await call(manager, "test__fail", message="boom: the disk is full")


async def test_mcp_arguments_failing_the_schema_return_the_error(manager: McpManager) -> None:
    with pytest.raises(ToolError) as caught:
        await call(manager, "test__add", a="two", b=2)
    assert str(caught.value) == (
        "the arguments do not match test__add's input schema: a: 'two' is not of type 'integer'"
    )
    with pytest.raises(ToolError, match="'text' is a required property"):
        await call(manager, "test__echo")


async def test_mcp_big_result_is_cut_once_with_a_note(manager: McpManager) -> None:
    output = await call(manager, "test__big")

    assert len(output) <= MAX_TOOL_RESULT_CHARS  # the loop will not cut it again
    assert output.endswith(
        "[output cut: the tool returned 10,000,000 characters of text; "
        f"the first {MAX_TOOL_RESULT_CHARS - 1000:,} are shown]"
    )
    assert output.startswith("0123456789abcdef")


async def test_mcp_hanging_tool_times_out_and_the_server_stays(manager: McpManager) -> None:
    with pytest.raises(ToolError, match="hang on the MCP server short did not answer within 1 s"):
        await call(manager, "short__hang")

    # The health probe finds the server answering: no restart.
    assert await call(manager, "short__echo", text="still here") == "still here"
    assert manager.status()[2].restarts == 0 and manager.status()[2].state == "ready"


async def test_mcp_schema_without_type_is_adapted(manager: McpManager) -> None:
    no_type = tool(manager, "odd__no_type")

    assert no_type.parameters == {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
    }
    assert await no_type.handler(CTX, text="fine") == "fine"


async def test_mcp_unusable_schema_skips_only_that_tool(manager: McpManager) -> None:
    odd = manager.status()[1]

    assert "odd__array_schema" not in manager.tools()
    assert odd.skipped_tools == (
        "array_schema: its input schema has type 'array'; tools take an object",
    )
    assert odd.line().startswith("odd (stdio): ready, ") and "1 skipped" in odd.line()


async def test_mcp_top_level_one_of_is_dropped_but_still_checked(manager: McpManager) -> None:
    one_of = tool(manager, "odd__one_of_top")

    assert "oneOf" not in one_of.parameters
    assert await one_of.handler(CTX, a="x") == "x"
    with pytest.raises(ToolError, match="is valid under each of"):
        await one_of.handler(CTX, a="x", b="y")


async def test_mcp_long_and_dotted_names_are_made_safe_and_stable(manager: McpManager) -> None:
    long_name = exposed_name("odd", LONG_NAME)

    assert len(long_name) == MAX_NAME and long_name == exposed_name("odd", LONG_NAME)
    assert long_name in manager.tools() and "odd__dotted_name" in manager.tools()
    assert await call(manager, long_name) == "long"
    info = manager.tool_info(long_name)
    assert info is not None and info.remote_name == LONG_NAME and info.server == "odd"


async def test_mcp_destructive_tool_needs_approval(manager: McpManager) -> None:
    info = manager.tool_info("test__delete_everything")

    assert info is not None and info.destructive and info.needs_approval
    assert manager.needs_approval("test__delete_everything")
    assert not manager.needs_approval("test__echo") and not manager.needs_approval("nope")
    assert tool(manager, "test__delete_everything").timeout_s == 20.0 + 5 + 600


async def test_mcp_approval_is_asked_and_honoured(manager: McpManager) -> None:
    asked: list[ApprovalRequest] = []
    answer = True

    async def approve(request: ApprovalRequest) -> bool:
        asked.append(request)
        return answer

    try:
        with pytest.raises(ToolError, match="can't be asked here"):
            await call(manager, "test__delete_everything")
        manager.set_approver(approve)
        assert await call(manager, "test__delete_everything") == "deleted nothing"
        answer = False
        with pytest.raises(ToolError, match="a member declined"):
            await call(manager, "test__delete_everything")
        assert await call(manager, "test__echo", text="no approval needed") == "no approval needed"
    finally:
        manager.set_approver(None)

    assert len(asked) == 2
    assert asked[0].tool.remote_name == "delete_everything"
    assert asked[0].context.user_id == 42 and dict(asked[0].arguments) == {}


async def test_mcp_summarize_labels_the_call(manager: McpManager) -> None:
    echo = tool(manager, "test__echo")

    assert echo.summarize is not None
    assert echo.summarize({"text": "  hello\n  world "}) == "hello world"
    assert echo.summarize({"a": 1, "b": 2}) == '{"a": 1, "b": 2}'
    assert len(echo.summarize({"text": "x" * 500})) == 80


async def test_mcp_concurrent_calls_each_get_their_own_answer(manager: McpManager) -> None:
    texts = [f"call {n}" for n in range(20)]

    answers = await asyncio.gather(*(call(manager, "test__echo", text=t) for t in texts))

    assert answers == texts


async def test_mcp_cancelled_call_leaves_the_server_ready(manager: McpManager) -> None:
    hanging = asyncio.create_task(call(manager, "test__hang"))
    await asyncio.sleep(0.2)  # let the request reach the server

    hanging.cancel()
    with pytest.raises(asyncio.CancelledError):
        await hanging

    assert await call(manager, "test__echo", text="after a stop") == "after a stop"
    assert manager.status()[0].state == "ready" and manager.status()[0].restarts == 0
