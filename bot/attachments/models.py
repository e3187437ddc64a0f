"""The values of `bot.attachments`: what goes in (refs, limits) and what comes out (results).

All are frozen dataclasses without behaviour beyond formatting, so the conversation flow can
store, log or pass them around freely. Plain-words reasons are written once, here and in the
readers, for the member and the model alike.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from bot.settings import Settings

# How many characters to read for a token budget before the text is known (a PDF's pages):
# about 4 a token, the rule of `bot.llm.tokens.estimate_tokens` for most scripts.
CHARS_PER_TOKEN = 4


def format_size(size: int) -> str:
    """`20 MB`, `8.4 MB`, `512 KB`, `12 bytes`: decimal units, as Discord shows sizes."""
    if size < 1000:
        return f"{size} byte" + ("" if size == 1 else "s")
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            value = size / scale
            text = f"{value:.1f}" if value < 10 else f"{value:.0f}"
            return f"{text.removesuffix('.0')} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def safe_name(filename: str) -> str:
    """The file name as the model sees it inside quotes: no quotes, angle brackets or breaks."""
    cleaned = "".join("_" if ch in '"<>\r\n\t' else ch for ch in filename).strip()
    return cleaned[:200] or "unnamed"


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    """One attachment as Discord describes it (`discord.Attachment` maps onto it 1:1)."""

    filename: str
    content_type: str | None
    size: int
    url: str


@dataclass(frozen=True, slots=True)
class AttachmentLimits:
    """How much of a message's attachments is read. Defaults match `Settings`' defaults."""

    max_attachments: int = 10
    # Downloads, per file (text, code, PDF) and per image, and for a message's files together.
    max_file_bytes: int = 8_000_000
    max_image_bytes: int = 10_000_000
    max_message_bytes: int = 25_000_000
    # Estimated tokens after extraction, per file and for a message's attachments together
    # (images count with their estimated image tokens).
    max_file_tokens: int = 20_000
    max_message_tokens: int = 40_000
    max_pdf_pages: int = 100
    # What vision models accept without resizing on their side: Anthropic's guidance is a
    # longest side of at most 1568 px and about 1.15 megapixels.
    image_max_side: int = 1568
    image_max_pixels: int = 1_150_000
    # Pixels decoded at most (after JPEG draft scaling): bounds Pillow's memory (~4 bytes each).
    image_max_source_pixels: int = 25_000_000
    # The re-encoded image: base64 grows it by 4/3 and Anthropic refuses images over 5 MB.
    image_output_max_bytes: int = 3_750_000
    download_timeout_seconds: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> AttachmentLimits:
        return cls(
            max_attachments=settings.message_attachments_max_count,
            max_file_bytes=settings.attachment_max_bytes,
            max_image_bytes=settings.image_max_bytes,
            max_message_bytes=settings.message_attachments_max_bytes,
            max_file_tokens=settings.attachment_max_tokens,
            max_message_tokens=settings.message_attachments_max_tokens,
            max_pdf_pages=settings.pdf_max_pages,
            download_timeout_seconds=settings.attachment_download_timeout_seconds,
        )


TextKind = Literal["text", "pdf"]
ImageMime = Literal["image/png", "image/jpeg"]


@dataclass(frozen=True, slots=True)
class TextAttachment:
    """Text read from a text, code or data file, or from a PDF's text layer.

    `text` is what the model gets (already cut, with the cut marker); `note` says in plain
    words what was left out (None when everything was read).
    """

    ref: AttachmentRef
    kind: TextKind
    text: str
    tokens: int
    encoding: str | None = None  # the text encoding it was decoded from (None for PDFs)
    note: str | None = None

    @property
    def cut(self) -> bool:
        return self.note is not None

    def for_model(self) -> str:
        attributes = f'name="{safe_name(self.ref.filename)}"'
        if self.ref.filename == "message.txt":
            # Discord turns a paste over the length limit into this file.
            attributes += ' origin="a long message Discord turned into a file"'
        return f"<attachment {attributes}>\n{self.text}\n</attachment>"


@dataclass(frozen=True, slots=True)
class ImageAttachment:
    """An image ready for a vision model: re-encoded (metadata dropped), within its limits."""

    ref: AttachmentRef
    data: bytes
    mime: ImageMime
    width: int
    height: int
    tokens: int
    note: str | None = None  # e.g. "an animated GIF: only its first frame is shown"
    original_width: int = 0
    original_height: int = 0

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    def for_model(self) -> str:
        """The line that names the image next to its image part."""
        line = f"[image: {safe_name(self.ref.filename)}, {self.width}x{self.height}"
        return line + (f"; {self.note}]" if self.note else "]")


@dataclass(frozen=True, slots=True)
class SkippedAttachment:
    """An attachment that was not read, and why, in plain words (`reason`)."""

    ref: AttachmentRef
    reason: str

    def for_model(self) -> str:
        return f"[attachment {safe_name(self.ref.filename)} was not read: {self.reason}]"


AttachmentResult = TextAttachment | ImageAttachment | SkippedAttachment


@dataclass(frozen=True, slots=True)
class MessageAttachments:
    """Everything read from one message's attachments, in the order they were attached."""

    results: tuple[AttachmentResult, ...]
    summary: str | None  # one line for the member about what was skipped or cut; None: all read

    @property
    def texts(self) -> list[TextAttachment]:
        return [r for r in self.results if isinstance(r, TextAttachment)]

    @property
    def images(self) -> list[ImageAttachment]:
        return [r for r in self.results if isinstance(r, ImageAttachment)]

    @property
    def skipped(self) -> list[SkippedAttachment]:
        return [r for r in self.results if isinstance(r, SkippedAttachment)]

    @property
    def tokens(self) -> int:
        """Estimated prompt tokens of the texts and images (for budget reservation)."""
        return sum(r.tokens for r in self.results if not isinstance(r, SkippedAttachment))

    def model_text(self) -> str:
        """The texts and the skip notes for the model, one block per attachment, in order.

        Images are named here (`[image: …]`) and sent as separate parts (see
        `chat_content_parts`)."""
        return "\n\n".join(r.for_model() for r in self.results)
