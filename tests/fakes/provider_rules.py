"""What `FakeLLMServer`'s provider flavours refuse, and with which error body.

Thinking providers want parts of their own output back, unchanged, in later requests. The
fake remembers what it streamed (`Issued.record`, fed every scripted answer it plays) and
`check` refuses a request the real provider would refuse:

- "deepseek": with thinking on (the default of `deepseek-v4-*` and `deepseek-reasoner`, off
  with `thinking: {"type": "disabled"}`), every assistant message with `tool_calls` anywhere
  in `messages` must carry its `reasoning_content`; assistant messages without calls may omit
  it. DeepSeek's documented error is for a missing one; the fake also refuses a changed one
  (with the same body), which DeepSeek itself cannot detect.
- "gemini" (Gemini 3 through its OpenAI-compatible endpoint): in the current turn (after the
  last `user` message; `tool` messages are function responses, not user content) the first
  call of every assistant tool-call step must carry `extra_content.google.thought_signature`
  as issued. Earlier turns are not validated, and Google's documented dummy signature
  `skip_thought_signature_validator` is accepted anywhere. Gemini 2.x models are not checked.
  The compatible endpoint answers errors as a JSON list holding one error object.
- "openrouter": for Anthropic models with reasoning on (a `reasoning` request parameter, or a
  `:thinking` model), OpenRouter passes `reasoning_details` on as signed thinking blocks and
  Anthropic validates them: details that differ from the issued ones are refused anywhere;
  missing ones only on the assistant message whose tool results end the request (Anthropic
  ignores thinking of earlier turns, but requires it to continue a tool loop). The upstream
  error comes wrapped in OpenRouter's `{"error": {"code", "message", "metadata": {"raw"...}}}`.

"generic" checks nothing beyond `validate_chat_request`. No pytest imports here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "DEEPSEEK_MISSING_REASONING",
    "GEMINI_CORRUPTED_SIGNATURE",
    "GEMINI_SKIP_SIGNATURE",
    "Flavour",
    "Issued",
    "Rejection",
    "check",
    "deepseek_thinking",
    "gemini_missing_signature",
    "openrouter_reasoning",
    "openrouter_validates",
    "prompt_tokens",
]

Flavour = Literal["generic", "deepseek", "gemini", "openrouter"]

DEEPSEEK_MISSING_REASONING = (
    "The `reasoning_content` in the thinking mode must be passed back to the API."
)
GEMINI_CORRUPTED_SIGNATURE = "Corrupted thought signature."
# Google documents this value for function calls that have no real signature (histories
# built by hand or by another model); it switches the check off for that call.
GEMINI_SKIP_SIGNATURE = "skip_thought_signature_validator"
_DEEPSEEK_THINKING_BY_DEFAULT = ("deepseek-v4", "deepseek-reasoner")
_DETAIL_TEXT_FIELDS = ("text", "summary", "data")


def gemini_missing_signature(name: str, position: int) -> str:
    """Gemini's wording for a step whose first function call lost its signature."""
    return (
        "Function call is missing a thought_signature in functionCall parts. This is required "
        "for tools to work correctly, and missing thought_signature may lead to degraded model "
        f"performance. Additional data, function call `default_api:{name}` , position "
        f"{position}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures "
        "for more details."
    )


def _anthropic_missing_thinking(index: int, found: str) -> str:
    return (
        f"messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but "
        f"found `{found}`. When `thinking` is enabled, a final `assistant` message must start "
        "with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` "
        "blocks). We recommend you include thinking blocks from previous turns. To avoid this "
        "requirement, disable `thinking`. Please consult our documentation at "
        "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
    )


def _anthropic_bad_signature(index: int) -> str:
    return f"messages.{index}.content.0: Invalid `signature` in `thinking` block"


@dataclass(frozen=True)
class Rejection:
    """An error answer: the status, the provider's body, and the reason in plain words."""

    status: int
    body: bytes
    reason: str


