"""Independent checks of split invariants (written apart from bot.discord_ui.split on purpose)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from bot.discord_ui.split import Part, measure


def join_parts(parts: Sequence[Part]) -> str:
    """Inverse of `split_markdown`: drop the added fences and concatenate the sources."""
    return "".join(part.source for part in parts)


_FENCE_LINE = re.compile(r"^[ \t]*(`{3,20})([^`]*?)\r?$")


def open_fence_at_end(text: str) -> tuple[int, str] | None:
    """(ticks, language) of the code block still open at the end of `text`, else None."""
    state: tuple[int, str] | None = None
    for line in text.split("\n"):
        m = _FENCE_LINE.match(line)
        if not m:
            continue
        ticks, info = len(m.group(1)), m.group(2).strip()
        if state is None:
            state = (ticks, info.split()[0][:32] if info else "")
        elif ticks >= state[0] and not info:
            state = None
    return state


def cuts_grapheme(text: str, pos: int) -> bool:
    """True when `pos` splits something a reader sees as one character."""
    if pos <= 0 or pos >= len(text):
        return False
    a, b = text[pos - 1], text[pos]
    if (a, b) == ("\r", "\n") or "\u200d" in (a, b):
        return True
    if unicodedata.category(b).startswith("M") or 0x1F3FB <= ord(b) <= 0x1F3FF:
        return True
    if 0xFE00 <= ord(b) <= 0xFE0F or 0xE0020 <= ord(b) <= 0xE007F:
        return True
    ri = 0
    i = pos - 1
    while i >= 0 and 0x1F1E6 <= ord(text[i]) <= 0x1F1FF:
        ri += 1
        i -= 1
    return ri % 2 == 1 and 0x1F1E6 <= ord(b) <= 0x1F1FF


def word_at(text: str, pos: int) -> str:
    """The whitespace-delimited run that contains the cut at `pos` (empty at a space)."""
    if pos <= 0 or pos >= len(text) or text[pos - 1].isspace() or text[pos].isspace():
        return ""
    start, end = pos, pos
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    return text[start:end]


def check_parts(
    text: str, parts: list[Part], budget: int, first_budget: int | None = None, last_extra: int = 0
) -> None:
    """Every invariant `split_markdown` promises, asserted."""
    assert join_parts(parts) == text
    if not text:
        assert parts == []
        return
    assert parts[0].start == 0 and parts[-1].end == len(text)
    for i, part in enumerate(parts):
        room = first_budget if i == 0 and first_budget is not None else budget
        if i == len(parts) - 1:
            room -= last_extra
        assert measure(part.content) <= room, (i, measure(part.content), room)
        assert part.content == part.reopen + text[part.start : part.end] + part.close
        assert part.end > part.start
        if i:
            assert parts[i - 1].end == part.start
        # Balanced on its own, and reopened with the language of the block it continues.
        assert open_fence_at_end(part.content) is None, (i, part.content)
        before = open_fence_at_end(text[: part.start])
        if before is None:
            assert part.reopen == ""
        else:
            ticks, lang = before
            assert part.reopen == "`" * ticks + lang + "\n"
        assert (part.close != "") == (open_fence_at_end(text[: part.end]) is not None)
        assert not cuts_grapheme(text, part.end)
