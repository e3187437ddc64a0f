"""Seeded generator of markdown answers that stress the splitter (shared by split/render tests)."""

from __future__ import annotations

import random

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
