"""An MCP `CallToolResult` as the text a model reads, with its images kept aside.

`render_result` joins the text blocks (and text resources) in order, names every other block
in a short bracketed note, and keeps image blocks as `ToolImage`s. The text is cut at
`max_chars` while it is read: a 10 MB text block is sliced, never joined or copied whole, and
the note says how much there was. Structured content is used only when the server sent no
content blocks (the spec asks servers to send its JSON as text too).

`ToolOutput` is a `str` (so it is a valid tool result anywhere) that also carries the images
in `.images`; a model with vision can be shown them as image parts (`ToolImage.content_part`)
once the tool loop passes them on. Until then the model reads the notes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

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

MAX_IMAGES = 8
# Base64 characters of one image kept for the model (about 5 MB decoded).
MAX_IMAGE_CHARS = 7_000_000


@dataclass(frozen=True, slots=True)
class ToolImage:
    mime_type: str
    data: str  # base64, as the server sent it

    @property
    def approx_bytes(self) -> int:
        """The decoded size (exact for well-formed base64)."""
        return len(self.data) * 3 // 4 - self.data[-2:].count("=")

    def data_url(self) -> str:
        return f"data:{self.mime_type};base64,{self.data}"

    def content_part(self) -> dict[str, Any]:
        """A chat-completions `image_url` content part."""
        return {"type": "image_url", "image_url": {"url": self.data_url()}}


class ToolOutput(str):
    """Tool result text that also carries the result's images (`images`, maybe empty)."""

    images: tuple[ToolImage, ...]

    def __new__(cls, text: str, images: Iterable[ToolImage] = ()) -> ToolOutput:
        output = super().__new__(cls, text)
        output.images = tuple(images)
        return output


def render_result(result: CallToolResult, *, max_chars: int) -> ToolOutput:
    """The model's view of `result`, at most about `max_chars` characters plus notes."""
    reader = _Reader(max_chars)
    for block in result.content:
        reader.block(block)
    if not result.content and result.structured_content is not None:
        reader.text(json.dumps(result.structured_content, ensure_ascii=False))
    return reader.output()


class _Reader:
    def __init__(self, max_chars: int) -> None:
        self.budget = max_chars
        self.max_chars = max_chars
        self.seen = 0  # characters of text the server sent
        self.parts: list[str] = []
        self.images: list[ToolImage] = []

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
        if number > MAX_IMAGES:
            self.note(f"image ({block.mime_type}) omitted: more than {MAX_IMAGES} images")
        elif len(block.data) > MAX_IMAGE_CHARS:
            self.note(f"image ({block.mime_type}) omitted: too large")
        else:
            image = ToolImage(block.mime_type, block.data)
            self.images.append(image)
            size = max(1, image.approx_bytes // 1024)
            self.note(f"image {number}: {block.mime_type}, {size} KB")

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
