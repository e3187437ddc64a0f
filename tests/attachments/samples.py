"""Sample files for attachment tests and the benchmark, written with the libraries themselves.

PDFs are built with pypdf (one Helvetica text object per page, so pypdf reads the text back),
images with Pillow. Nothing is read from disk.
"""

from __future__ import annotations

import io
import random

from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

_WORDS = [
    "attachment",
    "members",
    "bring",
    "files",
    "images",
    "text",
    "code",
    "model",
    "reads",
    "pages",
    "tokens",
    "budget",
    "limit",
    "discord",
    "thread",
    "answer",
    "streaming",
    "sqlite",
    "python",
    "asyncio",
    "charset",
    "pillow",
    "pypdf",
    "summary",
]


def _pdf_string(line: str) -> str:
    return "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def _font() -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )


def make_pdf(pages: list[str]) -> bytes:
    """A PDF with one page per item; each line of an item is a line of text (ASCII/Latin-1)."""
    writer = PdfWriter()
    for text in pages:
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): _font()})}
        )
        if text:
            shown = " T* ".join(f"{_pdf_string(line)} Tj" for line in text.splitlines())
            stream = DecodedStreamObject()
            stream.set_data(f"BT /F1 11 Tf 14 TL 72 740 Td {shown} ET".encode("latin-1"))
            page.replace_contents(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypt_pdf(data: bytes, user_password: str) -> bytes:
    """`data` encrypted with RC4 (pypdf's built-in cipher, no crypto library needed)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def prose(n_chars: int, seed: int = 7) -> str:
    """Lines of words, about `n_chars` long."""
    rng = random.Random(seed)
    lines: list[str] = []
    size = 0
    while size < n_chars:
        line = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 14)))
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


def pdf_pages(n_pages: int, lines_per_page: int = 40) -> bytes:
    return make_pdf(
        [
            f"Page {n} of the report\n" + prose(lines_per_page * 60, seed=n)
            for n in range(1, n_pages + 1)
        ]
    )


def image_bytes(
    width: int,
    height: int,
    fmt: str = "PNG",
    *,
    mode: str = "RGB",
    color: tuple[int, ...] = (200, 40, 40),
    exif: Image.Exif | None = None,
) -> bytes:
    image = Image.new(mode, (width, height), color)
    # A second colour in one corner, so orientation changes are visible in the pixels.
    image.paste((20, 20, 220) if mode != "L" else 20, (0, 0, width // 4, height // 4))
    out = io.BytesIO()
    options = {"exif": exif} if exif is not None else {}
    image.save(out, format=fmt, **options)
    return out.getvalue()


def animated_gif(width: int, height: int, frames: int) -> bytes:
    images = [Image.new("RGB", (width, height), (index * 60, 0, 0)) for index in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=100)
    return out.getvalue()
