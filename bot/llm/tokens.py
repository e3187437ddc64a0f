"""The one token estimate of text, messages and requests.

Everything that needs a token count before a provider has answered uses these: trimming
history to the context window (`bot.services.trim`), the room left for tool definitions, the
worst case a budget holds before a call (`bot.billing.estimate`) and the usage of a call the
provider did not report (`bot.llm.usage.estimate_usage`). One estimate, so the request that
was trimmed to fit is the request that is reserved for. Images are counted by their own
estimate (`ImagePart.tokens`, from `bot.attachments.images.estimate_image_tokens`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from bot.llm.types import Artefacts, ChatMessage, ChatRequest, ToolSpec

# Scripts where one character is roughly one token (CJK ideographs, kana, hangul).
_DENSE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
# Per-message framing (role, separators) that the chat template adds around the text
# (OpenAI documents ~3-4).
MESSAGE_OVERHEAD_TOKENS = 4
# A tool call's id, type and JSON framing, beside its name and arguments.
TOOL_CALL_OVERHEAD_TOKENS = 8
# What every request costs beyond its messages (the reply's priming).
REQUEST_OVERHEAD_TOKENS = 3

# Output tokens a call may use when neither the request nor the settings say.
DEFAULT_MAX_OUTPUT_TOKENS = 4096

TokenCounter = Callable[[str], int]


def estimate_tokens(text: str) -> int:
    """A cheap deterministic token estimate of `text`: ~4 characters a token, 1 per CJK
    character. Framing is added by `message_tokens`, not here, so any plain text counter
    (e.g. a real tokenizer) can be passed in its place."""
    if text.isascii():  # the common case, and the hot one: no scan for dense scripts
        return (len(text) + 3) // 4
    dense = len(_DENSE.findall(text))
    return dense + (len(text) - dense + 3) // 4


def artefact_tokens(artefacts: Artefacts, count: TokenCounter = estimate_tokens) -> int:
    """What sending a round's provider artefacts back costs (reasoning sent back is
    prompt text for the provider, signatures and encrypted blobs are counted as text)."""
    return count(json.dumps(artefacts.data, ensure_ascii=False)) if artefacts.data else 0


def message_tokens(message: ChatMessage, count: TokenCounter = estimate_tokens) -> int:
    """Estimated prompt tokens of one message, framing, artefacts and images included."""
    tokens = MESSAGE_OVERHEAD_TOKENS
    if message.content:
        tokens += count(message.content)
    for call in message.tool_calls:
        tokens += TOOL_CALL_OVERHEAD_TOKENS + count(call.name) + count(call.arguments)
    if message.artefacts is not None:
        tokens += artefact_tokens(message.artefacts, count)
    return tokens + sum(image.tokens for image in message.images)


def tool_spec_tokens(spec: ToolSpec, count: TokenCounter = estimate_tokens) -> int:
    """What offering one tool costs in the prompt: its name, description and schema."""
    schema = json.dumps(dict(spec.parameters), default=str)
    return MESSAGE_OVERHEAD_TOKENS + count(spec.name) + count(spec.description) + count(schema)


def request_tokens(request: ChatRequest) -> int:
    """Estimated prompt tokens of a whole request: its messages and its tools."""
    tokens = REQUEST_OVERHEAD_TOKENS
    tokens += sum(message_tokens(message) for message in request.messages)
    return tokens + sum(tool_spec_tokens(tool) for tool in request.tools)
