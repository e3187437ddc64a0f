"""An answer's text as members read it, defined once for what is shown and what is stored.

Each round's text with its leading blank lines and trailing white space dropped (Discord
shows neither; indentation of the first line is kept), the rounds a blank line apart, empty
rounds left out. The renderer, the recorder and crash recovery all join rounds with this, so
the stored answer is exactly what the member read.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["join_rounds"]


def join_rounds(texts: Iterable[str]) -> str:
    pieces = (text.lstrip("\r\n").rstrip() for text in texts)
    return "\n\n".join(piece for piece in pieces if piece)
