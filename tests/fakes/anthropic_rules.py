"""What the fake Anthropic Messages API refuses, as Anthropic does: `validate_messages_request`
checks a request body (roles and their order, content blocks, tool use and results, images,
citations, thinking blocks and their signatures) and returns the 400 message Anthropic would
give, or None. `IssuedThinking` is what the fake streamed, which thinking blocks must bring
back unchanged. `FakeAnthropicServer` (tests/fakes/anthropic_server.py) applies it when
`strict`. No pytest imports.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["IssuedThinking", "validate_messages_request"]

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_THINKING_TYPES = ("thinking", "redacted_thinking")
_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"


@dataclass
class IssuedThinking:
    """What the fake streamed: signature → thinking text, redacted data, and for every tool
    call id the thinking blocks streamed in the same message (they must come back with it)."""

    signatures: dict[str, str] = field(default_factory=dict)
    redacted: set[str] = field(default_factory=set)
    by_tool: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def record(self, blocks: list[dict[str, Any]]) -> None:
        thinking = [b for b in blocks if b.get("type") in _THINKING_TYPES]
        for block in thinking:
            if block["type"] == "thinking":
                self.signatures[block.get("signature", "")] = block.get("thinking", "")
            else:
                self.redacted.add(block.get("data", ""))
        for block in blocks:
            if block.get("type") == "tool_use":
                self.by_tool[block["id"]] = thinking


def validate_messages_request(body: Any, issued: IssuedThinking | None = None) -> str | None:
    """Why Anthropic would reject this Messages request (its wording), or None if valid."""
    if not isinstance(body, dict):
        return "The request body is not valid JSON."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        return "max_tokens: Field required"
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Input should be greater than or equal to 1"
    if body.get("stream") is not True:
        return "This fake only streams: 'stream' must be true."
    problem = _check_options(body, max_tokens) or _check_system(body.get("system"))
    if problem is not None:
        return problem
    messages = body.get("messages")
    if messages is None:
        return "messages: Field required"
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    thinking = body.get("thinking")
    enabled = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    return _check_messages(messages, enabled, issued)


def _check_options(body: Mapping[str, Any], max_tokens: int) -> str | None:
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            return "tools: Input should be a valid list"
        for j, tool in enumerate(tools):
            if not isinstance(tool, dict):
                return f"tools.{j}: Input should be a valid dictionary"
            if str(tool.get("type", "")).startswith("web_search_"):
                # The server web search tool (a model's params add it): no schema of ours.
                if tool.get("name") != "web_search":
                    return f"tools.{j}.web_search.name: Input should be 'web_search'"
                continue
            name = tool.get("name")
            if not isinstance(name, str) or not _TOOL_NAME.match(name):
                return (
                    f"tools.{j}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
                )
            schema = tool.get("input_schema")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                return f"tools.{j}.custom.input_schema.type: Input should be 'object'"
            if "description" in tool and not isinstance(tool["description"], str):
                return f"tools.{j}.custom.description: Input should be a valid string"
    choice = body.get("tool_choice")
    if choice is not None and (
        not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none")
    ):
        return (
            "tool_choice: Input tag does not match any of the expected tags: "
            "'auto', 'any', 'tool', 'none'"
        )
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024:
            return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
        if max_tokens <= budget:
            return (
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
                f"documentation at {_DOCS}#max-tokens-and-context-window-size"
            )
        temperature = body.get("temperature")
        if temperature is not None and temperature != 1:
            return (
                "`temperature` may only be set to 1 when thinking is enabled. Please consult "
                f"our documentation at {_DOCS}#feature-compatibility"
            )
        if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
            return "Thinking may not be enabled when tool_choice forces tool use."
    return None


def _check_system(system: Any) -> str | None:
    if system is None or isinstance(system, str):
        return None
    if isinstance(system, list):
        for j, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text":
                return f"system.{j}.type: Input should be 'text'"
            problem = _check_text(block.get("text"))
            if problem is not None:
                return problem
        return None
    return "system: Input should be a valid string"


def _check_text(value: Any) -> str | None:
    if not isinstance(value, str):
        return "messages: text content blocks must be a string"
    if not value:
        return "messages: text content blocks must be non-empty"
    if value.isspace():
        return "messages: text content blocks must contain non-whitespace text"
    return None


def _blocks_of(i: int, message: dict[str, Any]) -> list[dict[str, Any]] | str:
    """The message's content as blocks, or the reason it is malformed."""
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        return f"messages.{i}.content: Input should be a valid list"
    if not content:
        return (
            f"messages.{i}: all messages must have non-empty content except for the "
            "optional final assistant message"
        )
    for j, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return f"messages.{i}.content.{j}: Input should be a valid dictionary"
    return content


