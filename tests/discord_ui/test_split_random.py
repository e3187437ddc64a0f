"""Randomised split invariants over thousands of generated markdown answers (seeded)."""

from __future__ import annotations

import random

import pytest

from bot.discord_ui.split import Part, split_markdown
from tests.discord_ui.mdcheck import check_parts, word_at
from tests.discord_ui.mdgen import MAX_NORMAL_WORD, generate


def _check_words(text: str, parts: list[Part]) -> None:
    for part in parts[:-1]:
        word = word_at(text, part.end)
        if word:
            # Only a word longer than any normal one may be cut: the deliberate long runs.
            assert len(word) > MAX_NORMAL_WORD, (word, part)


@pytest.mark.parametrize("seed", range(4))
def test_split_random_texts_keep_invariants(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(600):
        text = generate(rng)
        budget = rng.randint(200, 1800)
        first = rng.randint(200, budget) if rng.random() < 0.5 else None
        last_extra = rng.randint(0, 80) if rng.random() < 0.3 else 0
        parts = split_markdown(text, budget, first_budget=first, last_extra=last_extra)
        check_parts(text, parts, budget, first, last_extra)
        _check_words(text, parts)


def test_split_random_prefix_stability() -> None:
    """Once a later part has started, earlier parts never change as more text arrives."""
    rng = random.Random(1234)
    for _ in range(60):
        text = generate(rng).rstrip()
        budget = rng.randint(200, 900)
        full = split_markdown(text, budget)
        for _ in range(15):
            prefix = text[: rng.randint(1, len(text))].rstrip()
            if not prefix:
                continue
            parts = split_markdown(prefix, budget)
            assert parts[:-1] == full[: len(parts) - 1]
