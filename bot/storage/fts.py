"""Full-text search of a conversation: a person's free text turned into a safe query, and
the search itself: SQLite's FTS5 index (bm25 ranking) or PostgreSQL's tsvector column (GIN
index, ts_rank) — the two engines' own full-text search, same words in, same hits out."""

from __future__ import annotations

import re

from bot.storage.models import SearchHit
from bot.storage.sql import Conn
from bot.storage.timeutil import from_ms

SEARCH_MAX_LIMIT = 50
SEARCH_MAX_TERMS = 32
SNIPPET_TOKENS = 16
# A run of characters FTS5's unicode61 tokenizer keeps together (letters and digits).
_SEARCH_TERM = re.compile(r"[^\W_]+")


def fts_query(text: str) -> str | None:
    """Free text → a safe FTS5 query: each word quoted (so AND, OR, NOT, NEAR, *, ^, :,
    quotes and parentheses are plain text), joined with OR and ranked by bm25, so the messages
    matching the most (and rarest) words come first. None when the text has no words."""
    terms = list(dict.fromkeys(t.lower() for t in _SEARCH_TERM.findall(text)))
    if not terms:
        return None
    return " OR ".join(f'"{term}"' for term in terms[:SEARCH_MAX_TERMS])


_SEARCH = f"""
    SELECT m.id, m.role, m.author_name, m.created_at,
           snippet(messages_fts, 0, '**', '**', '…', {SNIPPET_TOKENS}) AS snippet
    FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
    WHERE messages_fts MATCH :query
      AND m.conversation_id = :conversation_id
      AND (:before IS NULL OR m.id < :before)
    ORDER BY bm25(messages_fts), m.id DESC
    LIMIT :limit
"""


# PostgreSQL: the same words joined with | (letters and digits only, so nothing in them is
# tsquery syntax); ts_headline marks the matches like FTS5's snippet does.
_SEARCH_PG = f"""
    SELECT m.id, m.role, m.author_name, m.created_at,
           ts_headline('english', m.content, q.query,
                       'StartSel=**, StopSel=**, FragmentDelimiter=…, MaxFragments=1,'
                       ' MaxWords={SNIPPET_TOKENS}, MinWords={SNIPPET_TOKENS // 2}') AS snippet
    FROM messages m,
         (SELECT to_tsquery('english', :query) || to_tsquery('simple', :query)) AS q(query)
    WHERE m.content_tsv @@ q.query
      AND m.conversation_id = :conversation_id
      AND (CAST(:before AS BIGINT) IS NULL OR m.id < CAST(:before AS BIGINT))
    ORDER BY ts_rank(m.content_tsv, q.query) DESC, m.id DESC
    LIMIT :limit
"""


def tsquery(text: str) -> str | None:
    """Free text → a safe PostgreSQL tsquery (to_tsquery syntax): the words joined by |."""
    terms = list(dict.fromkeys(t.lower() for t in _SEARCH_TERM.findall(text)))
    if not terms:
        return None
    return " | ".join(terms[:SEARCH_MAX_TERMS])


async def search_messages(
    conn: Conn,
    conversation_id: int,
    query: str,
    limit: int = 5,
    before_message_id: int | None = None,
) -> list[SearchHit]:
    """Messages of this conversation matching the words of `query`, best first.

    `query` is free text from a member or the model; it's never parsed as FTS5 syntax.
    `before_message_id` limits the search to older messages (e.g. before the current turn).
    """
    match = tsquery(query) if conn.is_postgresql else fts_query(query)
    if match is None or limit <= 0:
        return []
    params = {
        "query": match,
        "conversation_id": conversation_id,
        "before": before_message_id,
        "limit": min(limit, SEARCH_MAX_LIMIT),
    }
    rows = await conn.execute_fetchall(_SEARCH_PG if conn.is_postgresql else _SEARCH, params)
    return [SearchHit(r.id, r.role, r.author_name, from_ms(r.created_at), r.snippet) for r in rows]
