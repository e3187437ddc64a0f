"""Chat-completions content parts for a member's message with its attachments.

`chat_content_parts` keeps attachment order: text parts (the member's words, then each text
block or note) alternate with one `image_url` part per image, each image named by the text
just before it. Only the content list is built here; `bot.llm` decides how it is sent.
"""

from __future__ import annotations

from typing import Any

from bot.attachments.models import ImageAttachment, MessageAttachments


def image_content_part(image: ImageAttachment, *, detail: str | None = None) -> dict[str, Any]:
    """`{"type": "image_url", "image_url": {"url": "data:image/png;base64,…"}}`."""
    image_url: dict[str, Any] = {"url": image.data_url()}
    if detail is not None:
        image_url["detail"] = detail  # OpenAI's "low" / "high" / "auto"
    return {"type": "image_url", "image_url": image_url}


def chat_content_parts(text: str, reading: MessageAttachments) -> list[dict[str, Any]]:
    """The `content` list of a user message: `text`, then every attachment in order."""
    parts: list[dict[str, Any]] = []
    pending: list[str] = [text] if text else []
    for result in reading.results:
        pending.append(result.for_model())
        if isinstance(result, ImageAttachment):
            parts.append({"type": "text", "text": "\n\n".join(pending)})
            parts.append(image_content_part(result))
            pending = []
    if pending:
        parts.append({"type": "text", "text": "\n\n".join(pending)})
    return parts
