"""Sources that a provider's own tools cite (its web search), read from each protocol's shape.

A model given a provider-side search tool through its `params` (OpenRouter's
`plugins = [{ id = "web" }]`, OpenAI's `web_search` tool, Anthropic's `web_search` server
tool) answers with the sources it used attached to its text:

- chat completions (OpenRouter, OpenAI search models): `annotations` on the streamed delta
  (or the whole message), each `{"type": "url_citation", "url_citation": {"url", "title",
  "content", "start_index", "end_index"}}`;
- the Responses API: `response.output_text.annotation.added` events, and `annotations` on the
  `output_text` parts of a whole message, each flat: `{"type": "url_citation", "url",
  "title", "start_index", "end_index"}`;
- Anthropic: a `web_search_tool_result` block whose `content` lists `web_search_result`
  entries (`url`, `title`), and `citations_delta` events on text blocks whose `citation` is a
  `web_search_result_location` (`url`, `title`, `cited_text`); a whole text block carries them
  as its `citations` list.

Each decoder keeps a `CitedSources` and turns what it reads into `SourcesCited` events (new
URLs only), which the answer lists under its text like `web_search` results. Citations are
for people: no protocol sends them back (providers reject unknown fields on messages), and
the recorder stores them beside the round's provider artefacts under `CITED_SOURCES`, a key
that replay removes before anything reaches a provider.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.llm.types import SourcesCited

__all__ = [
    "CITED_SOURCES",
    "CitedSources",
    "anthropic_citation",
    "anthropic_search_results",
    "message_citations",
    "stored_sources",
    "url_citations",
]

# The key of a round's stored artefacts that holds its cited sources (a list of [title, URL]).
CITED_SOURCES = "cited_sources"

Source = tuple[str, str]


def _source(title: Any, url: Any) -> Source | None:
    # Only web links: anything else (a file id, a javascript: URL) is not worth a link.
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return None
    return (title if isinstance(title, str) else "", url)


def url_citations(annotations: Any) -> list[Source]:
    """The `url_citation` annotations of either OpenAI shape (nested for chat completions,
    flat for the Responses API); other annotation types are skipped."""
    if not isinstance(annotations, list):
        return []
    found = []
    for annotation in annotations:
        if not isinstance(annotation, Mapping) or annotation.get("type") != "url_citation":
            continue
        nested = annotation.get("url_citation")
        fields = nested if isinstance(nested, Mapping) else annotation
        source = _source(fields.get("title"), fields.get("url"))
        if source is not None:
            found.append(source)
    return found


def message_citations(item: Mapping[str, Any]) -> list[Source]:
    """The `url_citation` annotations on the `output_text` parts of a whole Responses
    message item."""
    content = item.get("content")
    if not isinstance(content, list):
        return []
    return [
        source
        for part in content
        if isinstance(part, Mapping) and part.get("type") == "output_text"
        for source in url_citations(part.get("annotations"))
    ]


def anthropic_search_results(block: Mapping[str, Any]) -> list[Source]:
    """The results of a `web_search_tool_result` block (an error result has none)."""
    content = block.get("content")
    if not isinstance(content, list):
        return []
    found = []
    for result in content:
        if isinstance(result, Mapping) and result.get("type") == "web_search_result":
            source = _source(result.get("title"), result.get("url"))
            if source is not None:
                found.append(source)
    return found


def anthropic_citation(citation: Any) -> list[Source]:
    """A `web_search_result_location` citation (document and page citations have no URL)."""
    if not isinstance(citation, Mapping) or citation.get("type") != "web_search_result_location":
        return []
    source = _source(citation.get("title"), citation.get("url"))
    return [source] if source is not None else []


class CitedSources:
    """The sources of one call, each URL once, in the order first cited."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def take(self, sources: Iterable[Source]) -> SourcesCited | None:
        """The event for the sources not seen before, or None when all were."""
        new = []
        for title, url in sources:
            if url not in self._seen:
                self._seen.add(url)
                new.append((title, url))
        return SourcesCited(tuple(new)) if new else None


def stored_sources(data: Mapping[str, Any]) -> list[Source]:
    """The cited sources kept in a round's stored artefacts (see `CITED_SOURCES`)."""
    stored = data.get(CITED_SOURCES)
    if not isinstance(stored, list):
        return []
    found = []
    for entry in stored:
        if isinstance(entry, list) and len(entry) == 2:
            source = _source(entry[0], entry[1])
            if source is not None:
                found.append(source)
    return found
