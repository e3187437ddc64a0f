"""What members bring: reading the files and images attached to a Discord message.

This package turns attachment descriptors into what a model can read. It knows nothing of
Discord objects, storage or the conversation flow; the caller maps attachments and decides
what to do with the results.

Usage::

    refs = [AttachmentRef(a.filename, a.content_type, a.size, a.url) for a in message.attachments]
    reading = await read_attachments(session, refs, AttachmentLimits.from_settings(settings),
                                     vision=model_sees_images)
    reading.model_text()          # every text block and skip note, for the model, in order
    chat_content_parts(words, reading)   # or: content parts with the images, for vision models
    reading.tokens                # estimated prompt tokens (texts + images) to reserve
    reading.summary               # one line for the member, or None when all was read

API:

- `AttachmentRef(filename, content_type, size, url)`: one attachment (`discord.Attachment`
  maps 1:1; `url` must come from Discord, it is fetched as it is).
- `AttachmentLimits(...)`: per file and per message: bytes (`max_file_bytes`,
  `max_image_bytes`, `max_message_bytes`), estimated tokens after extraction
  (`max_file_tokens`, `max_message_tokens`), `max_attachments`, `max_pdf_pages`, image sizes
  and the download timeout; `AttachmentLimits.from_settings(settings)`.
- `async read_attachments(session, refs, limits=None, *, vision=True) -> MessageAttachments`:
  never raises for a bad attachment. `session` is the caller's `aiohttp.ClientSession`.
- `MessageAttachments`: `results` (one per ref, in order), `texts`, `images`, `skipped`,
  `tokens`, `summary`, `model_text()`.
- A result is one of:
  - `TextAttachment(ref, kind="text"|"pdf", text, tokens, encoding, note)`: `text` is what
    the model reads (cut with a marker when over its budget; `note` then says what was left
    out); `for_model()` wraps it as `<attachment name="…">…</attachment>`.
  - `ImageAttachment(ref, data, mime, width, height, tokens, note, original_width,
    original_height)`: re-encoded PNG or JPEG within the vision limits; `data_url()`,
    `for_model()` (the line naming it).
  - `SkippedAttachment(ref, reason)`: `reason` in plain words ("20 MB is over the 8 MB
    limit", "the link had expired", "a zip archive can't be read …", "not a valid PNG
    image", "a scanned PDF with no text layer …", "this .txt file is binary", …).
- `image_content_part(image, detail=None)` and `chat_content_parts(text, reading)`: content
  parts for chat completions (`{"type": "image_url", "image_url": {"url": "data:…"}}`).
- `estimate_image_tokens(width, height)`, `format_size(bytes)`.

What is read: any `text/*` and common code and data files (by content type or extension,
Discord's `message.txt` for long pastes included), files of unknown type when their bytes
are text, PDFs' text layers (`pypdf`), and PNG, JPEG, WebP and GIF images (`Pillow`).
Downloads are streamed and never read more than their limit + 1 byte; decoding, PDF
extraction and image work run in worker threads (`asyncio.to_thread`), one file at a time.
Text is counted with the bot's one estimate (`bot.llm.tokens.estimate_tokens`); image tokens
are in `bot.attachments.images`.
"""

from bot.attachments.images import estimate_image_tokens
from bot.attachments.models import (
    AttachmentLimits,
    AttachmentRef,
    AttachmentResult,
    ImageAttachment,
    MessageAttachments,
    SkippedAttachment,
    TextAttachment,
    format_size,
)
from bot.attachments.parts import chat_content_parts, image_content_part
from bot.attachments.reader import read_attachments, summarize

__all__ = [
    "AttachmentLimits",
    "AttachmentRef",
    "AttachmentResult",
    "ImageAttachment",
    "MessageAttachments",
    "SkippedAttachment",
    "TextAttachment",
    "chat_content_parts",
    "estimate_image_tokens",
    "format_size",
    "image_content_part",
    "read_attachments",
    "summarize",
]