@dataclass
class Issued:
    """What the fake streamed that a provider wants back, by the tool call id it came with."""

    reasoning_content: dict[str, str] = field(default_factory=dict)
    reasoning_details: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)
    call_ids: set[str] = field(default_factory=set)

    def clear(self) -> None:
        self.reasoning_content.clear()
        self.reasoning_details.clear()
        self.signatures.clear()
        self.call_ids.clear()

    def record(self, writes: list[bytes]) -> None:
        """Remember the artefacts of one streamed answer (its SSE bytes, as written)."""
        reasoning: list[str] = []
        details: dict[int, dict[str, Any]] = {}
        ids: list[str] = []
        by_index: dict[int, str] = {}
        extras: dict[str, dict[str, Any]] = {}
        for event in _sse_objects(b"".join(writes)):
            for choice in event.get("choices") or ():
                delta = choice.get("delta") if isinstance(choice, dict) else None
                if not isinstance(delta, dict):
                    continue
                piece = delta.get("reasoning_content")
                if isinstance(piece, str):
                    reasoning.append(piece)
                for detail in delta.get("reasoning_details") or ():
                    if isinstance(detail, dict):
                        _merge_detail(details, detail)
                for fragment in delta.get("tool_calls") or ():
                    if isinstance(fragment, dict):
                        _note_call(fragment, ids, by_index, extras)
        merged = [details[i] for i in sorted(details)]
        for call_id in ids:
            self.call_ids.add(call_id)
            if reasoning:
                self.reasoning_content[call_id] = "".join(reasoning)
            if merged:
                self.reasoning_details[call_id] = merged
            signature = _signature(extras.get(call_id))
            if signature is not None:
                self.signatures[call_id] = signature


def _sse_objects(raw: bytes) -> list[dict[str, Any]]:
    objects = []
    text = raw.decode("utf-8", "replace").replace("\r\n", "\n")
    for block in text.split("\n\n"):
        data = "\n".join(
            line[5:].lstrip(" ") for line in block.split("\n") if line.startswith("data:")
        )
        if not data or data == "[DONE]":
            continue
        try:
            value = json.loads(data)
        except ValueError:
            continue
        if isinstance(value, dict):
            objects.append(value)
    return objects


def _merge_detail(details: dict[int, dict[str, Any]], detail: dict[str, Any]) -> None:
    """OpenRouter streams each reasoning detail in fragments sharing an `index`."""
    index = detail.get("index")
    if not isinstance(index, int):
        index = len(details)
    known = details.get(index)
    if known is None:
        details[index] = dict(detail)
        return
    for key, value in detail.items():
        previous = known.get(key)
        if key in _DETAIL_TEXT_FIELDS and isinstance(previous, str) and isinstance(value, str):
            known[key] = previous + value
        elif value is not None:
            known[key] = value


def _note_call(
    fragment: dict[str, Any],
    ids: list[str],
    by_index: dict[int, str],
    extras: dict[str, dict[str, Any]],
) -> None:
    call_id = fragment.get("id")
    index = fragment.get("index")
    if isinstance(call_id, str) and call_id:
        if call_id not in ids:
            ids.append(call_id)
        if isinstance(index, int):
            by_index[index] = call_id
    elif isinstance(index, int) and index in by_index:
        call_id = by_index[index]
    else:
        return
    extra = fragment.get("extra_content")
    if isinstance(extra, dict):
        extras[call_id] = extra


def _signature(extra: Any) -> str | None:
    if not isinstance(extra, dict):
        return None
    google = extra.get("google")
    if not isinstance(google, dict):
        return None
    signature = google.get("thought_signature")
    return signature if isinstance(signature, str) else None


# --- when a provider checks at all ---------------------------------------------------------


def deepseek_thinking(body: dict[str, Any]) -> bool:
    """Whether DeepSeek runs this request in thinking mode."""
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "disabled"):
        return bool(thinking["type"] == "enabled")
    model = str(body.get("model") or "")
    return model.startswith(_DEEPSEEK_THINKING_BY_DEFAULT)


def openrouter_reasoning(body: dict[str, Any]) -> bool:
    """Whether OpenRouter asks the model to reason (and so streams reasoning details)."""
    model = str(body.get("model") or "")
    if model.endswith(":thinking"):
        return True
    reasoning = body.get("reasoning")
    if not isinstance(reasoning, dict):
        return False
    if reasoning.get("enabled") is False or reasoning.get("effort") == "none":
        return False
    return bool(reasoning.get("enabled") or reasoning.get("effort") or reasoning.get("max_tokens"))


def openrouter_validates(body: dict[str, Any]) -> bool:
    """Anthropic is the upstream that validates signed thinking sent back through OpenRouter."""
    return str(body.get("model") or "").startswith("anthropic/") and openrouter_reasoning(body)


def prompt_tokens(body: Any) -> int:
    """A rough prompt size: characters of every message text and tool call, divided by 4."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return 0
    chars = 0
    for message in body["messages"]:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            chars += sum(
                len(part["text"])
                for part in content
                if isinstance(part, dict) and isinstance(part.get("text"), str)
            )
        for call in message.get("tool_calls") or ():
            if isinstance(call, dict):
                chars += len(json.dumps(call.get("function"), ensure_ascii=False))
    return chars // 4


# --- the checks ----------------------------------------------------------------------------


def check(flavour: Flavour, body: dict[str, Any], issued: Issued) -> Rejection | None:
    """Why `flavour`'s provider would refuse this (already generically valid) request."""
    if flavour == "deepseek":
        return _deepseek(body, issued)
    if flavour == "gemini":
        return _gemini(body, issued)
    if flavour == "openrouter":
        return _openrouter(body, issued)
    return None


