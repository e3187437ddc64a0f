"""parse_usage across provider shapes; estimates when usage is missing."""

from __future__ import annotations

from bot.llm.tokens import estimate_tokens
from bot.llm.types import ChatMessage, ChatRequest, ToolCall, ToolSpec, Usage
from bot.llm.usage import estimate_usage, parse_usage


def test_usage_openai_details_are_inclusive() -> None:
    usage = parse_usage(
        {
            "prompt_tokens": 1200,
            "completion_tokens": 300,
            "total_tokens": 1500,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 200},
        }
    )
    assert usage == Usage(1200, 300, cached_tokens=1024, reasoning_tokens=200)
    assert usage.total_tokens == 1500


def test_usage_deepseek_cache_hits_are_cached_tokens() -> None:
    usage = parse_usage(
        {
            "prompt_tokens": 100,
            "completion_tokens": 20,
            "prompt_cache_hit_tokens": 64,
            "prompt_cache_miss_tokens": 36,
            "completion_tokens_details": {"reasoning_tokens": 12},
        }
    )
    assert usage == Usage(100, 20, cached_tokens=64, reasoning_tokens=12)


def test_usage_deepseek_without_prompt_total_sums_hits_and_misses() -> None:
    usage = parse_usage({"prompt_cache_hit_tokens": 5, "prompt_cache_miss_tokens": 7})
    assert (usage.prompt_tokens, usage.cached_tokens) == (12, 5)


def test_usage_openrouter_cost_is_kept() -> None:
    usage = parse_usage({"prompt_tokens": 10, "completion_tokens": 2, "cost": 0.00042})
    assert usage.provider_cost_usd == 0.00042
    assert parse_usage({"prompt_tokens": 1, "cost": "bad"}).provider_cost_usd is None


def test_usage_anthropic_shape_adds_cache_back_into_prompt() -> None:
    usage = parse_usage(
        {
            "input_tokens": 50,
            "output_tokens": 10,
            "cache_read_input_tokens": 900,
            "cache_creation_input_tokens": 100,
        }
    )
    assert usage == Usage(1050, 10, cached_tokens=900, cache_write_tokens=100)


def test_usage_responses_shape_keeps_cached_inside_input() -> None:
    usage = parse_usage(
        {
            "input_tokens": 1200,
            "input_tokens_details": {"cached_tokens": 1000},
            "output_tokens": 300,
            "output_tokens_details": {"reasoning_tokens": 200},
        }
    )
    assert usage == Usage(1200, 300, cached_tokens=1000, reasoning_tokens=200)


def test_usage_gemini_native_thoughts_join_completion() -> None:
    usage = parse_usage(
        {"promptTokenCount": 30, "candidatesTokenCount": 8, "thoughtsTokenCount": 40}
    )
    assert usage == Usage(30, 48, reasoning_tokens=40)


def test_usage_exclusive_reasoning_widens_completion() -> None:
    usage = parse_usage(
        {
            "prompt_tokens": 5,
            "completion_tokens": 10,
            "completion_tokens_details": {"reasoning_tokens": 30},
        }
    )
    assert (usage.completion_tokens, usage.reasoning_tokens) == (40, 30)


def test_usage_garbage_values_become_zero() -> None:
    usage = parse_usage(
        {
            "prompt_tokens": None,
            "completion_tokens": "7",
            "prompt_tokens_details": None,
            "completion_tokens_details": {"reasoning_tokens": -3},
        }
    )
    assert usage == Usage(0, 7)
    assert parse_usage({}) == Usage()


def test_usage_estimate_tokens_is_about_four_chars_and_dense_for_cjk() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("a") == 1
    assert estimate_tokens("x" * 400) == 100
    assert estimate_tokens("漢字" * 50) == 100
    assert estimate_tokens("hello 世界") == 2 + 2
    assert estimate_tokens("same text") == estimate_tokens("same text")


def test_usage_estimate_usage_is_flagged_and_counts_everything() -> None:
    request = ChatRequest(
        model="m",
        messages=[
            ChatMessage("system", "s" * 40),
            ChatMessage("user", "u" * 400),
            ChatMessage("assistant", None, (ToolCall("c1", "calculator", '{"e": "1"}'),)),
            ChatMessage("tool", "2", tool_call_id="c1"),
        ],
        tools=[ToolSpec("calculator", "does math", {"type": "object"})],
    )
    usage = estimate_usage(request, "a" * 80, "r" * 40, [ToolCall("c2", "calc", "{}")])
    assert usage.estimated
    assert usage.prompt_tokens > 110
    assert usage.reasoning_tokens == 10
    assert usage.completion_tokens >= 20 + 10 + 2
    assert usage.cached_tokens == 0
