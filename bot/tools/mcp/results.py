"""An MCP `CallToolResult` as the text a model reads, with its images kept aside.

`render_result` joins the text blocks (and text resources) in order, names every other block
in a short bracketed note, and keeps image blocks as `ImagePart`s (PNG, JPEG, GIF or WebP
that decode, sized for the context budget from their header). The text is cut at
`max_chars` while it is read: a 10 MB text block is sliced, never joined or copied whole, and
the note says how much there was. Structured content is used only when the server sent no
content blocks (the spec asks servers to send its JSON as text too).

The result is a `ToolOutput` (`bot.llm.tools`): a `str` that also carries the images, which
the tool loop sends with the result to models that see images (each protocol where its
provider accepts them); other models read the notes, which name every image.
"""

from __future__ import annotations

import base64
import io
import json

from mcp.types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)
from PIL import Image

from bot.attachments.images import estimate_image_tokens
from bot.llm.tools import ToolOutput
from bot.llm.types import ImagePart

__all__ = ["MAX_IMAGES", "ToolOutput", "render_result"]

MAX_IMAGES = 8
# What every provider with vision reads (Anthropic's list; OpenAI's is the same).
IMAGE_MIMES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Base64 characters of one image kept for the model: 5 MiB decoded, Anthropic's limit.
MAX_IMAGE_CHARS = 6_990_000


def render_result(result: CallToolResult, *, max_chars: int, source: str = "tool") -> ToolOutput:
    """The model's view of `result`, at most about `max_chars` characters plus notes; its
    images are named after `source` (the tool)."""
    reader = _Reader(max_chars, source)
    for block in result.content:
        reader.block(block)
    if not result.content and result.structured_content is not None:
        reader.text(json.dumps(result.structured_content, ensure_ascii=False))
    return reader.output()


class _Reader:
    def __init__(self, max_chars: int, source: str) -> None:
        self.source = source
        self.budget = max_chars
        self.max_chars = max_chars
        self.seen = 0  # characters of text the server sent
        self.parts: list[str] = []
        self.images: list[ImagePart] = []

    def text(self, text: str) -> None:
        self.seen += len(text)
        if self.budget <= 0:
            return
        piece = text[: self.budget]  # a slice: only what is kept is copied
        self.budget -= len(piece)
        self.parts.append(piece)

    def note(self, text: str) -> None:
        self.parts.append(f"[{text}]")

    def block(self, block: object) -> None:
        if isinstance(block, TextContent):
            self.text(block.text)
        elif isinstance(block, ImageContent):
            self.image(block)
        elif isinstance(block, AudioContent):
            self.note(f"audio ({block.mime_type}) omitted: audio results are not supported")
        elif isinstance(block, ResourceLink):
            self.note(f"resource link: {block.uri}" + (f" ({block.name})" if block.name else ""))
        elif isinstance(block, EmbeddedResource):
            resource = block.resource
            if isinstance(resource, TextResourceContents):
                self.text(resource.text)
            elif isinstance(resource, BlobResourceContents):
                kind = resource.mime_type or "binary"
                self.note(f"embedded resource {resource.uri} ({kind}) omitted")
        else:
            self.note(f"a {type(block).__name__} block omitted")

    def image(self, block: ImageContent) -> None:
        number = len(self.images) + 1
        mime = block.mime_type
        if number > MAX_IMAGES:
            self.note(f"image ({mime}) omitted: more than {MAX_IMAGES} images")
            return
        if len(block.data) > MAX_IMAGE_CHARS:
            self.note(f"image ({mime}) omitted: too large")
            return
        if mime not in IMAGE_MIMES:
            self.note(f"image ({mime}) omitted: models read PNG, JPEG, GIF and WebP only")
            return
        size = _image_size(block.data)
        if size is None:
            self.note(f"image ({mime}) omitted: not a readable image")
            return
        tokens = estimate_image_tokens(*size)
        name = f"{self.source} image {number}"
        self.images.append(ImagePart(mime, block.data, tokens, name=name))
        kilobytes = max(1, len(block.data) * 3 // 4 // 1024)
        self.note(f"image {number}: {mime}, {size[0]}x{size[1]}, {kilobytes} KB")

    def output(self) -> ToolOutput:
        text = "\n".join(self.parts)
        if not text.strip():
            text = "(no output)"
        if self.seen > self.max_chars:
            text += (
                f"\n[output cut: the tool returned {self.seen:,} characters of text; "
                f"the first {self.max_chars:,} are shown]"
            )
        return ToolOutput(text, self.images)


def _image_size(data: str) -> tuple[int, int] | None:
    """(width, height) from the image's header, or None when it is not a readable image (a
    provider would refuse the whole request for it)."""
    try:
        raw = base64.b64decode(data, validate=True)
        with Image.open(io.BytesIO(raw)) as image:  # reads the header only
            width, height = image.size
    except (ValueError, OSError, Image.DecompressionBombError):
        return None
    return (width, height) if width > 0 and height > 0 else None
