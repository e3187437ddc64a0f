"""The `web_search` tool: a query to SearXNG, Brave Search or Tavily, numbered results back.

`SearchConfig.from_settings(settings)` is None unless `SEARCH_PROVIDER` is set (the settings
validators already refuse a provider without its `SEARCH_URL` or `SEARCH_API_KEY`, with one
plain line at start-up). The APIs, each at its base URL (`SEARCH_URL` when set):

    searxng  GET  {base}/search?q=…&format=json              (the instance must allow json)
    brave    GET  {base}/res/v1/web/search?q=…&count=N       X-Subscription-Token: KEY
    tavily   POST {base}/search {"query": …, "max_results": N} Authorization: Bearer KEY

The result is at most `max_results` hits, each a title, a URL and a snippet on fixed lines:

    Web results for "query" (brave):
    [1] Title of the page
        https://example.com/page
        The snippet, on one line, cut at `snippet_chars`.

The model cites them as [1], [2]. `sources(result)` reads the (number, title, URL) of every
hit back from such a text, so whoever shows the answer can list its sources; it needs no
state, so it works as well on results stored in history.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp

from bot.llm.tools import Tool, ToolContext, ToolError
from bot.settings import Settings

SearchProvider = Literal["searxng", "brave", "tavily"]
DEFAULT_BASES: dict[SearchProvider, str] = {
    "brave": "https://api.search.brave.com",
    "tavily": "https://api.tavily.com",
}
MAX_QUERY = 400
MAX_TITLE = 200
MAX_URL = 500
MAX_BODY = 2_000_000
_TAG = re.compile(r"<[^>]+>")
_HIT = re.compile(r"^\[(\d+)\] (.+)\n {4}(https?://\S+)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class SearchConfig:
    provider: SearchProvider
    base_url: str
    api_key: str = field(default="", repr=False)
    max_results: int = 5
    snippet_chars: int = 300
    timeout_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SearchConfig | None:
        provider = settings.search_provider
        if provider is None:
            return None
        base = settings.search_url or DEFAULT_BASES.get(provider, "")
        return cls(provider, base.rstrip("/"), settings.search_api_key.get_secret_value())


@dataclass(frozen=True, slots=True)
class SearchHit:
    title: str
    url: str
    snippet: str


@dataclass(frozen=True, slots=True)
class Source:
    number: int
    title: str
    url: str


def sources(result: str) -> list[Source]:
    """The hits of a `web_search` result text, in order (empty for anything else)."""
    return [Source(int(n), title, url) for n, title, url in _HIT.findall(result)]


def citations(result: str) -> list[tuple[str, str]]:
    """(title, URL) of each hit a result names: the answer's footer lists them."""
    return [(source.title, source.url) for source in sources(result)]


def make_web_search_tool(
    session: aiohttp.ClientSession, config: SearchConfig, *, tool_timeout_s: float | None = None
) -> Tool:
    """Build `web_search` over `session` (never closed here; credentials go per request)."""

    async def web_search(ctx: ToolContext, query: str) -> str:
        if not isinstance(query, str) or not query.strip():
            raise ToolError("query must be a non-empty string")
        query = " ".join(query.split())[:MAX_QUERY]
        hits = await _search(session, config, query)
        return format_hits(query, config, hits)

    return Tool(
        name="web_search",
        description=(
            "Search the web. Returns up to "
            f"{config.max_results} results, each numbered with its title, URL and a snippet; "
            "cite them as [1], [2]. Use fetch_url (when available) to read a result in full."
        ),
        parameters={
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What to search for."},
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        handler=web_search,
        timeout_s=tool_timeout_s if tool_timeout_s is not None else config.timeout_s + 5,
        cite=citations,
        summarize=lambda arguments: str(arguments.get("query", ""))[:80],
    )


def format_hits(query: str, config: SearchConfig, hits: list[SearchHit]) -> str:
    head = f'Web results for "{query}" ({config.provider}):'
    if not hits:
        return f"{head}\nNo results."
    lines = [head]
    for number, hit in enumerate(hits, start=1):
        lines.append(f"[{number}] {hit.title}")
        lines.append(f"    {hit.url}")
        if hit.snippet:
            lines.append(f"    {hit.snippet}")
    return "\n".join(lines)


async def _search(
    session: aiohttp.ClientSession, config: SearchConfig, query: str
) -> list[SearchHit]:
    headers = {"Accept": "application/json"}
    body: dict[str, Any] | None = None
    if config.provider == "searxng":
        method, url = "GET", f"{config.base_url}/search"
        params: dict[str, str] = {"q": query, "format": "json"}
    elif config.provider == "brave":
        method, url = "GET", f"{config.base_url}/res/v1/web/search"
        params = {"q": query, "count": str(config.max_results)}
        headers["X-Subscription-Token"] = config.api_key
    else:
        method, url, params = "POST", f"{config.base_url}/search", {}
        body = {"query": query, "max_results": config.max_results, "search_depth": "basic"}
        headers["Authorization"] = f"Bearer {config.api_key}"
    timeout = aiohttp.ClientTimeout(total=config.timeout_s)
    try:
        async with session.request(
            method, url, params=params, json=body, headers=headers, timeout=timeout
        ) as response:
            _check_status(config.provider, response.status)
            raw = await response.content.read(MAX_BODY + 1)
    except TimeoutError:
        raise ToolError(f"the search did not answer within {config.timeout_s:g} s") from None
    except aiohttp.ClientError as exc:
        raise ToolError(f"the search service could not be reached ({type(exc).__name__})") from None
    if len(raw) > MAX_BODY:
        raise ToolError("the search service sent an oversized answer")
    try:
        document = json.loads(raw)
    except ValueError:
        raise ToolError("the search service did not answer with JSON") from None
    return _hits(config, document)


def _check_status(provider: SearchProvider, status: int) -> None:
    if status < 400:
        return
    if provider == "searxng" and status == 403:
        raise ToolError(
            "the SearXNG instance refuses JSON results (its operator must enable json "
            "under search.formats in settings.yml)"
        )
    if status in (401, 403, 422) and provider != "searxng":
        raise ToolError(f"the {provider} search API refused the key (HTTP {status})")
    if status in (429, 432, 433):
        raise ToolError(
            f"the {provider} search API is rate-limited or over its quota (HTTP {status})"
        )
    raise ToolError(f"the search failed (HTTP {status})")


def _hits(config: SearchConfig, document: object) -> list[SearchHit]:
    if not isinstance(document, Mapping):
        raise ToolError("the search service sent an unexpected answer")
    if config.provider == "brave":
        web = document.get("web")
        items = web.get("results") if isinstance(web, Mapping) else []
        snippet_key = "description"
    else:
        items = document.get("results")
        snippet_key = "content"
    if not isinstance(items, list):
        items = []
    hits: list[SearchHit] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, Mapping):
            continue
        url = item.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            continue
        url = url.strip()
        if len(url) > MAX_URL or any(c.isspace() for c in url) or url in seen:
            continue
        seen.add(url)
        title = _clean(item.get("title"), MAX_TITLE) or url
        snippet = _clean(item.get(snippet_key), config.snippet_chars)
        hits.append(SearchHit(title, url, snippet))
        if len(hits) >= config.max_results:
            break
    return hits


def _clean(value: object, limit: int) -> str:
    """One line of plain text: tags removed (Brave marks matches with <strong>), entities
    decoded, whitespace collapsed, cut at `limit` with an ellipsis."""
    if not isinstance(value, str):
        return ""
    text = " ".join(html.unescape(_TAG.sub("", value)).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
