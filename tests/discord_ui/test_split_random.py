"""Randomised split invariants over thousands of generated markdown answers (seeded)."""

from __future__ import annotations

import random

import pytest

from bot.discord_ui.split import split_markdown
from tests.discord_ui.mdcheck import check_parts, word_at

ASCII_WORDS = ["the", "a", "model", "tool", "answer", "code", "list", "item", "value", "await"]
CJK = "我们今天讨论如何把很长的回答拆分成多条消息每一条都能单独显示"
RTL = ["שלום", "עולם", "مرحبا", "بالعالم", "كتاب"]
EMOJI = [
    "😀",
    "👍🏽",
    "👨‍👩‍👧‍👦",
    "🏳️‍🌈",
    "🇫🇷",
    "🇯🇵🇩🇪",
    "1️⃣",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "e\u0301",
    "❤️",
]
MAX_NORMAL_WORD = 30  # every generated word is shorter, except the deliberate long ones


def _word(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.6:
        return rng.choice(ASCII_WORDS)
    if kind < 0.7:
        start = rng.randrange(len(CJK))
        return CJK[start : start + rng.randint(1, 8)] + rng.choice(["", "\u3002", "\uff0c"])
    if kind < 0.78:
        return rng.choice(RTL)
    if kind < 0.88:
        return rng.choice(EMOJI) * rng.randint(1, 3)
    if kind < 0.92:
        return "**" + rng.choice(ASCII_WORDS) + " " + rng.choice(ASCII_WORDS) + "**"
    if kind < 0.96:
        return "`" + rng.choice(ASCII_WORDS) + " x`"
    return (
        "["
        + rng.choice(ASCII_WORDS)
        + " link](https://example.com/"
        + str(rng.randint(0, 99))
        + ")"
    )


def _paragraph(rng: random.Random, n_words: int) -> str:
    return " ".join(_word(rng) for _ in range(n_words))


def _block(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.35:
        return _paragraph(rng, rng.randint(3, 80))
    if kind < 0.5:
        marker = rng.choice(["-", "*", "1."])
        return "\n".join(
            f"{marker} {_paragraph(rng, rng.randint(1, 12))}" for _ in range(rng.randint(2, 8))
        )
    if kind < 0.75:
        ticks = rng.choice([3, 3, 3, 4, 5])
        lang = rng.choice(["", "py", "python", "js", "c++", "bash"])
        body = "\n".join(
            ("    " * rng.randint(0, 2)) + _paragraph(rng, rng.randint(0, 10))
            for _ in range(rng.randint(1, 40))
        )
        if ticks > 3 and rng.random() < 0.7:
            body += "\n```py\nnested = True\n```"
        closing = "" if rng.random() < 0.1 else "\n" + "`" * ticks
        indent = "   " if rng.random() < 0.1 else ""
        return f"{indent}{'`' * ticks}{lang}\n{body}{closing}"
    if kind < 0.85:
        return _paragraph(rng, rng.randint(150, 500))  # one very long line
    if kind < 0.92:
        return "word " + rng.choice(["x", "é", "👍🏽", "中"]) * rng.randint(200, 2500) + " end"
    return "## " + _paragraph(rng, rng.randint(1, 6))


def generate(rng: random.Random) -> str:
    text = "\n\n".join(_block(rng) for _ in range(rng.randint(1, 8)))
    if rng.random() < 0.2:
        text = text.replace("\n", "\r\n")
    if rng.random() < 0.1:
        text = text.replace("\n\n", "\n")
    return text


def _check_words(text: str, parts: list) -> None:  # type: ignore[type-arg]
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
