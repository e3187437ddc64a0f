"""Turning a person's free text into a safe SQLite FTS5 query."""

from __future__ import annotations

import re

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
