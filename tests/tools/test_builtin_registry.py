"""bot.tools: the one place built-in tools are registered."""

from __future__ import annotations

import json
from collections.abc import Sequence

import aiohttp
import pytest

from bot.tools import (
    BUILTIN_TOOL_NAMES,
    DEFAULT_ENABLED,
    SearchConfig,
    build_builtin_tools,
    new_fetch_session,
)
from bot.tools.search_conversation import SearchHitLike


class NoSearch:
    async def search(
        self, conversation_id: int, query: str, limit: int, before_message_id: int | None = None
    ) -> Sequence[SearchHitLike]:
        return []


SEARXNG = SearchConfig("searxng", "http://127.0.0.1:8888")


async def test_builtin_registry_has_every_tool_in_order() -> None:
    async with new_fetch_session() as http:
        registry = build_builtin_tools(http=http, search=NoSearch(), web_search=SEARXNG)
    assert tuple(registry) == BUILTIN_TOOL_NAMES
    assert BUILTIN_TOOL_NAMES == (
        "calculator",
        "current_time",
        "search_conversation",
        "fetch_url",
        "web_search",
    )


async def test_builtin_web_search_only_when_configured() -> None:
    async with new_fetch_session() as http:
        registry = build_builtin_tools(http=http, search=NoSearch())
        configured = build_builtin_tools(
            http=http, search=NoSearch(), web_search=SEARXNG, timeout_s=5
        )
    assert "web_search" not in registry
    assert tuple(registry) == BUILTIN_TOOL_NAMES[:-1]
    assert configured["web_search"].timeout_s == SEARXNG.timeout_s + 5


def test_builtin_default_enabled_is_all_but_the_internet_tools() -> None:
    assert frozenset(BUILTIN_TOOL_NAMES) - DEFAULT_ENABLED == {"fetch_url", "web_search"}
    assert frozenset(BUILTIN_TOOL_NAMES) >= DEFAULT_ENABLED


async def test_builtin_specs_are_valid_json_schemas_with_summaries() -> None:
    async with new_fetch_session() as http:
        registry = build_builtin_tools(http=http, search=NoSearch(), web_search=SEARXNG)
    for spec in registry.specs():
        assert spec.parameters["type"] == "object"
        assert set(spec.parameters["required"]) <= set(spec.parameters["properties"])
        assert spec.description and len(spec.description) < 1024
        json.dumps(spec.parameters)
    for tool in registry.values():
        assert tool.summarize is not None
        assert isinstance(tool.summarize({}), str)


async def test_builtin_timeouts_leave_fetch_its_own_timeout_first() -> None:
    async with new_fetch_session() as http:
        registry = build_builtin_tools(
            http=http, search=NoSearch(), fetch_timeout_s=30, timeout_s=10
        )
    assert registry["calculator"].timeout_s == 10
    assert registry["fetch_url"].timeout_s == 35


async def test_builtin_only_narrows_to_enabled_tools() -> None:
    async with new_fetch_session() as http:
        registry = build_builtin_tools(http=http, search=NoSearch()).only(DEFAULT_ENABLED)
    assert "fetch_url" not in registry and len(registry) == 3


async def test_builtin_refuses_bad_allowlist_entry() -> None:
    async with new_fetch_session() as http:
        with pytest.raises(ValueError):
            build_builtin_tools(http=http, search=NoSearch(), fetch_allowlist=("10.0.0.0/40",))


async def test_builtin_refuses_session_with_credentials() -> None:
    async with aiohttp.ClientSession(headers={"X-Api-Key": "k"}) as http:
        with pytest.raises(ValueError, match="X-Api-Key"):
            build_builtin_tools(http=http, search=NoSearch())
