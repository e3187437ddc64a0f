"""HTML → text for fetch_url."""

from __future__ import annotations

import pytest

from bot.tools.fetch_url import _content_kind
from bot.tools.html_text import html_to_text


def test_html_text_drops_scripts_styles_and_keeps_title() -> None:
    title, text = html_to_text(
        "<html><head><title> A &amp; B </title><style>p{}</style>"
        "<script>if (a < b) { document.write('<p>no</p>') }</script></head>"
        "<body><p>Hello   <b>world</b>\n again</p><template><p>no</p></template>"
        "<svg><text>no</text></svg><noscript>no</noscript></body></html>"
    )
    assert title == "A & B"
    assert text == "Hello world again"


def test_html_text_blocks_lists_and_tables_get_lines() -> None:
    _, text = html_to_text(
        "<h1>T</h1><div>a</div><div>b<br>c</div><ul><li>one</li><li>two</li></ul>"
        "<table><tr><th>k</th><td>v</td></tr><tr><td>x</td><td>y</td></tr></table><p>end</p>"
    )
    assert text == "T\n\na\nb\nc\n\n- one\n- two\n\nk v\nx y\n\nend"


def test_html_text_keeps_preformatted_text() -> None:
    _, text = html_to_text("<p>code:</p><pre>def f():\n    return  1\n</pre><p>after</p>")
    assert text == "code:\n\ndef f():\n    return  1\n\nafter"


def test_html_text_entities_and_broken_markup() -> None:
    assert html_to_text("<title>never closed") == ("never closed", "")
    _, text = html_to_text("<p>caf&eacute; &lt;3 &#x263A;<div>unclosed<script>x = 1")
    assert text == "café <3 ☺\nunclosed"


def test_html_text_empty_document() -> None:
    assert html_to_text("") == (None, "")


@pytest.mark.parametrize(
    ("content_type", "head", "kind"),
    [("text/html", b"", "html"), ("application/xhtml+xml", b"", "html"),
     ("application/json", b"", "text"), ("application/vnd.api+json", b"", "text"),
     ("text/plain", b"", "text"), ("text/csv", b"", "text"), ("application/rss+xml", b"", "text"),
     ("image/png", b"", None), ("application/pdf", b"", None),
     ("application/octet-stream", b"", None),
     ("", b"<!DOCTYPE html><html>", "html"), ("", b"just words", "text"),
     ("", b"\x00\x01binary", None)],
)  # fmt: skip
def test_html_text_content_kind(content_type: str, head: bytes, kind: str | None) -> None:
    assert _content_kind(content_type, head) == kind
