"""Token usage: provider shapes normalised into `Usage`, and estimates when none was sent.

`Usage` follows OpenAI's inclusive convention: cached tokens are a part of prompt tokens and
reasoning tokens a part of completion tokens. Shapes understood by `parse_usage`:

- OpenAI / OpenRouter / Groq / Mistral: `prompt_tokens`, `completion_tokens`,
  `prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens`;
  OpenRouter adds `cost` (dollars) → `provider_cost_usd`.
- DeepSeek: `prompt_cache_hit_tokens` / `prompt_cache_miss_tokens` (hits are the cached part).
- Anthropic-compatible: `input_tokens` excludes cache reads and writes, so they are added back.
- Gemini native (`promptTokenCount`, `candidatesTokenCount` excluding `thoughtsTokenCount`).

A provider that reports a sub-count larger than its total is using the exclusive convention;
the total is then widened so nothing is billed twice or negative.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from bot.llm.tokens import TOOL_CALL_OVERHEAD_TOKENS, estimate_tokens, request_tokens
from bot.llm.types import ChatRequest, ToolCall, Usage

__all__ = ["estimate_usage", "parse_usage"]


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float) and math.isfinite(value):
        return max(int(value), 0)
    if isinstance(value, str):
        try:
            return max(int(float(value)), 0)
        except ValueError:
            return 0
    return 0


def _sub(obj: Mapping[str, Any], key: str, field: str) -> int:
    details = obj.get(key)
    return _int(details.get(field)) if isinstance(details, Mapping) else 0


def _cost(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
        return float(value)
    if isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            return None
        return parsed if math.isfinite(parsed) and parsed >= 0 else None
    return None


def parse_usage(obj: Mapping[str, Any]) -> Usage:
    """Normalise any supported usage object; unknown shapes give zero counts."""
    if "promptTokenCount" in obj or "candidatesTokenCount" in obj:
        thoughts = _int(obj.get("thoughtsTokenCount"))
        return _usage(
            _int(obj.get("promptTokenCount")),
            _int(obj.get("candidatesTokenCount")) + thoughts,
            _int(obj.get("cachedContentTokenCount")),
            thoughts,
            None,
        )
    if "prompt_tokens" not in obj and "input_tokens" in obj:
        # Anthropic counts cache reads and writes apart from input_tokens; the Responses API
        # counts cached tokens inside input_tokens (input_tokens_details.cached_tokens).
        cache_read = _int(obj.get("cache_read_input_tokens"))
        cache_write = _int(obj.get("cache_creation_input_tokens"))
        cached = cache_read or _sub(obj, "input_tokens_details", "cached_tokens")
        usage = _usage(
            _int(obj.get("input_tokens")) + cache_read + cache_write,
            _int(obj.get("output_tokens")),
            cached,
            _sub(obj, "output_tokens_details", "reasoning_tokens"),
            _cost(obj.get("cost")),
        )
        return replace(usage, cache_write_tokens=cache_write) if cache_write else usage
    prompt = _int(obj.get("prompt_tokens"))
    cached = _sub(obj, "prompt_tokens_details", "cached_tokens")
    if "prompt_cache_hit_tokens" in obj:  # DeepSeek
        hit = _int(obj.get("prompt_cache_hit_tokens"))
        cached = max(cached, hit)
        if not prompt:
            prompt = hit + _int(obj.get("prompt_cache_miss_tokens"))
    completion = _int(obj.get("completion_tokens"))
    reasoning = _sub(obj, "completion_tokens_details", "reasoning_tokens")
    if not reasoning:
        reasoning = _int(obj.get("reasoning_tokens"))
    if not prompt and not completion and "total_tokens" in obj:
        prompt = _int(obj.get("total_tokens"))
    return _usage(prompt, completion, cached, reasoning, _cost(obj.get("cost")))


def _usage(prompt: int, completion: int, cached: int, reasoning: int, cost: float | None) -> Usage:
    # A sub-count above its total means the provider counted it separately: widen the total.
    if cached > prompt:
        prompt += cached
    if reasoning > completion:
        completion += reasoning
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        reasoning_tokens=reasoning,
        provider_cost_usd=cost,
    )


def estimate_usage(
    request: ChatRequest,
    completion_text: str,
    reasoning: str,
    tool_calls: Iterable[ToolCall] = (),
) -> Usage:
    """Usage of a call the provider did not report (stopped stream, provider omits it)."""
    reasoning_tokens = estimate_tokens(reasoning)
    completion = estimate_tokens(completion_text) + reasoning_tokens
    for call in tool_calls:
        completion += TOOL_CALL_OVERHEAD_TOKENS + estimate_tokens(call.name)
        completion += estimate_tokens(call.arguments)
    return Usage(
        prompt_tokens=request_tokens(request),
        completion_tokens=completion,
        reasoning_tokens=reasoning_tokens,
        estimated=True,
    )