def _check_messages(
    messages: list[Any], thinking_enabled: bool, issued: IssuedThinking | None
) -> str | None:
    pending: list[str] = []  # tool_use ids of the previous assistant message
    pending_at = 0
    previous_role: str | None = None
    all_blocks: list[list[dict[str, Any]]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"messages.{i}: Input should be a valid dictionary"
        role = message.get("role")
        if role not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        if i == 0 and role != "user":
            return 'messages: first message must use the "user" role'
        if role == previous_role:
            return (
                'messages: roles must alternate between "user" and "assistant", but found '
                f'multiple "{role}" roles in a row'
            )
        blocks = _blocks_of(i, message)
        if isinstance(blocks, str):
            return blocks
        all_blocks.append(blocks)
        for block in blocks:
            if block["type"] == "text":
                problem = _check_text(block.get("text"))
                if problem is not None:
                    return problem
        if role == "user":
            problem = _check_results(i, blocks, pending, pending_at)
            pending = []
        else:
            problem = _check_assistant(i, blocks, issued, final=i == len(messages) - 1)
            if problem is None and not thinking_enabled and i == len(messages) - 1:
                problem = _thinking_when_disabled(i, blocks)
            pending = [b["id"] for b in blocks if b["type"] == "tool_use"]
            pending_at = i
        if problem is not None:
            return problem
        previous_role = role
    if pending:
        return _missing_results(pending_at, pending)
    if thinking_enabled:
        return _check_tool_turn(all_blocks, issued)
    return None


def _missing_results(at: int, ids: list[str]) -> str:
    return (
        f"messages.{at}: `tool_use` ids were found without `tool_result` blocks immediately "
        f"after: {', '.join(ids)}. Each `tool_use` block must have a corresponding "
        "`tool_result` block in the next message."
    )


def _check_results(
    i: int, blocks: list[dict[str, Any]], pending: list[str], pending_at: int
) -> str | None:
    leading: list[str] = []
    for block in blocks:
        if block["type"] != "tool_result":
            break
        leading.append(block.get("tool_use_id", ""))
    missing = [call_id for call_id in pending if call_id not in leading]
    if missing:
        return _missing_results(pending_at, missing)
    for j, block in enumerate(blocks):
        if block["type"] != "tool_result":
            continue
        call_id = block.get("tool_use_id")
        if not isinstance(call_id, str) or call_id not in pending:
            return (
                f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` "
                f"blocks: {call_id}. Each `tool_result` block must have a corresponding "
                "`tool_use` block in the previous message."
            )
        content = block.get("content", "")
        if not isinstance(content, str | list):
            return f"messages.{i}.content.{j}.tool_result.content: Input should be a valid list"
        for k, inner in enumerate(content if isinstance(content, list) else ()):
            where = f"messages.{i}.content.{j}.tool_result.content.{k}"
            kind = inner.get("type") if isinstance(inner, dict) else None
            if kind not in _RESULT_BLOCKS:
                return (
                    f"{where}: Input tag '{kind}' found using 'type' does not match any of the "
                    "expected tags: 'text', 'image', 'search_result', 'document'"
                )
            problem = _check_image(where, inner) if kind == "image" else None
            if problem is not None:
                return problem
    return None


_RESULT_BLOCKS = {"text", "image", "search_result", "document"}
_IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


def _check_image(where: str, block: dict[str, Any]) -> str | None:
    """An image block: base64 data of a media type Anthropic reads (or a URL source)."""
    source = block.get("source")
    if not isinstance(source, dict) or source.get("type") not in ("base64", "url"):
        return f"{where}.image.source: Input tag does not match 'base64', 'url'"
    if source["type"] == "url":
        return None
    if source.get("media_type") not in _IMAGE_TYPES:
        return (
            f"{where}.image.source.base64.media_type: Input should be 'image/jpeg', "
            "'image/png', 'image/gif' or 'image/webp'"
        )
    data = source.get("data")
    if not isinstance(data, str) or not data:
        return f"{where}.image.source.base64.data: Field required"
    try:
        base64.b64decode(data, validate=True)
    except ValueError:
        return f"{where}.image.source.base64: The image data is not valid base64."
    return None


def _check_assistant(
    i: int, blocks: list[dict[str, Any]], issued: IssuedThinking | None, *, final: bool
) -> str | None:
    kinds = [block["type"] for block in blocks]
    has_thinking = any(kind in _THINKING_TYPES for kind in kinds)
    if has_thinking and kinds[0] not in _THINKING_TYPES:
        return (
            f"messages.{i}.content.0: If an assistant message contains any thinking blocks, "
            f"the first block must be thinking or redacted_thinking. Found {kinds[0]}."
        )
    if final and kinds[-1] == "thinking":
        return f"messages.{i}: The final block in an assistant message cannot be `thinking`."
    for j, block in enumerate(blocks):
        kind = block["type"]
        if kind == "tool_use":
            if not isinstance(block.get("id"), str) or not block["id"]:
                return f"messages.{i}.content.{j}.tool_use.id: Field required"
            if not isinstance(block.get("name"), str):
                return f"messages.{i}.content.{j}.tool_use.name: Field required"
            if not isinstance(block.get("input"), dict):
                return (
                    f"messages.{i}.content.{j}.tool_use.input: Input should be a valid dictionary"
                )
        elif kind == "thinking":
            text, signature = block.get("thinking"), block.get("signature")
            if not isinstance(text, str) or not isinstance(signature, str):
                return f"messages.{i}.content.{j}.thinking.signature: Field required"
            if issued is not None and issued.signatures.get(signature) != text:
                return f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
        elif kind == "text" and "citations" in block:
            # Citations may come back only as received, each with its encrypted index.
            citations = block["citations"]
            if not isinstance(citations, list) or not all(
                isinstance(c, dict) and isinstance(c.get("encrypted_index"), str) for c in citations
            ):
                return f"messages.{i}.content.{j}.text.citations: Field required: encrypted_index"
        elif kind == "redacted_thinking":
            data = block.get("data")
            if not isinstance(data, str):
                return f"messages.{i}.content.{j}.redacted_thinking.data: Field required"
            if issued is not None and data not in issued.redacted:
                return f"messages.{i}.content.{j}: Invalid `data` in `redacted_thinking` block"
    return None


def _thinking_when_disabled(i: int, blocks: list[dict[str, Any]]) -> str | None:
    for j, block in enumerate(blocks):
        if block["type"] in _THINKING_TYPES:
            return (
                f"messages.{i}.content.{j}: When thinking is disabled, an `assistant` message "
                "in the final position cannot contain `thinking`. To use thinking blocks, "
                "enable `thinking` in your request."
            )
    return None


def _check_tool_turn(
    all_blocks: list[list[dict[str, Any]]], issued: IssuedThinking | None
) -> str | None:
    """With thinking on, every assistant message of the current tool-use turn (after the
    last user message that is more than tool results) must start with its thinking."""
    start = 0
    for i in range(0, len(all_blocks), 2):  # user messages are the even ones
        if any(block["type"] != "tool_result" for block in all_blocks[i]):
            start = i
    for i in range(start + 1, len(all_blocks), 2):
        blocks = all_blocks[i]
        calls = [block["id"] for block in blocks if block["type"] == "tool_use"]
        if not calls:
            continue
        first = blocks[0]["type"]
        if first not in _THINKING_TYPES:
            return (
                f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but "
                f"found `{first}`. When `thinking` is enabled, a final `assistant` message must "
                "start with a thinking block (preceeding the lastmost set of `tool_use` and "
                "`tool_result` blocks). We recommend you include thinking blocks from previous "
                "turns. To avoid this requirement, disable `thinking`. Please consult our "
                f"documentation at {_DOCS}"
            )
        if issued is None:
            continue
        sent = [block for block in blocks if block["type"] in _THINKING_TYPES]
        for call_id in calls:
            expected = issued.by_tool.get(call_id)
            if expected is not None and sent != expected:
                # Stricter than Anthropic (which checks signatures only): a dropped or
                # reordered block of the turn is what this fake exists to catch.
                return (
                    f"messages.{i}: the thinking blocks streamed with `tool_use` {call_id} must "
                    "be sent back complete, unchanged and in order (fake check)."
                )
    return None
