"""The Responses API's `usage` object (OpenAI's inclusive convention) as `Usage`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from bot.llm.types import Usage

__all__ = ["parse_responses_usage"]


def _count(value: Any) -> int:
    if value.__class__ is int:
        return max(int(value), 0)
    if isinstance(value, float) and math.isfinite(value):
        return max(int(value), 0)
    return 0


def _detail(obj: Mapping[str, Any], key: str, field: str) -> int:
    details = obj.get(key)
    return _count(details.get(field)) if isinstance(details, Mapping) else 0


def parse_responses_usage(obj: Mapping[str, Any]) -> Usage:
    """`response.usage` → `Usage`. Already inclusive: `input_tokens` counts the cached and
    cache-written tokens, `output_tokens` the reasoning tokens; a sub-count above its total
    (a server counting exclusively) widens the total so nothing is billed twice."""
    prompt = _count(obj.get("input_tokens"))
    completion = _count(obj.get("output_tokens"))
    cached = _detail(obj, "input_tokens_details", "cached_tokens")
    written = _detail(obj, "input_tokens_details", "cache_write_tokens")
    reasoning = _detail(obj, "output_tokens_details", "reasoning_tokens")
    prompt = max(prompt, cached + written)
    completion = max(completion, reasoning)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        reasoning_tokens=reasoning,
        cache_write_tokens=written,
    )
