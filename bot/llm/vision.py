"""Which models see images, and what a model that does not is given instead.

A model's `vision` setting in the configuration file decides; otherwise the model's name is
matched against families known to see images (or known not to); otherwise images are sent,
and a provider that refuses them makes the router retry once without them and remember it.
A model without vision reads a line saying an image was attached and that it can't see it,
so it never pretends to have looked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from bot.llm.types import ChatMessage

__all__ = ["IMAGE_REFUSAL", "known_vision", "without_images"]

_SEES = re.compile(
    r"gpt-4o|gpt-4\.1|gpt-4-turbo|gpt-4-vision|gpt-5(?!-chat-latest-text)|chatgpt-4o|\bo[134]\b"
    r"|\bo[34]-|claude-(?:3|sonnet|opus|haiku)|gemini|gemma-3|llava|bakllava|pixtral|-vl\b"
    r"|-vl-|qwen2\.5-vl|qwen-vl|vision|grok-(?:2-vision|4)|llama-4|mistral-(?:small|medium)-3"
    r"|minicpm-v|moondream",
    re.IGNORECASE,
)
_BLIND = re.compile(
    r"deepseek(?!-vl)|o1-mini|o3-mini|gpt-3\.5|gpt-oss|qwen3(?!-vl)|qwq|llama-?3(?:\.1|\.3)?(?!\.2-vision)"
    r"|mistral-7b|mixtral|codestral|phi-[34](?!-vision)|kimi-k2",
    re.IGNORECASE,
)
# What a provider says when it refuses images (so the router retries without them).
IMAGE_REFUSAL = re.compile(
    r"image|vision|multimodal|multi-modal|image_url|content.{0,30}(?:type|part)",
    re.IGNORECASE,
)


def known_vision(model: str) -> bool | None:
    """True for model families known to see images, False for ones known not to, else None."""
    if _BLIND.search(model):
        return False
    if _SEES.search(model):
        return True
    return None


def without_images(messages: Sequence[ChatMessage]) -> tuple[ChatMessage, ...]:
    """`messages` with every image replaced by a line saying it was there."""
    if not any(m.images for m in messages):
        return tuple(messages)
    out: list[ChatMessage] = []
    for message in messages:
        if not message.images:
            out.append(message)
            continue
        names = ", ".join(image.name for image in message.images)
        if message.role == "tool":  # its text names each image already
            line = "[This model can't see the images the tool returned.]"
            out.append(replace(message, content=f"{message.content}\n{line}", images=()))
            continue
        line = (
            f"[The member attached {len(message.images)} image(s) ({names}); this model can't "
            "see images, so say so if they matter.]"
        )
        content = f"{message.content}\n\n{line}" if message.content else line
        out.append(replace(message, content=content, images=()))
    return tuple(out)
