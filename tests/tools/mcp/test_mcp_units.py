"""The MCP client's pure parts: names, schemas, listing repair, results, stderr, status."""

from __future__ import annotations

import base64
import tracemalloc

import pytest
from mcp.types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from bot.tools.mcp import McpServerConfig, McpServerStatus
from bot.tools.mcp.results import MAX_IMAGES, render_result
from bot.tools.mcp.schemas import (
    MAX_NAME,
    SchemaProblem,
    adapt_schema,
    argument_problem,
    compile_validator,
    exposed_name,
    repair_listing,
)
from bot.tools.mcp.stderr import MAX_LINE, StderrTail
from tests.fakes.mcp_server import PIXEL_PNG

PNG = base64.b64encode(PIXEL_PNG).decode()


def test_mcp_names_join_server_and_tool() -> None:
    assert exposed_name("time", "get_current_time") == "time__get_current_time"
    assert exposed_name("files", "read.file/v2") == "files__read_file_v2"


def test_mcp_names_too_long_or_taken_get_a_stable_hash() -> None:
    long = exposed_name("server", "t" * 100)
    assert len(long) == MAX_NAME and long == exposed_name("server", "t" * 100)
    assert long != exposed_name("server", "t" * 99 + "u")
    taken = exposed_name("files", "read.file", taken={"files__read_file"})
    assert taken.startswith("files__read_file_") and len(taken) == len("files__read_file") + 9
    assert taken != exposed_name("files", "read_file", taken={"files__read_file"})


def test_mcp_schema_gets_what_providers_require() -> None:
    original = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "anyOf": [{"required": ["a"]}],
        "required": [],
    }

    adapted = adapt_schema(original)

    assert adapted == {"type": "object", "properties": {}, "required": []}
    assert "$schema" in original  # the server's copy is left alone


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        ({"type": "array"}, "has type 'array'"),
        ("{}", "not a JSON object"),
        ({"type": "object", "properties": []}, "properties are not an object"),
        ({"type": "object", "required": "a"}, "required is not a list"),
        ({"type": "object", "properties": {f"p{n}": {} for n in range(9000)}}, "too large"),
    ],
)
def test_mcp_schema_that_cannot_be_offered_says_why(schema: object, why: str) -> None:
    with pytest.raises(SchemaProblem, match=why):
        adapt_schema(schema)


def test_mcp_validator_uses_the_declared_draft_and_reports_one_line() -> None:
    draft7 = compile_validator(
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "properties": {"n": {"type": "integer", "exclusiveMinimum": 0}},
        }
    )
    assert argument_problem(draft7, {"n": 1}) is None
    assert argument_problem(draft7, {"n": 0}) == "n: 0 is less than or equal to the minimum of 0"
    with pytest.raises(SchemaProblem, match="invalid"):
        compile_validator({"type": "object", "properties": {"n": {"type": "integr"}}})


def test_mcp_listing_repair_fixes_or_marks_tools() -> None:
    listing = {
        "tools": [
            {"name": "fine", "inputSchema": {"type": "object"}},
            {"name": "untyped", "inputSchema": {"properties": {"a": {"type": "string"}}}},
            {"name": "array", "inputSchema": {"type": "array"}},
            {"name": "broken", "inputSchema": "nope"},
            {"name": "props", "inputSchema": {"type": "object", "properties": [1]}},
            "not a tool",
        ]
    }
    unusable: dict[str, str] = {}

    repair_listing(listing, unusable)

    schemas = [tool["inputSchema"] for tool in listing["tools"][:5]]  # type: ignore[index]
    assert schemas[0] == {"type": "object"}
    assert schemas[1] == {"properties": {"a": {"type": "string"}}, "type": "object"}
    assert schemas[2:] == [{"type": "object"}] * 3
    assert set(unusable) == {"array", "broken", "props"}
    repair_listing({"content": []}, unusable)  # other results pass untouched


