"""Splitting long markdown into parts that each fit a Discord message and render on their own.

Length. Discord counts message content in Unicode code points (the API is Python; see
discord/discord-api-docs#1315), JavaScript clients count UTF-16 code units. `measure` counts
UTF-16 code units (astral characters such as most emoji count 2), which is never less than
the code point count, so a part that passes `measure` passes both.

Where a part ends, best first: after a blank line (or just before or after a fenced code
block), after a line break, inside a code block at a line break, after a space (or CJK
sentence punctuation), inside a code line at a space; and only when a single "word" is longer
than the part, anywhere between two grapheme clusters (never inside a surrogate pair, an emoji
ZWJ sequence, a flag, a keycap or a base + combining mark). A cut counts only if the part
keeps at least half its room (a quarter for a cut just before a code block, which keeps the
block whole); failing that, the latest cut of any kind wins over a hard split. Cuts where an
inline code span, `**`, `__`, `~~`, `||` or the text of a `[link](…)` is open rank below all
balanced cuts. Within a rank, the latest cut wins.

Code blocks. Only backtick fences on their own line count (CommonMark style; mid-line ``` and
~~~ fences are left alone). A part that ends inside a block gets a closing fence, and the next
part starts with the same fence and language, so every part is balanced on its own. A part
never ends right after an opening fence or right before the closing one (empty blocks do not
render). `Part` records what was added, so the original text can be rebuilt from the parts.

Stability while streaming. A part is cut only once the text after its start no longer fits,
and where it is cut depends only on the text inside its own room (every rule above looks
backwards, plus at most the few characters of a fence marker): so as more text arrives,
earlier parts keep exactly the same content and the pacer does not re-edit them. This holds
as long as the budgets stay the same between calls (render.py keeps them fixed) and the text
only grows at its end. Known limits: an indented fence marker straddling a part's end can move
that cut; `last_extra` only ever moves the cut of the last part.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

MESSAGE_LIMIT = 2000
MIN_BUDGET = 120

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_FENCE = re.compile(r"[ \t]*(`{3,20})([^`]*?)\r?")
# Ideographic full stop, exclamation, question, comma, enumeration comma, semicolon.
_CJK_PUNCT = "\u3002\uff01\uff1f\uff0c\u3001\uff1b"
_SPACE = re.compile(rf"[ \t\u3000]+|[{_CJK_PUNCT}]")
# Inline markers that matter for balance; `\\.` swallows escaped characters.
_INLINE = re.compile(rf"\\.|`+|\*{{2,}}|_{{2,}}|~{{2,}}|\|{{2,}}|\[|\]|[ \t\u3000]+|[{_CJK_PUNCT}]")
_ZWJ = "\u200d"

# Cut ranks (lower is better).
_PARA, _LINE, _CODE_LINE, _SPACE_CUT, _CODE_SPACE = range(5)


def measure(text: str) -> int:
    """Conservative Discord length: UTF-16 code units."""
    return len(text) + sum(1 for _ in _ASTRAL.finditer(text))


@dataclass(frozen=True, slots=True)
class Part:
    """One message's worth: `content == reopen + source[start:end] + close`."""

    content: str
    start: int
    end: int
    reopen: str = ""
    close: str = ""

    @property
    def source(self) -> str:
        return self.content[len(self.reopen) : len(self.content) - len(self.close)]


@dataclass(frozen=True, slots=True)
class _Fence:
    ticks: int
    lang: str

    @property
    def reopen(self) -> str:
        return "`" * self.ticks + self.lang + "\n"

    def close_after(self, text: str, pos: int) -> str:
        return "`" * self.ticks if pos > 0 and text[pos - 1] == "\n" else "\n" + "`" * self.ticks


