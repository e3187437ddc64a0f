"""HTML → readable plain text for `fetch_url` (stdlib parser, no dependencies).

Keeps the page title separately, drops scripts, styles and other non-content elements,
puts block elements on their own lines, keeps `<pre>` text as written and collapses all
other whitespace. Tolerant of broken markup: it never raises on odd input.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements whose content is never readable text.
_SKIPPED = frozenset(
    {"script", "style", "noscript", "template", "svg", "math", "iframe", "object", "canvas"}
)
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details",
        "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
        "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
        "pre", "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
    }
)  # fmt: skip
# Paragraph-like blocks: set off from their neighbours by one blank line.
_GAP_AROUND = frozenset(
    {"blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "ol", "p", "pre", "table", "ul"}
)
_SPACES = re.compile(r"\s+")
_MAX_TITLE = 300


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[str, bool]] = []  # (text, kept even if blank: pre or a gap)
        self._line: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0
        self._in_title = False
        self._title_parts: list[str] = []
        self.title: str | None = None

    def _break(self) -> None:
        text = "".join(self._line)
        self._line = []
        if self._pre_depth:
            self.lines.append((text, True))
        else:
            self.lines.append((_SPACES.sub(" ", text).strip(), False))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skip_depth += 1
        elif tag == "title" and self.title is None and not self._skip_depth:
            self._in_title = True
        elif tag in _BLOCKS:
            self._break()
            if tag in _GAP_AROUND:
                self.lines.append(("", True))
            if tag == "pre":
                self._pre_depth += 1
            elif tag == "li":
                self._line.append("- ")
        elif tag in ("td", "th"):
            self._line.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/>, <hr/>, <p/>: a break, but never a skip or pre level that would not be closed.
        if tag in _BLOCKS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "title" and self._in_title:
            self._in_title = False
            title = _SPACES.sub(" ", "".join(self._title_parts)).strip()
            self.title = title[:_MAX_TITLE] or None
        elif tag in _BLOCKS:
            self._break()
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)
            if tag in _GAP_AROUND:
                self.lines.append(("", True))

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._in_title:
            self._title_parts.append(data)
            return
        if not self._pre_depth:
            self._line.append(data)
            return
        first, *rest = data.split("\n")
        self._line.append(first)
        for piece in rest:
            self._break()
            self._line.append(piece)

    def finish(self) -> str:
        self.close()
        if self._in_title and self.title is None:  # <title> never closed
            self.title = _SPACES.sub(" ", "".join(self._title_parts)).strip()[:_MAX_TITLE] or None
        self._break()
        out: list[str] = []
        for text, kept in self.lines:
            line = text.rstrip() if kept else text
            if not line and (not kept or not out or not out[-1]):
                continue  # empty block edges vanish; at most one blank line in a row
            out.append(line)
        return "\n".join(out).strip("\n")


def html_to_text(html: str) -> tuple[str | None, str]:
    """(title or None, readable text) of an HTML document."""
    parser = _TextExtractor()
    parser.feed(html)
    text = parser.finish()
    return parser.title, text
