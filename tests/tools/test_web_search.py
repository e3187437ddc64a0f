"""web_search against fake SearXNG, Brave and Tavily APIs on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from pydantic import ValidationError

from bot.llm.tools import Tool, ToolContext, ToolError
from bot.settings import Settings, describe_errors
from bot.tools import new_fetch_session
from bot.tools.web_search import SearchConfig, make_web_search_tool, sources
from tests.fakes.search_servers import FakeSearchServer

CTX = ToolContext(conversation_id=1)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with new_fetch_session() as session:
        yield session


def settings(**values: object) -> Settings:
    return Settings(discord_token="t" * 30, llm_model="m", **values)  # type: ignore[arg-type]


def tool_for(http: aiohttp.ClientSession, server: FakeSearchServer, **extra: object) -> Tool:
    config = SearchConfig(
        server.provider,
        server.base_url,
        server.api_key or "",
        **extra,  # type: ignore[arg-type]
    )
    return make_web_search_tool(http, config)


async def test_web_search_searxng_numbers_hits_with_urls(http: aiohttp.ClientSession) -> None:
    async with FakeSearchServer("searxng") as searx:
        text = await tool_for(http, searx).handler(CTX, query="python asyncio")

    assert searx.requests[0].query == {"q": "python asyncio", "format": "json"}
    lines = text.splitlines()
    assert lines[0] == 'Web results for "python asyncio" (searxng):'
    assert lines[1] == "[1] python asyncio — result 1"
    assert lines[2] == "    https://example.org/python-asyncio/1"
    assert lines[3].startswith("    All about python asyncio, part 1.")


async def test_web_search_brave_sends_key_and_strips_markup(http: aiohttp.ClientSession) -> None:
    hits = [{"title": "Traits", "url": "https://doc.example/traits", "snippet": "rust traits"}]
    async with FakeSearchServer("brave", api_key="brave-key", hits=hits) as brave:
        text = await tool_for(http, brave).handler(CTX, query="rust traits")

    request = brave.requests[0]
    assert request.path == "/res/v1/web/search"
    assert request.headers["X-Subscription-Token"] == "brave-key"
    assert request.query == {"q": "rust traits", "count": "5"}
    assert "<strong>" not in text and "&amp;" not in text
    assert text.splitlines()[3] == "    rust traits & more"


async def test_web_search_tavily_posts_query_with_bearer_key(http: aiohttp.ClientSession) -> None:
    async with FakeSearchServer("tavily", api_key="tvly-key") as tavily:
        text = await tool_for(http, tavily).handler(CTX, query="  sqlite \n wal  ")

    request = tavily.requests[0]
    assert request.method == "POST"
    assert request.headers["Authorization"] == "Bearer tvly-key"
    assert request.body == {"query": "sqlite wal", "max_results": 5, "search_depth": "basic"}
    assert [s.url for s in sources(text)][:2] == [
        "https://example.org/sqlite-wal/1",
        "https://example.org/sqlite-wal/2",
    ]


async def test_web_search_bounds_count_and_snippet_length(http: aiohttp.ClientSession) -> None:
    async with FakeSearchServer("searxng") as searx:
        tool = tool_for(http, searx, max_results=3, snippet_chars=60)
        text = await tool.handler(CTX, query="long")

    found = sources(text)
    assert [s.number for s in found] == [1, 2, 3]
    snippets = [line for line in text.splitlines() if line.startswith("    All about")]
    assert len(snippets) == 3
    assert all(len(s.strip()) <= 60 and s.endswith("…") for s in snippets)


async def test_web_search_sources_reads_titles_and_urls_back(http: aiohttp.ClientSession) -> None:
    hits = [
        {"title": "First <b>page</b>", "url": "https://a.example/1", "snippet": "one"},
        {"title": "No snippet", "url": "https://b.example/2", "snippet": ""},
    ]
    async with FakeSearchServer("searxng", hits=hits) as searx:
        text = await tool_for(http, searx).handler(CTX, query="q")

    assert [(s.number, s.title, s.url) for s in sources(text)] == [
        (1, "First page", "https://a.example/1"),
        (2, "No snippet", "https://b.example/2"),
    ]
    assert sources("an answer of another tool\n[1] x") == []


async def test_web_search_skips_unusable_and_duplicate_urls(http: aiohttp.ClientSession) -> None:
    hits = [
        {"title": "script", "url": "javascript:alert(1)", "snippet": ""},
        {"title": "good", "url": "https://ok.example/", "snippet": ""},
        {"title": "again", "url": "https://ok.example/", "snippet": ""},
        {"title": "", "url": "https://untitled.example/", "snippet": ""},
    ]
    async with FakeSearchServer("searxng", hits=hits) as searx:
        text = await tool_for(http, searx).handler(CTX, query="q")

    assert [(s.title, s.url) for s in sources(text)] == [
        ("good", "https://ok.example/"),
        ("https://untitled.example/", "https://untitled.example/"),
    ]


async def test_web_search_no_results_says_so(http: aiohttp.ClientSession) -> None:
    async with FakeSearchServer("tavily", api_key="k", hits=[]) as tavily:
        text = await tool_for(http, tavily).handler(CTX, query="nothing")

    assert text.endswith("No results.")


async def test_web_search_searxng_without_json_explains(http: aiohttp.ClientSession) -> None:
    async with FakeSearchServer("searxng", json_enabled=False) as searx:
        with pytest.raises(ToolError, match=r"enable json under search\.formats"):
            await tool_for(http, searx).handler(CTX, query="q")


async def test_web_search_wrong_key_is_a_plain_error(http: aiohttp.ClientSession) -> None:
    async with (
        FakeSearchServer("brave", api_key="right") as brave,
        FakeSearchServer("tavily", api_key="right") as tavily,
    ):
        for server in (brave, tavily):
            config = SearchConfig(server.provider, server.base_url, "wrong")
            with pytest.raises(ToolError, match="refused the key"):
                await make_web_search_tool(http, config).handler(CTX, query="q")


async def test_web_search_rate_limit_is_a_plain_error(http: aiohttp.ClientSession) -> None:
    async with FakeSearchServer("brave", api_key="k", status=429) as brave:
        with pytest.raises(ToolError, match="rate-limited"):
            await tool_for(http, brave).handler(CTX, query="q")


async def test_web_search_unreachable_service_is_a_plain_error(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeSearchServer("searxng") as searx:
        base = searx.base_url  # closed below: nothing listens there any more
    config = SearchConfig("searxng", base)
    with pytest.raises(ToolError, match="could not be reached"):
        await make_web_search_tool(http, config).handler(CTX, query="q")


async def test_web_search_refuses_an_empty_query(http: aiohttp.ClientSession) -> None:
    tool = make_web_search_tool(http, SearchConfig("searxng", "http://127.0.0.1:9"))
    with pytest.raises(ToolError, match="non-empty"):
        await tool.handler(CTX, query="   ")
    assert tool.summarize is not None and tool.summarize({"query": "cats"}) == "cats"


def test_web_search_config_is_off_without_provider() -> None:
    assert SearchConfig.from_settings(settings()) is None


def test_web_search_config_uses_default_bases_or_search_url() -> None:
    brave = SearchConfig.from_settings(settings(search_provider="brave", search_api_key="k"))
    assert brave is not None and brave.base_url == "https://api.search.brave.com"
    assert brave.api_key == "k" and "k" not in repr(brave)
    tavily = SearchConfig.from_settings(
        settings(search_provider="tavily", search_api_key="k", search_url="http://127.0.0.1:1/")
    )
    assert tavily is not None and tavily.base_url == "http://127.0.0.1:1"
    searx = SearchConfig.from_settings(
        settings(search_provider="searxng", search_url="http://localhost:8888")
    )
    assert searx is not None and (searx.provider, searx.api_key) == ("searxng", "")


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ({"search_provider": "searxng"}, "SEARCH_URL is invalid: is required when"),
        ({"search_provider": "brave"}, "SEARCH_API_KEY is invalid: is required when"),
        ({"search_provider": "tavily", "search_api_key": " "}, "SEARCH_API_KEY is invalid"),
        ({"search_url": "http://localhost:8888"}, "SEARCH_URL is invalid: is set but"),
        ({"search_provider": "bing"}, "SEARCH_PROVIDER is invalid"),
        ({"search_provider": "searxng", "search_url": "localhost"}, "SEARCH_URL is invalid: must"),
    ],
)
def test_web_search_bad_settings_are_startup_lines(values: dict[str, object], line: str) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(**values)

    lines = describe_errors(caught.value)
    assert len(lines) == 1 and lines[0].startswith(line.split(":")[0])
    assert line in lines[0]


def test_web_search_empty_provider_from_env_file_means_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("SEARCH_PROVIDER=\nSEARCH_URL=\nSEARCH_API_KEY=\n")
    monkeypatch.chdir(tmp_path)

    assert settings().search_provider is None
