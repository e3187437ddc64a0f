"""The `search_conversation` tool: full-text search over the current conversation's messages.

`bot.tools` may not import `bot.storage`, so the search backend is described structurally
(`ConversationSearch`, `SearchHitLike`): storage's `MessageRepository` and its `SearchHit`
fit these protocols without either side importing the other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.llm.tools import Tool, ToolContext, ToolError

DEFAULT_LIMIT = 8
MAX_QUERY_CHARS = 200
_MAX_SNIPPET_CHARS = 300


class SearchHitLike(Protocol):
    """Mirrors `bot.storage.models.SearchHit` (read-only, so frozen dataclasses fit)."""

    @property
    def message_id(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def author_name(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def snippet(self) -> str: ...


class ConversationSearch(Protocol):
    async def search(
        self, conversation_id: int, query: str, limit: int, before_message_id: int | None = None
    ) -> Sequence[SearchHitLike]: ...


def _who(hit: SearchHitLike) -> str:
    if hit.role == "assistant":
        return "assistant (you)"
    return hit.author_name or hit.role


def _when(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_hits(query: str, hits: Sequence[SearchHitLike]) -> str:
    """One line per hit: `[message id · time · who] snippet` (best match first)."""
    if not hits:
        return f'No earlier messages in this conversation match "{query}".'
    plural = "es" if len(hits) != 1 else ""
    lines = [f'{len(hits)} match{plural} for "{query}" in this conversation (best first):']
    for hit in hits:
        snippet = " ".join(hit.snippet.split())
        if len(snippet) > _MAX_SNIPPET_CHARS:
            snippet = snippet[: _MAX_SNIPPET_CHARS - 1] + "…"
        lines.append(f"[#{hit.message_id} · {_when(hit.created_at)} · {_who(hit)}] {snippet}")
    return "\n".join(lines)


def summarize_search(arguments: Mapping[str, Any]) -> str:
    shown = " ".join(str(arguments.get("query", "")).split())
    return shown if len(shown) <= 80 else shown[:79] + "…"


def make_search_conversation_tool(
    search: ConversationSearch, *, limit: int = DEFAULT_LIMIT, timeout_s: float = 20.0
) -> Tool:
    async def search_conversation(ctx: ToolContext, query: str) -> str:
        if ctx.conversation_id is None:
            raise ToolError("there is no conversation to search here")
        if not isinstance(query, str) or not query.strip():
            raise ToolError("query must be some words to look for")
        text = " ".join(query.split())
        if len(text) > MAX_QUERY_CHARS:
            raise ToolError(f"query is too long (over {MAX_QUERY_CHARS} characters)")
        # The message being answered is already in the model's context: search before it.
        hits = await search.search(ctx.conversation_id, text, limit, ctx.message_id)
        return format_hits(text, hits)

    return Tool(
        name="search_conversation",
        description=(
            "Full-text search of this conversation's earlier messages (members' messages and "
            "your own answers), e.g. to find something said long ago that is no longer in "
            "your context. Returns matching snippets with message ids and times, best first."
        ),
        parameters={
            "type": "object",
            "properties": {
                "query": {
                    "type": "string",
                    "description": (
                        "Words to look for, e.g. 'deploy friday'; more matching words rank higher."
                    ),
                }
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        handler=search_conversation,
        timeout_s=timeout_s,
        summarize=summarize_search,
    )
