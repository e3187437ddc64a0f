"""Sources cited by a provider's own web search, per protocol: the real client against each
strict fake streams them as `SourcesCited` (each URL once, only web links), the model's
`params` add the provider's tool beside ours, and nothing cited ever goes back."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bot.llm.citations import (
    CITED_SOURCES,
    CitedSources,
    anthropic_citation,
    stored_sources,
    url_citations,
)
from bot.llm.protocols.anthropic import AnthropicProtocol
from bot.llm.protocols.base import CallOptions, merge_params
from bot.llm.protocols.responses import ResponsesProtocol
from bot.llm.types import (
    ChatMessage,
    ChatRequest,
    SourcesCited,
    StreamEvent,
    TextDelta,
    ToolSpec,
)
from tests.fakes.anthropic_scripts import anthropic_reply, text, web_search
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.llm_scripts import cited_reply
from tests.fakes.llm_server import FakeLLMServer, validate_chat_request
from tests.fakes.responses_scripts import responses_text
from tests.fakes.responses_server import FakeResponsesServer
from tests.llm.conftest import client_maker

HITS = [
    ("Python 3.13 released", "https://python.example/3.13"),
    ("What's new", "https://docs.example/whatsnew"),
]
ECHO = ToolSpec("echo", "Echoes.", {"type": "object", "properties": {}})


def cited(events: list[StreamEvent]) -> list[tuple[str, str]]:
    return [source for e in events if isinstance(e, SourcesCited) for source in e.sources]


def request(model: str) -> ChatRequest:
    return ChatRequest(model, [ChatMessage("user", "latest python?")], tools=[ECHO])


async def test_chat_completions_url_citations_from_openrouters_web_plugin(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeLLMServer() as llm:
        llm.enqueue(cited_reply("Python 3.13 is out.", [*HITS, HITS[0]]))
        client = client_maker(http, llm.base_url, seed=1)()
        options = CallOptions(params={"plugins": [{"id": "web", "max_results": 3}]})
        events = [e async for e in client.stream(request("fake-model"), options)]
    assert cited(events) == HITS  # the repeated URL once
    body = llm.chat_requests[0].json
    assert body["plugins"] == [{"id": "web", "max_results": 3}]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Python 3.13 is out."


async def test_responses_url_citation_annotations_with_the_hosted_web_search_tool(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeResponsesServer() as server:
        server.enqueue(responses_text("Python 3.13 is out.", searched="python", cites=HITS))
        client = client_maker(http, server.base_url, seed=1, protocol=ResponsesProtocol())()
        options = CallOptions(params={"tools": [{"type": "web_search"}]})
        events = [e async for e in client.stream(request("gpt-4.1-mini"), options)]
    assert cited(events) == HITS  # the annotation events and the final item agree: once each
    tools = server.responses_requests[0].json["tools"]
    assert [t["type"] for t in tools] == ["function", "web_search"]  # joined, not replaced
    assert server.responses_requests[0].rejected is None


async def test_anthropic_server_web_search_results_and_citations(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeAnthropicServer() as server:
        blocks = [*web_search("python", HITS), text("Python 3.13 is out.", cites=HITS[:1])]
        server.enqueue(anthropic_reply(blocks))
        client = client_maker(
            http, server.base_url, seed=1, api_key="sk-ant", protocol=AnthropicProtocol()
        )()
        tool = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
        options = CallOptions(params={"tools": [tool]})
        events = [e async for e in client.stream(request("claude-sonnet-4-5"), options)]
    assert cited(events) == HITS  # the results first, the citation of one of them not again
    sent = server.messages_requests[0]
    assert sent.rejected is None
    assert [t["name"] for t in sent.json["tools"]] == ["echo", "web_search"]


def test_citations_keep_web_links_only_and_each_url_once() -> None:
    annotations: list[Any] = [
        {"type": "url_citation", "url_citation": {"url": "https://a.example", "title": "A"}},
        {"type": "url_citation", "url": "https://b.example"},  # flat (Responses), no title
        {"type": "url_citation", "url_citation": {"url": "javascript:alert(1)", "title": "x"}},
        {"type": "file_citation", "file_id": "file-1"},
        "garbage",
    ]
    found = url_citations(annotations)
    assert found == [("A", "https://a.example"), ("", "https://b.example")]
    assert anthropic_citation({"type": "char_location", "document_index": 0}) == []
    seen = CitedSources()
    assert seen.take(found) == SourcesCited(tuple(found))
    assert seen.take([("A again", "https://a.example")]) is None


def test_stored_sources_read_back_and_a_strict_provider_refuses_them_on_a_message() -> None:
    data = {"reasoning_content": "x", CITED_SOURCES: [list(HITS[0]), ["t", "ftp://x"], "bad"]}
    assert stored_sources(data) == [HITS[0]]
    message = {"role": "assistant", "content": "hi", CITED_SOURCES: [list(HITS[0])]}
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "q"}, message]}
    assert "cited_sources" in (validate_chat_request(body) or "")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"tools": [{"type": "web_search"}]}, ["echo", "web_search"]),
        ({"tool_choice": "auto"}, ["echo"]),
    ],
)
def test_params_tools_join_the_answers_tools(params: dict[str, Any], expected: list[str]) -> None:
    body = {"tools": [{"type": "function", "name": "echo"}]}
    merged = merge_params(body, params)
    assert [t.get("name", t["type"]) for t in merged["tools"]] == expected
