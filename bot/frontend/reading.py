"""What the model reads of a member's Discord message, stored with it once and for all.

A member message becomes, in this order:
- when it starts a conversation with a mention in a channel or thread that is not one yet,
  the recent messages there (up to `CONTEXT_MESSAGES`), marked as context, not as the
  member's words;
- when it replies to a message (anyone's), that message: author, text and attachments;
- the member's own words;
- its attachments as read by `bot.attachments` (text, code and PDFs as text; images kept as
  downscaled bytes for models that see images; what was skipped, and why).

Everything is stored with the message (`messages.content` and `message_attachments`), so the
conversation still has it after a restart and after Discord's attachment links expire.
`notes` are lines for the member about attachments that were skipped or cut.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import aiohttp
import discord

from bot.attachments import (
    AttachmentLimits,
    AttachmentRef,
    ImageAttachment,
    MessageAttachments,
    SkippedAttachment,
    TextAttachment,
    read_attachments,
)
from bot.frontend.text import display_name
from bot.storage.models import StoredAttachment

log = logging.getLogger(__name__)

EMPTY = "(no text)"
# How much of a replied-to or context message is quoted (its own attachments are named only).
QUOTE_MAX = 1500


@dataclass(frozen=True, slots=True)
class ReadMessage:
    content: str
    attachments: tuple[StoredAttachment, ...] = ()
    notes: tuple[str, ...] = ()


class MessageReader:
    def __init__(
        self, session: aiohttp.ClientSession, limits: AttachmentLimits, context_messages: int
    ) -> None:
        self._session = session
        self._limits = limits
        self._context_messages = context_messages

    async def read(
        self, message: discord.Message, text: str, *, with_context: bool = False
    ) -> ReadMessage:
        blocks: list[str] = []
        if with_context and self._context_messages:
            context = await self._context_before(message)
            if context:
                blocks.append(context)
        replied = await self._replied_to(message)
        if replied:
            blocks.append(replied)
        if text:
            blocks.append(text)
        attachments: tuple[StoredAttachment, ...] = ()
        notes: tuple[str, ...] = ()
        if message.attachments:
            reading = await read_attachments(self._session, refs(message.attachments), self._limits)
            blocks.append(reading.model_text())
            attachments = stored(reading)
            if reading.summary:
                notes = (reading.summary,)
        return ReadMessage("\n\n".join(blocks) or EMPTY, attachments, notes)

    async def _replied_to(self, message: discord.Message) -> str | None:
        reference = message.reference
        if reference is None or reference.message_id is None:
            return None
        target = reference.resolved
        if target is None:
            try:
                target = await message.channel.fetch_message(reference.message_id)
            except discord.NotFound:
                return "[The member replies to a message that has been deleted.]"
            except discord.HTTPException as exc:
                log.info("could not read the message replied to: %s", exc)
                return None
        if isinstance(target, discord.DeletedReferencedMessage):
            return "[The member replies to a message that has been deleted.]"
        return f"[The member replies to this message]\n{quote(target)}"

    async def _context_before(self, message: discord.Message) -> str | None:
        lines: list[str] = []
        try:
            async for earlier in message.channel.history(
                limit=self._context_messages, before=message
            ):
                lines.append(quote(earlier))
        except discord.HTTPException as exc:
            log.info("could not read the channel's recent messages: %s", exc)
            return None
        if not lines:
            return None
        lines.reverse()
        head = (
            "[Recent messages in this channel before the member asked, for context; they "
            "were not addressed to you]"
        )
        return "\n".join([head, *lines, "[End of context. The member's message follows.]"])


def quote(message: discord.Message) -> str:
    """`[Name]: text` of another message, its attachments named, shortened."""
    text = message.content or ""
    if len(text) > QUOTE_MAX:
        text = text[:QUOTE_MAX] + " […]"
    names = ", ".join(a.filename for a in message.attachments)
    if names:
        text = f"{text} [attachments: {names}]".strip()
    who = display_name(message.author) + (" (a bot)" if message.author.bot else "")
    return f"[{who}]: {text or EMPTY}"


def refs(attachments: Sequence[discord.Attachment]) -> list[AttachmentRef]:
    return [AttachmentRef(a.filename, a.content_type, a.size, a.url) for a in attachments]


def stored(reading: MessageAttachments) -> tuple[StoredAttachment, ...]:
    """What is kept of each attachment (images as their downscaled bytes)."""
    kept: list[StoredAttachment] = []
    for position, result in enumerate(reading.results):
        name = result.ref.filename
        if isinstance(result, ImageAttachment):
            image = StoredAttachment(
                position,
                "image",
                name,
                mime=result.mime,
                data=result.data,
                width=result.width,
                height=result.height,
                tokens=result.tokens,
            )
            kept.append(image)
        elif isinstance(result, TextAttachment):
            text = StoredAttachment(position, result.kind, name, text=result.text)
            kept.append(replace(text, tokens=result.tokens))
        elif isinstance(result, SkippedAttachment):
            kept.append(StoredAttachment(position, "skipped", name, text=result.reason))
    return tuple(kept)