def is_grapheme_boundary(text: str, pos: int) -> bool:
    """Whether cutting `text` at `pos` keeps user-perceived characters whole (close enough)."""
    if pos <= 0 or pos >= len(text):
        return True
    prev, cur = text[pos - 1], text[pos]
    if (prev == "\r" and cur == "\n") or cur == _ZWJ or prev == _ZWJ:
        return False
    o = ord(cur)
    if (
        0xFE00 <= o <= 0xFE0F  # variation selectors
        or 0xE0100 <= o <= 0xE01EF
        or 0x1F3FB <= o <= 0x1F3FF  # skin tones
        or 0xE0020 <= o <= 0xE007F  # tag characters (subdivision flags)
        or 0x1160 <= o <= 0x11FF  # conjoining Hangul vowels and finals
        or 0xD7B0 <= o <= 0xD7FF
        or 0xDC00 <= o <= 0xDFFF  # a lone low surrogate after its high half
    ):
        return False
    if unicodedata.category(cur) in ("Mn", "Me", "Mc"):
        return False
    if _is_regional(cur) and _is_regional(prev):
        run = 0
        i = pos - 1
        while i >= 0 and _is_regional(text[i]):
            run += 1
            i -= 1
        return run % 2 == 0
    return True


def _is_regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


class _Doc:
    """Per-text facts computed once: line starts, fence state per line, UTF-16 widths."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.astral = [m.start() for m in _ASTRAL.finditer(text)]
        self.starts: list[int] = []
        self.fence_before: list[_Fence | None] = []
        self.kind: list[str | None] = []  # "open" / "close" / None
        state: _Fence | None = None
        pos = 0
        for line in text.split("\n"):
            self.starts.append(pos)
            self.fence_before.append(state)
            kind = None
            if "```" in line:
                m = _FENCE.fullmatch(line)
                if m:
                    ticks, info = len(m.group(1)), m.group(2).strip()
                    if state is None:
                        kind, state = "open", _Fence(ticks, _language(info))
                    elif ticks >= state.ticks and not info:
                        kind, state = "close", None
            self.kind.append(kind)
            pos += len(line) + 1
        self.fence_end = state

    def width(self, a: int, b: int) -> int:
        return b - a + bisect_left(self.astral, b) - bisect_left(self.astral, a)

    def line_of(self, pos: int) -> int:
        return bisect_right(self.starts, pos) - 1

    def line_end(self, i: int) -> int:
        return self.starts[i + 1] - 1 if i + 1 < len(self.starts) else len(self.text)

    def fence_at(self, pos: int) -> _Fence | None:
        if pos >= len(self.text):
            return self.fence_end
        return self.fence_before[self.line_of(pos)]

    def max_pos(self, start: int, room: int) -> int:
        """The largest p with width(start, p) <= room."""
        lo, hi = start, min(len(self.text), start + max(room, 0))
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.width(start, mid) <= room:
                lo = mid
            else:
                hi = mid - 1
        return lo


def _language(info: str) -> str:
    return info.split()[0][:32] if info else ""


def split_markdown(
    text: str, budget: int, *, first_budget: int | None = None, last_extra: int = 0
) -> list[Part]:
    """Cut `text` into parts of at most `budget` (the first: `first_budget`) measured units.

    The last part must also leave `last_extra` units free (for a footer longer than the room
    the caller already kept). Returns [] for an empty text.
    """
    smallest = min(budget, first_budget if first_budget is not None else budget)
    if smallest < MIN_BUDGET or smallest - last_extra < MIN_BUDGET // 2:
        raise ValueError(f"budgets must be at least {MIN_BUDGET} ({MIN_BUDGET // 2} for the last)")
    if not text:
        return []
    doc = _Doc(text)
    n = len(text)
    content_end = len(text.rstrip())
    parts: list[Part] = []
    start = 0
    while True:
        room = first_budget if not parts and first_budget is not None else budget
        fence = doc.fence_at(start)
        reopen = fence.reopen if fence else ""
        avail = room - measure(reopen)
        close_end = doc.fence_end.close_after(text, n) if doc.fence_end else ""
        rest = doc.width(start, n) + measure(close_end)
        if rest <= avail - last_extra:
            parts.append(Part(reopen + text[start:] + close_end, start, n, reopen, close_end))
            return parts
        # When only the footer does not fit, cut as if this were the last part, so the footer
        # gets a real paragraph to sit under rather than a stray last word.
        cut = _choose_cut(doc, start, avail - last_extra if rest <= avail else avail, content_end)
        end_fence = doc.fence_at(cut)
        close = end_fence.close_after(text, cut) if end_fence else ""
        parts.append(Part(reopen + text[start:cut] + close, start, cut, reopen, close))
        start = cut


class _Inline:
    """Open inline constructs, counted from a part's start."""

    __slots__ = ("bracket", "code", "marks")

    def __init__(self) -> None:
        self.code = 0  # length of the open backtick run, 0 when no code span is open
        self.marks = 0  # parity bits of ** __ ~~ ||
        self.bracket = 0

    @property
    def balanced(self) -> bool:
        return self.code == 0 and self.marks == 0 and self.bracket == 0

    def feed(self, token: str) -> None:
        first = token[0]
        if first == "`":
            if self.code == 0:
                self.code = len(token)
            elif self.code == len(token):
                self.code = 0
        elif self.code:
            return
        elif first in "*_~|" and len(token) >= 2:
            if (len(token) // 2) % 2:
                self.marks ^= 1 << "*_~|".index(first)
        elif first == "[":
            self.bracket += 1
        elif first == "]" and self.bracket:
            self.bracket -= 1


def _choose_cut(doc: _Doc, start: int, avail: int, content_end: int) -> int:
    """Where the part starting at `start` ends; see the module docstring for the order."""
    text = doc.text
    best: tuple[int, int] | None = None  # (tier, -pos)

    def offer(pos: int, rank: int, balanced: bool, close: int, early_ok: bool = False) -> bool:
        nonlocal best
        if pos <= start or pos >= content_end:
            return True
        w = doc.width(start, pos)
        if w + close > avail:
            return w <= avail  # keep scanning while text still fits without the close
        late = w >= (avail / 4 if early_ok else avail / 2)
        tier = rank if late and balanced else 5 + rank if late else 10 if balanced else 11
        key = (tier, -pos)
        if best is None or key < best:
            best = key
        return True

    inline = _Inline()
    i = doc.line_of(start)
    while i < len(doc.starts):
        ls, le = doc.starts[i], doc.line_end(i)
        if doc.width(start, max(ls, start)) > avail:
            break
        fence = doc.fence_before[i]
        if ls > start:
            if fence is None:
                prev = text[doc.starts[i - 1] : ls - 1]
                # Cutting just before a code block keeps the block whole: worth a shorter part.
                before_block = _starts_fence(text, ls, 3)
                blank = not prev.strip() or doc.kind[i - 1] == "close" or before_block
                offer(ls, _PARA if blank else _LINE, inline.balanced, 0, before_block)
            elif doc.kind[i - 1] != "open" and not _starts_fence(text, ls, fence.ticks):
                offer(ls, _CODE_LINE, True, fence.ticks)
        inline.bracket = 0  # link text never spans lines
        seg = max(ls, start)
        if doc.kind[i] is None and seg < le:
            if fence is None:
                for m in _INLINE.finditer(text, seg, le):
                    token = m.group()
                    if token[0] in " \t\u3000" + _CJK_PUNCT:
                        if not offer(m.end(), _SPACE_CUT, inline.balanced, 0):
                            break
                    else:
                        inline.feed(token)
            else:
                for m in _SPACE.finditer(text, seg, le):
                    if not offer(m.end(), _CODE_SPACE, True, fence.ticks + 1):
                        break
        i += 1
    if best is not None:
        return -best[1]
    return _hard_cut(doc, start, avail, content_end)


def _starts_fence(text: str, pos: int, ticks: int) -> bool:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return text.startswith("`" * ticks, pos)


def _hard_cut(doc: _Doc, start: int, avail: int, content_end: int) -> int:
    """No whitespace to cut at: the latest grapheme boundary that fits, outside fence lines.

    The cut leaves some text for the next part (the rest may fit, but not beside the footer).
    """
    text = doc.text
    top = min(doc.max_pos(start, avail), max(start + 1, content_end - 1))
    fallback = None
    for pos in range(top, start, -1):
        fence = doc.fence_at(pos)
        close = len(fence.close_after(text, pos)) if fence else 0
        if doc.width(start, pos) + close > avail or not is_grapheme_boundary(text, pos):
            continue
        i = doc.line_of(pos)
        if doc.kind[i] is not None and pos > doc.starts[i]:
            fallback = fallback or pos
            continue
        return pos
    if fallback is not None:
        return fallback
    # Even one grapheme does not fit (thousands of combining marks): cut at a code point.
    return min(len(text), max(start + 1, doc.max_pos(start, avail - 21)))
