"""Bytes → text for text, code and data files, and cutting any text to a token budget.

Decoding order: a byte-order mark decides; then UTF-8 (strict, the fast and common case);
then `charset-normalizer` on a sample (the file's start and the stretch around its first
byte that is not UTF-8), and the whole file is decoded with its answer. Files with NUL bytes
or many control characters are binary, whatever their name says. These run in a worker
thread (`asyncio.to_thread`): they are plain CPU work on up to megabytes.
"""

from __future__ import annotations

import codecs

from charset_normalizer import CharsetMatches, from_bytes

from bot.llm.tokens import estimate_tokens

SAMPLE_BYTES = 64 * 1024
DECODE_SLICE = 1024 * 1024
# More control characters than this share of the start of a file: binary. Text has tabs,
# line breaks and now and then an ANSI escape; compressed or random data has ~10 %.
MAX_CONTROL_SHARE = 0.05
# Room kept in a budget for the cut marker itself.
_MARKER_CHARS = 160

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_TEXT_CONTROLS = b"\t\n\v\f\r\x1b"
# Every byte that is not a control character, for bytes.translate(None, delete=...) to drop.
_NOT_CONTROL = bytes(b for b in range(256) if b >= 0x20 or b in _TEXT_CONTROLS)


class NotText(Exception):
    """The bytes are binary (or in no encoding we can tell)."""


def is_binary(data: bytes) -> bool:
    if b"\x00" in data:
        return True
    sample = data[:SAMPLE_BYTES]
    controls = len(sample.translate(None, _NOT_CONTROL))
    return controls > len(sample) * MAX_CONTROL_SHARE


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding) of `data`; raises `NotText` for binary data."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            # UTF-16/32 text is full of NUL bytes, so the BOM is checked before the binary test.
            return decode_as(data, codec, errors="replace"), codec.removesuffix("-sig")
    if is_binary(data):
        raise NotText
    try:
        return decode_as(data, "utf-8", errors="strict"), "utf-8"
    except _Undecodable as exc:
        first_bad = exc.position
    encoding = _preferred_encoding(_detect(data, first_bad))
    if encoding is None:
        raise NotText
    return decode_as(data, encoding, errors="replace"), encoding


class _Undecodable(Exception):
    def __init__(self, position: int) -> None:
        super().__init__(position)
        self.position = position


def decode_as(data: bytes, encoding: str, *, errors: str) -> str:
    """`data` decoded and its CRLF line ends made LF, one slice of DECODE_SLICE at a time.

    Slices keep each call into C short: a worker thread holds the GIL for the whole of one
    call, so decoding 10 MB at once would stall the event loop for as long (~15 ms)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors=errors)
    view = memoryview(data)
    parts: list[str] = []
    carried_cr = False  # a "\r" at the end of a slice may start a "\r\n" in the next one
    for start in range(0, len(data), DECODE_SLICE):
        end = start + DECODE_SLICE
        try:
            piece = decoder.decode(view[start:end], final=end >= len(data))
        except UnicodeDecodeError as exc:
            raise _Undecodable(max(0, start + exc.start)) from None
        if carried_cr:
            piece = "\r" + piece
        carried_cr = piece.endswith("\r")
        if carried_cr:
            piece = piece[:-1]
        parts.append(piece.replace("\r\n", "\n") if "\r" in piece else piece)
    if carried_cr:
        parts.append("\r")
    return "".join(parts)


def _detect(data: bytes, first_bad: int) -> CharsetMatches:
    sample = data[:SAMPLE_BYTES]
    if first_bad >= SAMPLE_BYTES:
        # The start alone may be pure ASCII in a long file: add the stretch where it stops being.
        start = max(SAMPLE_BYTES, first_bad - SAMPLE_BYTES // 4)
        sample += b"\n" + data[start : start + SAMPLE_BYTES]
    return from_bytes(sample)


def _preferred_encoding(matches: CharsetMatches) -> str | None:
    """The detector's answer, but cp1252 when it is one of the encodings that tie for best.

    Short Western European texts score the same in cp1250, cp1252 and cp1257; cp1252 is by far
    the most common of them (it is what Windows writes for English, French, German, Spanish).
    """
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        same_score = match.chaos == best.chaos and match.coherence == best.coherence
        if same_score and "cp1252" in match.could_be_from_charset:
            return "cp1252"
    return best.encoding


def cut_to_tokens(
    text: str, budget: int, label: str, *, whole: bool = True
) -> tuple[str, int, int]:
    """(text within `budget` tokens with a cut marker, its tokens, tokens of the whole text).

    The cut falls on a line break when one is near, so the model does not get half a line.
    `whole` False: `text` is only the start of the document, so the marker names no count."""
    total = estimate_tokens(text)
    if total <= budget:
        return text, total, total
    # As many characters as this text spends on `budget` tokens (fewer for CJK scripts).
    max_chars = max(0, budget * len(text) // total - _MARKER_CHARS)
    cut = text[:max_chars]
    line_end = cut.rfind("\n", max_chars * 4 // 5)
    if line_end > 0:
        cut = cut[:line_end]
    left = f" (about {total - estimate_tokens(cut):,} more tokens)" if whole else ""
    marker = f"\n[… cut here: the rest of {label}{left} was left out]"
    kept = cut + marker
    return kept, estimate_tokens(kept), total
