"""Reading one message's attachments: `read_attachments`, and the member's summary line.

Attachments are read one after another, in the order they were attached: memory then holds
one file at a time (its bytes and its text), and the per-message byte and token budgets are
spent in that order, so the first files are the ones read in full. Downloads are awaited on
the event loop; decoding, PDF extraction and Pillow run in worker threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from bot.attachments.download import TooLarge, Unreadable, download, over_limit
from bot.attachments.images import estimate_image_tokens, prepare_image
from bot.attachments.kinds import Kind, Refused, classify, extension, image_format_name
from bot.attachments.models import (
    CHARS_PER_TOKEN,
    AttachmentLimits,
    AttachmentRef,
    AttachmentResult,
    ImageAttachment,
    MessageAttachments,
    SkippedAttachment,
    TextAttachment,
    format_size,
    safe_name,
)
from bot.attachments.pdf import extract_pdf
from bot.attachments.text import NotText, cut_to_tokens, decode

# Below this many tokens left for the message, a file is skipped rather than cut to a stub.
MIN_USEFUL_TOKENS = 50
# Names listed per reason in the summary before "and N more".
_NAMES_PER_REASON = 3


@dataclass(slots=True)
class _Spent:
    bytes: int = 0
    tokens: int = 0


async def read_attachments(
    session: aiohttp.ClientSession,
    refs: Sequence[AttachmentRef],
    limits: AttachmentLimits | None = None,
    *,
    vision: bool = True,
) -> MessageAttachments:
    """Download and read `refs` (one message's attachments) within `limits`.

    `vision` False: images are not downloaded and say that the model can't see them. Never
    raises for a bad attachment: every problem becomes a `SkippedAttachment` with its reason.
    """
    limits = limits or AttachmentLimits()
    spent = _Spent()
    results: list[AttachmentResult] = []
    for index, ref in enumerate(refs):
        if index >= limits.max_attachments:
            reason = f"only the first {limits.max_attachments} attachments of a message are read"
            results.append(SkippedAttachment(ref, reason))
            continue
        try:
            results.append(await _read_one(session, ref, limits, spent, vision=vision))
        except Unreadable as exc:
            results.append(SkippedAttachment(ref, exc.reason))
    return MessageAttachments(tuple(results), summarize(results))


async def _read_one(
    session: aiohttp.ClientSession,
    ref: AttachmentRef,
    limits: AttachmentLimits,
    spent: _Spent,
    *,
    vision: bool,
) -> AttachmentResult:
    kind = classify(ref)
    if isinstance(kind, Refused):
        raise Unreadable(kind.reason)
    if kind == "image" and not vision:
        raise Unreadable("this model can't see images (choose a model with vision)")
    tokens_left = limits.max_message_tokens - spent.tokens
    if tokens_left < MIN_USEFUL_TOKENS:
        raise Unreadable(_message_tokens_spent(limits))
    data = await _fetch(session, ref, kind, limits, spent)
    spent.bytes += len(data)
    if kind == "image":
        image = await _image(ref, data, limits)
        if image.tokens > tokens_left:
            raise Unreadable(
                f"the image (about {image.tokens:,} tokens) would take this message's "
                f"attachments over their {limits.max_message_tokens:,} tokens"
            )
        spent.tokens += image.tokens
        return image
    budget = min(limits.max_file_tokens, tokens_left)
    shared = budget < limits.max_file_tokens
    if kind == "pdf":
        text = await asyncio.to_thread(_pdf, ref, data, budget, shared, limits)
    else:
        text = await asyncio.to_thread(_text, ref, data, kind, budget, shared, limits)
    spent.tokens += text.tokens
    return text


async def _fetch(
    session: aiohttp.ClientSession,
    ref: AttachmentRef,
    kind: Kind,
    limits: AttachmentLimits,
    spent: _Spent,
) -> bytes:
    file_limit = limits.max_image_bytes if kind == "image" else limits.max_file_bytes
    message_left = limits.max_message_bytes - spent.bytes
    if ref.size > file_limit:
        raise Unreadable(over_limit(ref.size, file_limit))
    if ref.size > message_left:
        raise Unreadable(_message_bytes_spent(ref.size, limits))
    cap = min(file_limit, message_left)
    try:
        return await download(
            session,
            ref.url,
            max_bytes=cap,
            timeout=limits.download_timeout_seconds,
            declared_size=ref.size,
        )
    except TooLarge as exc:
        if cap < file_limit:
            raise Unreadable(_message_bytes_spent(exc.size, limits)) from None
        raise


def _message_bytes_spent(size: int | None, limits: AttachmentLimits) -> str:
    total = format_size(limits.max_message_bytes)
    what = format_size(size) if size else "it"
    return f"{what} would take this message's attachments over {total} together"


def _message_tokens_spent(limits: AttachmentLimits) -> str:
    return f"this message's attachments already fill their {limits.max_message_tokens:,} tokens"


def _cut_note(budget: int, total: int | None, *, shared: bool, limits: AttachmentLimits) -> str:
    note = f"cut to its first {budget:,} tokens"
    if total is not None:
        note += f" of about {total:,}"
    if shared:
        note += f" (a message's attachments share {limits.max_message_tokens:,})"
    return note


def _text(
    ref: AttachmentRef,
    data: bytes,
    kind: Kind,
    budget: int,
    shared: bool,
    limits: AttachmentLimits,
) -> TextAttachment:
    try:
        text, encoding = decode(data)
    except NotText:
        ext = extension(ref.filename)
        if kind == "unknown":
            raise Unreadable("a file of an unknown type that is not text can't be read") from None
        raise Unreadable(f"this .{ext} file is binary" if ext else "this file is binary") from None
    if not text.strip():
        raise Unreadable("the file is empty")
    kept, tokens, total = cut_to_tokens(text, budget, safe_name(ref.filename))
    del text
    note = _cut_note(budget, total, shared=shared, limits=limits) if total > budget else None
    return TextAttachment(ref, "text", kept, tokens, encoding=encoding, note=note)


def _pdf(
    ref: AttachmentRef, data: bytes, budget: int, shared: bool, limits: AttachmentLimits
) -> TextAttachment:
    # Extract a little past the budget: enough to know it is over, no more.
    pdf = extract_pdf(data, max_pages=limits.max_pdf_pages, max_chars=budget * CHARS_PER_TOKEN)
    whole = pdf.pages_read == pdf.page_count
    kept, tokens, total = cut_to_tokens(pdf.text, budget, safe_name(ref.filename), whole=whole)
    if total > budget:
        note = _cut_note(budget, total if whole else None, shared=shared, limits=limits)
        if not whole:
            note += f", in page {pdf.pages_read} of {pdf.page_count}"
    elif not whole:
        note = f"only its first {pdf.pages_read} of {pdf.page_count} pages were read"
        kept += f"\n[… {note}]"
    else:
        note = None
    return TextAttachment(ref, "pdf", kept, tokens, note=note)


async def _image(ref: AttachmentRef, data: bytes, limits: AttachmentLimits) -> ImageAttachment:
    claimed = image_format_name(ref)
    prepared = await asyncio.to_thread(prepare_image, data, claimed=claimed, limits=limits)
    notes = []
    if prepared.animated:
        notes.append("an animated GIF: only its first frame is shown")
    if (prepared.width, prepared.height) != (prepared.original_width, prepared.original_height):
        notes.append(f"downscaled from {prepared.original_width}x{prepared.original_height}")
    return ImageAttachment(
        ref,
        prepared.data,
        prepared.mime,
        prepared.width,
        prepared.height,
        estimate_image_tokens(prepared.width, prepared.height),
        note="; ".join(notes) or None,
        original_width=prepared.original_width,
        original_height=prepared.original_height,
    )


def summarize(results: Sequence[AttachmentResult]) -> str | None:
    """One line for the member: which attachments were not read or only partly, and why.

    File names are as the member gave them: escape them for Discord markdown when showing."""
    skipped: dict[str, list[str]] = {}
    cut: dict[str, list[str]] = {}
    for result in results:
        if isinstance(result, SkippedAttachment):
            skipped.setdefault(result.reason, []).append(result.ref.filename)
        elif isinstance(result, TextAttachment) and result.note is not None:
            cut.setdefault(result.note, []).append(result.ref.filename)
    sentences = []
    if skipped:
        sentences.append("Not read: " + "; ".join(_group(n, r) for r, n in skipped.items()))
    if cut:
        sentences.append("Partly read: " + "; ".join(_group(n, r) for r, n in cut.items()))
    return ". ".join(sentences) + "." if sentences else None


def _group(names: list[str], reason: str) -> str:
    shown = ", ".join(names[:_NAMES_PER_REASON])
    if len(names) > _NAMES_PER_REASON:
        shown += f" and {len(names) - _NAMES_PER_REASON} more"
    return f"{shown} — {reason}"
