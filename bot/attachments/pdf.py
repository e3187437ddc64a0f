"""A PDF's text layer, page by page, with `pypdf` (runs in a worker thread).

Pages are read in order until `max_pages` or until the text is longer than the token budget
could use (the rest would be cut anyway). Each page's text is headed `[page N]` so the model
can cite pages. Encrypted PDFs are opened when they need no password (many only restrict
printing); scanned PDFs (no text on any page read), encrypted and damaged ones raise
`Unreadable` with the plain-words reason.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError

from bot.attachments.download import Unreadable

log = logging.getLogger(__name__)

ENCRYPTED = "an encrypted PDF (it needs a password; attach a copy without one)"
SCANNED = "a scanned PDF with no text layer (attach its pages as images instead)"
DAMAGED = "not a valid PDF (the file is damaged)"


@dataclass(frozen=True, slots=True)
class PdfText:
    text: str
    pages_read: int
    page_count: int


def extract_pdf(data: bytes, *, max_pages: int, max_chars: int) -> PdfText:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            _decrypt(reader)
        page_count = len(reader.pages)
    except Unreadable:
        raise
    except Exception as exc:  # a damaged file can fail in any of pypdf's parsers
        log.debug("unreadable PDF: %r", exc)
        raise Unreadable(DAMAGED) from None
    parts: list[str] = []
    chars = 0
    pages_read = 0
    found_text = False
    for number in range(min(page_count, max_pages)):
        try:
            page_text = reader.pages[number].extract_text() or ""
        except Exception as exc:  # one bad page should not lose the others
            log.debug("unreadable PDF page %d: %r", number + 1, exc)
            page_text = "(this page could not be read)"
        else:
            found_text = found_text or bool(page_text.strip())
        pages_read += 1
        part = f"[page {number + 1}]\n{page_text.strip()}"
        parts.append(part)
        chars += len(part) + 2
        if chars > max_chars:
            break
    if page_count == 0:
        raise Unreadable("an empty PDF (it has no pages)")
    if not found_text:
        raise Unreadable(SCANNED)
    return PdfText("\n\n".join(parts), pages_read, page_count)


def _decrypt(reader: PdfReader) -> None:
    try:
        opened = reader.decrypt("")
    except DependencyError:
        # AES needs the optional `cryptography` package; without it only RC4 opens.
        raise Unreadable("an encrypted PDF that can't be opened") from None
    if opened == PasswordType.NOT_DECRYPTED:
        raise Unreadable(ENCRYPTED)