def test_mcp_result_blocks_become_text_and_images() -> None:
    result = CallToolResult(
        content=[
            TextContent(type="text", text="first"),
            ImageContent(type="image", data=PNG, mime_type="image/png"),
            AudioContent(type="audio", data="AAAA", mime_type="audio/wav"),
            ResourceLink(type="resource_link", uri="file:///a.txt", name="a.txt"),
            EmbeddedResource(
                type="resource",
                resource=TextResourceContents(uri="file:///b.txt", text="embedded text"),
            ),
            EmbeddedResource(
                type="resource",
                resource=BlobResourceContents(uri="file:///c.bin", blob="AAAA"),
            ),
        ]
    )

    output = render_result(result, max_chars=1000)

    assert output.splitlines() == [
        "first",
        "[image 1: image/png, 1x1, 1 KB]",
        "[audio (audio/wav) omitted: audio results are not supported]",
        "[resource link: file:///a.txt (a.txt)]",
        "embedded text",
        "[embedded resource file:///c.bin (binary) omitted]",
    ]
    assert [image.data_b64 for image in output.images] == [PNG]


def test_mcp_result_keeps_only_images_a_provider_would_read() -> None:
    broken = ImageContent(
        type="image", data=base64.b64encode(b"not a png").decode(), mime_type="image/png"
    )
    tiff = ImageContent(type="image", data=PNG, mime_type="image/tiff")
    good = ImageContent(type="image", data=PNG, mime_type="image/png")
    output = render_result(
        CallToolResult(content=[broken, tiff, good]), max_chars=100, source="s__t"
    )

    assert output.splitlines() == [
        "[image (image/png) omitted: not a readable image]",
        "[image (image/tiff) omitted: models read PNG, JPEG, GIF and WebP only]",
        "[image 1: image/png, 1x1, 1 KB]",
    ]
    (image,) = output.images
    assert (image.name, image.mime, image.data_b64) == ("s__t image 1", "image/png", PNG)


def test_mcp_result_keeps_a_bounded_number_of_images() -> None:
    image = ImageContent(type="image", data=PNG, mime_type="image/png")
    output = render_result(CallToolResult(content=[image] * (MAX_IMAGES + 2)), max_chars=100)

    assert len(output.images) == MAX_IMAGES
    assert output.count("omitted: more than") == 2


def test_mcp_result_structured_only_is_shown_as_json() -> None:
    result = CallToolResult(content=[], structured_content={"temperature": 21.5})
    assert render_result(result, max_chars=100) == '{"temperature": 21.5}'
    assert render_result(CallToolResult(content=[]), max_chars=100) == "(no output)"


def test_mcp_result_cut_counts_every_block() -> None:
    result = CallToolResult(
        content=[TextContent(type="text", text="a" * 60), TextContent(type="text", text="b" * 60)]
    )

    output = render_result(result, max_chars=100)

    assert output == "a" * 60 + "\n" + "b" * 40 + (
        "\n[output cut: the tool returned 120 characters of text; the first 100 are shown]"
    )


def test_mcp_render_does_not_copy_a_big_text() -> None:
    result = CallToolResult(content=[TextContent(type="text", text="x" * 10_000_000)])

    tracemalloc.start()
    try:
        output = render_result(result, max_chars=19_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(output) < 19_200
    assert peak < 1_000_000  # only what is kept was copied: never the 10 MB again


def test_mcp_stderr_keeps_the_last_lines() -> None:
    tail = StderrTail("s", keep=2)
    tail.feed(b"one\ntw")
    tail.feed(b"o\n\xff three")
    assert list(tail.lines) == ["one", "two"]
    tail.feed(b"\n" + b"y" * (MAX_LINE * 3) + b"\n")
    assert tail.last_line() == "y" * MAX_LINE
    assert tail.lines[0] == "\ufffd three"


def test_mcp_status_line_says_what_matters() -> None:
    ready = McpServerStatus("time", "stdio", "ready", None, 2, 0)
    failed = McpServerStatus("web", "http", "failed", "can't reach x", 0, 3, ("a: why",))

    assert ready.line() == "time (stdio): ready, 2 tools"
    assert failed.line() == "web (http): failed, 1 skipped, 3 restarts — can't reach x"


def test_mcp_config_needs_exactly_one_way_to_reach_the_server() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        McpServerConfig("x", command=("a",), url="http://h/mcp")
    with pytest.raises(ValueError, match="exactly one"):
        McpServerConfig("x")
    with pytest.raises(ValueError, match="invalid MCP server name"):
        McpServerConfig("a__b", command=("a",))
