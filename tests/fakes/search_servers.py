"""Fake SearXNG, Brave Search and Tavily APIs on 127.0.0.1, in each API's own JSON shapes.

    async with FakeSearchServer("brave", api_key="k") as brave:
        brave.base_url          # what SEARCH_URL points at
        brave.requests          # every request: method, path, query, headers, JSON body

Routes: SearXNG `GET /search?q=…&format=json` (403 unless `json_enabled`, like an instance
without `json` in search.formats); Brave `GET /res/v1/web/search?q=…&count=N` with
`X-Subscription-Token` (422 SUBSCRIPTION_TOKEN_INVALID otherwise); Tavily `POST /search`
with `Authorization: Bearer KEY` (401 otherwise) and a JSON body. `hits` replaces the
generated results (dicts with title, url, snippet); `status` forces an error status.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

Provider = Literal["searxng", "brave", "tavily"]


@dataclass
class SearchRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None


def generated_hits(query: str, count: int = 12) -> list[dict[str, str]]:
    slug = "-".join(query.lower().split()) or "empty"
    return [
        {
            "title": f"{query} — result {n}",
            "url": f"https://example.org/{slug}/{n}",
            "snippet": f"All about {query}, part {n}. " + "More words follow here. " * 20,
        }
        for n in range(1, count + 1)
    ]


@dataclass
class FakeSearchServer(LoopbackServer):
    provider: Provider
    api_key: str | None = None
    json_enabled: bool = True
    hits: list[dict[str, str]] | None = None
    status: int | None = None
    requests: list[SearchRequest] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _make_runner(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/search", self._searxng)
        app.router.add_get("/res/v1/web/search", self._brave)
        app.router.add_post("/search", self._tavily)
        return web.AppRunner(app, access_log=None, shutdown_timeout=0.5)

    async def _record(self, request: web.Request) -> SearchRequest:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        record = SearchRequest(
            request.method, request.path, dict(request.query), dict(request.headers), body
        )
        self.requests.append(record)
        return record

    def _hits(self, query: str) -> list[dict[str, str]]:
        return self.hits if self.hits is not None else generated_hits(query)

    # --- SearXNG --------------------------------------------------------------------------

    async def _searxng(self, request: web.Request) -> web.Response:
        record = await self._record(request)
        if self.provider != "searxng":
            return web.Response(status=404)
        if self.status is not None:
            return web.Response(status=self.status, text="error")
        if record.query.get("format") != "json":
            return web.Response(text="<html><body>results</body></html>", content_type="text/html")
        if not self.json_enabled:
            return web.Response(status=403, text="<h1>403 Forbidden</h1>", content_type="text/html")
        query = record.query.get("q", "")
        results = [
            {
                "url": hit["url"],
                "title": hit["title"],
                "content": hit["snippet"],
                "engine": "duckduckgo",
                "parsed_url": ["https", "example.org", "/", "", "", ""],
                "template": "default.html",
                "engines": ["duckduckgo", "brave"],
                "positions": [n, n + 1],
                "score": 2.0 / n,
                "category": "general",
                "publishedDate": None,
            }
            for n, hit in enumerate(self._hits(query), start=1)
        ]
        return web.json_response(
            {
                "query": query,
                "number_of_results": 0,
                "results": results,
                "answers": [],
                "corrections": [],
                "infoboxes": [],
                "suggestions": [f"{query} tutorial"],
                "unresponsive_engines": [["google", "timeout"]],
            }
        )

    # --- Brave ----------------------------------------------------------------------------

    async def _brave(self, request: web.Request) -> web.Response:
        record = await self._record(request)
        if self.provider != "brave":
            return web.Response(status=404)
        if self.status is not None:
            return web.json_response(_brave_error(self.status, "RATE_LIMITED"), status=self.status)
        if record.headers.get("X-Subscription-Token") != self.api_key:
            return web.json_response(_brave_error(422, "SUBSCRIPTION_TOKEN_INVALID"), status=422)
        count = int(record.query.get("count", "20"))
        if not 1 <= count <= 20:
            return web.json_response(_brave_error(422, "VALIDATION"), status=422)
        query = record.query.get("q", "")
        word = query.split()[0] if query.split() else ""
        results = [
            {
                "type": "search_result",
                "subtype": "generic",
                "title": hit["title"],
                "url": hit["url"],
                "is_source_local": False,
                "is_source_both": False,
                # Brave marks the matched words with <strong> and escapes entities.
                "description": hit["snippet"].replace(word, f"<strong>{word}</strong>", 1)
                + " &amp; more",
                "profile": {"name": "Example", "url": hit["url"], "long_name": "example.org"},
                "language": "en",
                "family_friendly": True,
                "meta_url": {"scheme": "https", "netloc": "example.org", "path": "/page"},
            }
            for hit in self._hits(query)[:count]
        ]
        return web.json_response(
            {
                "type": "search",
                "query": {"original": query, "more_results_available": True},
                "mixed": {"type": "mixed", "main": [], "top": [], "side": []},
                "web": {"type": "search", "results": results, "family_friendly": True},
            }
        )

    # --- Tavily ---------------------------------------------------------------------------

    async def _tavily(self, request: web.Request) -> web.Response:
        record = await self._record(request)
        if self.provider != "tavily":
            return web.Response(status=404)
        if self.status is not None:
            return web.json_response({"detail": {"error": "limit"}}, status=self.status)
        if record.headers.get("Authorization") != f"Bearer {self.api_key}":
            error = {"detail": {"error": "Unauthorized: missing or invalid API key."}}
            return web.json_response(error, status=401)
        body = record.body
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return web.json_response({"detail": {"error": "query is required"}}, status=400)
        max_results = body.get("max_results", 5)
        if not isinstance(max_results, int) or not 0 <= max_results <= 20:
            return web.json_response({"detail": {"error": "max_results"}}, status=400)
        results = [
            {
                "title": hit["title"],
                "url": hit["url"],
                "content": hit["snippet"],
                "score": 0.9 - n / 100,
                "raw_content": None,
            }
            for n, hit in enumerate(self._hits(body["query"])[:max_results])
        ]
        return web.json_response(
            {
                "query": body["query"],
                "follow_up_questions": None,
                "answer": None,
                "images": [],
                "results": results,
                "response_time": 0.42,
            }
        )


def _brave_error(status: int, code: str) -> dict[str, Any]:
    return {
        "type": "ErrorResponse",
        "error": {"id": "0000", "status": status, "code": code, "detail": code, "meta": {}},
        "time": 0,
    }
