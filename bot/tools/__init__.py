"""Built-in tools the model may call, and the one place they are registered.

Each tool lives in its own module and builds on `bot.llm.tools.Tool`; `build_builtin_tools`
assembles them into the registry the tool loop receives. Channels enable tools by name
(`DEFAULT_ENABLED` when a channel has no explicit toggles: all but `fetch_url`).
"""

from __future__ import annotations

from collections.abc import Iterable

import aiohttp

from bot.llm.tools import ToolRegistry
from bot.tools.calculator import make_calculator_tool
from bot.tools.current_time import Clock, make_current_time_tool, system_clock
from bot.tools.fetch_url import Resolver, make_fetch_url_tool, new_fetch_session
from bot.tools.search_conversation import (
    ConversationSearch,
    SearchHitLike,
    make_search_conversation_tool,
)
from bot.tools.web_search import SearchConfig, make_web_search_tool

__all__ = [
    "BUILTIN_TOOL_NAMES",
    "DEFAULT_ENABLED",
    "ConversationSearch",
    "SearchConfig",
    "SearchHitLike",
    "build_builtin_tools",
    "new_fetch_session",
]

BUILTIN_TOOL_NAMES: tuple[str, ...] = (
    "calculator",
    "current_time",
    "search_conversation",
    "fetch_url",
    "web_search",
)
# fetch_url and web_search reach the internet on the model's say-so: channels opt in to them.
DEFAULT_ENABLED: frozenset[str] = frozenset(BUILTIN_TOOL_NAMES) - {"fetch_url", "web_search"}


def build_builtin_tools(
    *,
    http: aiohttp.ClientSession,
    search: ConversationSearch,
    fetch_allowlist: Iterable[str] = (),
    fetch_max_bytes: int = 1_000_000,
    fetch_timeout_s: float = 15.0,
    timeout_s: float = 20.0,
    fetch_resolver: Resolver | None = None,
    clock: Clock = system_clock,
    web_search: SearchConfig | None = None,
) -> ToolRegistry:
    """Every built-in tool, in `BUILTIN_TOOL_NAMES` order (`web_search` only when configured:
    pass `SearchConfig.from_settings(settings)`).

    `http` is used by `fetch_url` and `web_search` and must carry no credentials (see
    `new_fetch_session`; the search key goes with each search request only). `timeout_s` is
    the loop's per-call limit; `fetch_url` gets at least its own fetch timeout plus a margin,
    so its clearer timeout message wins.
    """
    tools = [
        make_calculator_tool(timeout_s=timeout_s),
        make_current_time_tool(clock, timeout_s=timeout_s),
        make_search_conversation_tool(search, timeout_s=timeout_s),
        make_fetch_url_tool(
            http,
            allowlist=fetch_allowlist,
            max_bytes=fetch_max_bytes,
            timeout_s=fetch_timeout_s,
            resolver=fetch_resolver,
            tool_timeout_s=max(timeout_s, fetch_timeout_s + 5),
        ),
    ]
    if web_search is not None:
        search_timeout_s = max(timeout_s, web_search.timeout_s + 5)
        tools.append(make_web_search_tool(http, web_search, tool_timeout_s=search_timeout_s))
    return ToolRegistry(tools)
