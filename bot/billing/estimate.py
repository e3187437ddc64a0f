"""How many tokens a call may use at most, before it runs (for budget reservations)."""

from __future__ import annotations

from bot.llm.tokens import DEFAULT_MAX_OUTPUT_TOKENS
from bot.llm.types import ChatRequest
from bot.llm.usage import estimate_usage

# Our prompt count is a character heuristic; a real tokenizer can count more (code, URLs,
# rare scripts). The hold is a ceiling, so it leans high.
PROMPT_MARGIN_NUM, PROMPT_MARGIN_DEN = 5, 4


def worst_case_tokens(
    request: ChatRequest, default_max_output: int = DEFAULT_MAX_OUTPUT_TOKENS
) -> tuple[int, int]:
    """(prompt tokens, output tokens) a call can use at most: the estimated prompt with a
    margin, and the request's output limit (or `default_max_output` when it sets none)."""
    prompt = estimate_usage(request, "", "").prompt_tokens
    prompt = -(-prompt * PROMPT_MARGIN_NUM // PROMPT_MARGIN_DEN)
    output = request.max_tokens if request.max_tokens is not None else default_max_output
    return prompt, max(output, 0)