def _tool_call_messages(body: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return [
        (i, m)
        for i, m in enumerate(body["messages"])
        if m.get("role") == "assistant" and m.get("tool_calls")
    ]


def _deepseek(body: dict[str, Any], issued: Issued) -> Rejection | None:
    if not deepseek_thinking(body):
        return None
    for _, message in _tool_call_messages(body):
        sent = message.get("reasoning_content")
        if sent is None:
            return _deepseek_error(DEEPSEEK_MISSING_REASONING)
        for call in message["tool_calls"]:
            expected = issued.reasoning_content.get(call["id"])
            if expected is not None and sent != expected:
                return _deepseek_error(
                    DEEPSEEK_MISSING_REASONING,
                    reason=f"reasoning_content of {call['id']} changed",
                )
    return None


def _deepseek_error(message: str, *, reason: str | None = None) -> Rejection:
    body = {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_request_error",
        }
    }
    return Rejection(400, json.dumps(body).encode(), reason or message)


def _gemini(body: dict[str, Any], issued: Issued) -> Rejection | None:
    if str(body.get("model") or "").startswith(("gemini-2", "models/gemini-2")):
        return None
    messages = body["messages"]
    turn_start = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    for position, message in _tool_call_messages(body):
        if position < turn_start:
            continue
        for n, call in enumerate(message["tool_calls"]):
            signature = _signature(call.get("extra_content"))
            if signature == GEMINI_SKIP_SIGNATURE:
                continue
            if signature is None:
                if n == 0:  # only the first call of a step is signed (parallel calls)
                    name = call["function"]["name"]
                    return _gemini_error(gemini_missing_signature(name, position))
                continue
            expected = issued.signatures.get(call["id"])
            if call["id"] in issued.call_ids and signature != expected:
                return _gemini_error(
                    GEMINI_CORRUPTED_SIGNATURE, reason=f"signature of {call['id']} changed"
                )
    return None


def _gemini_error(message: str, *, reason: str | None = None) -> Rejection:
    body = [{"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}]
    return Rejection(400, json.dumps(body, indent=2).encode(), reason or message)


def _anthropic_positions(messages: list[dict[str, Any]]) -> dict[int, int]:
    """OpenAI message index → Anthropic message index (system leaves, tool results and user
    text merge into user turns), so errors name the position Anthropic would."""
    positions: dict[int, int] = {}
    roles: list[str] = []
    for i, message in enumerate(messages):
        role = message.get("role")
        if role in ("system", "developer"):
            continue
        side = "assistant" if role == "assistant" else "user"
        if not roles or roles[-1] != side:
            roles.append(side)
        positions[i] = len(roles) - 1
    return positions


def _normalised(details: Any) -> Any:
    if not isinstance(details, list):
        return details
    return [
        {k: v for k, v in d.items() if v is not None} if isinstance(d, dict) else d for d in details
    ]


def _openrouter(body: dict[str, Any], issued: Issued) -> Rejection | None:
    if not openrouter_validates(body):
        return None
    messages = body["messages"]
    positions = _anthropic_positions(messages)
    calls = _tool_call_messages(body)
    for i, message in calls:
        sent = message.get("reasoning_details")
        expected = issued.reasoning_details.get(message["tool_calls"][0]["id"])
        if sent and expected is not None and _normalised(sent) != _normalised(expected):
            return _openrouter_error(_anthropic_bad_signature(positions[i]))
    if calls and messages[-1].get("role") == "tool":
        i, message = calls[-1]
        if not _signed(message.get("reasoning_details")):
            found = "text" if message.get("content") else "tool_use"
            return _openrouter_error(_anthropic_missing_thinking(positions[i], found))
    return None


def _signed(details: Any) -> bool:
    """Whether the details still make a valid thinking block (signed text or redacted)."""
    if not isinstance(details, list):
        return False
    for detail in details:
        if not isinstance(detail, dict):
            continue
        if detail.get("type") == "reasoning.text" and detail.get("signature"):
            return True
        if detail.get("type") == "reasoning.encrypted" and detail.get("data"):
            return True
    return False


def _openrouter_error(message: str) -> Rejection:
    raw = {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": message},
        "request_id": "req_fake0000000000000000",
    }
    body = {
        "error": {
            "message": "Provider returned error",
            "code": 400,
            "metadata": {"raw": json.dumps(raw), "provider_name": "Anthropic", "is_byok": False},
        },
        "user_id": "user_fake",
    }
    return Rejection(400, json.dumps(body).encode(), message)
