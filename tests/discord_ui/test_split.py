"""split_markdown: where long answers are cut, and that every part renders on its own."""

from __future__ import annotations

import pytest

from bot.discord_ui.split import (
    MIN_BUDGET,
    Part,
    is_grapheme_boundary,
    measure,
    split_markdown,
)
from tests.discord_ui.mdcheck import check_parts, join_parts, open_fence_at_end, word_at

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]


def prose(n_words: int, offset: int = 0) -> str:
    return " ".join(WORDS[(i + offset) % len(WORDS)] for i in range(n_words))


def split(text: str, budget: int = 300, **kw: int) -> list[Part]:
    parts = split_markdown(text, budget, **kw)
    check_parts(text, parts, budget, kw.get("first_budget"), kw.get("last_extra", 0))
    return parts


def test_split_measure_counts_utf16_units() -> None:
    assert measure("abc") == 3
    assert measure("é") == 1
    assert measure("😀") == 2
    assert measure("👨‍👩‍👧") == 8  # three astral emoji + two ZWJ


def test_split_empty_text_gives_no_parts() -> None:
    assert split_markdown("", 500) == []
    assert join_parts([]) == ""


def test_split_short_text_is_one_unchanged_part() -> None:
    text = "Hello **world**\n\n```py\nx = 1\n```"
    (part,) = split(text)
    assert part == Part(text, 0, len(text))


def test_split_exact_fit_is_one_part() -> None:
    text = "a" * 300
    assert len(split(text)) == 1
    assert len(split(text + "b")) == 2


def test_split_too_small_budgets_rejected() -> None:
    with pytest.raises(ValueError):
        split_markdown("x", MIN_BUDGET - 1)
    with pytest.raises(ValueError):
        split_markdown("x", 500, first_budget=MIN_BUDGET - 1)
    with pytest.raises(ValueError):
        split_markdown("x", MIN_BUDGET, last_extra=MIN_BUDGET)


def test_split_prefers_paragraph_break() -> None:
    first = prose(30)  # ~170 chars
    text = first + "\n\n" + prose(8, 3) + "\n" + prose(40, 5)
    parts = split(text)
    assert parts[0].source == first + "\n\n"


def test_split_prefers_line_break_over_space() -> None:
    lines = [prose(6, i) for i in range(30)]
    text = "\n".join(lines)
    for part in split(text)[:-1]:
        assert part.source.endswith("\n")


def test_split_at_space_never_inside_word() -> None:
    text = prose(400)
    parts = split(text)
    assert len(parts) > 5
    for part in parts[:-1]:
        assert part.source.endswith(" ")
        assert word_at(text, part.end) == ""
    assert all(measure(p.content) > 150 for p in parts[:-1])  # at least half the room used


def test_split_ignores_early_paragraph_break_for_late_line() -> None:
    text = "Hi.\n\n" + "\n".join(prose(5, i) for i in range(40))
    parts = split(text)
    assert measure(parts[0].content) > 150


def test_split_hard_splits_only_overlong_words() -> None:
    word = "x" * 700
    text = "short words " + word + " tail"
    parts = split(text)
    assert parts[0].source == "short words "
    assert parts[1].source == "x" * 300
    assert "".join(p.source for p in parts) == text


def test_split_hard_split_keeps_emoji_sequences_whole() -> None:
    family = "👨‍👩‍👧‍👦"
    flags = "🇫🇷🇩🇪🇯🇵"
    for unit in (family, flags, "e\u0301", "👍🏽", "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "한\u1100\u1161"):
        text = unit * 200
        parts = split(text, 200)
        assert len(parts) > 1
        for part in parts[:-1]:
            assert is_grapheme_boundary(text, part.end)
        if unit in (family, flags):
            assert all(p.source.count(unit[:2]) >= 1 for p in parts)


def test_split_flags_pairs_not_split() -> None:
    text = "🇫🇷" * 300  # 600 code points, 1200 units
    for part in split(text, 201):
        assert len(part.source) % 2 == 0


def test_split_crlf_never_split_between_cr_and_lf() -> None:
    text = "\r\n".join(prose(7, i) for i in range(60))
    for part in split(text)[:-1]:
        assert part.source.endswith("\r\n")


def test_split_code_block_closed_and_reopened_with_language() -> None:
    code = "\n".join(f"print({i})  # line {i}" for i in range(60))
    text = f"Here:\n\n```python\n{code}\n```\n\nDone."
    parts = split(text)
    assert len(parts) > 3
    for part in parts[1:-1]:
        assert part.content.startswith("```python\n")
        assert part.content.endswith("\n```")
    assert parts[0].content.endswith("```")
    for part in parts:
        assert open_fence_at_end(part.content) is None


def test_split_code_block_without_language_and_longer_fence() -> None:
    inner = "```py\nx = 1\n```\n"
    body = "\n".join(f"line {i} of the example" for i in range(40))
    text = "````\n" + inner + body + "\n" + inner + "````\nafter"
    parts = split(text)
    for part in parts[1:-1]:
        assert part.reopen == "````\n"
        assert part.close in ("````", "\n````")


def test_split_never_leaves_an_empty_code_block() -> None:
    code = "\n".join(f"value_{i} = {i}" for i in range(100))
    text = prose(45) + "\n```js\n" + code + "\n```\n" + prose(20)
    for part in split(text):
        assert "```js\n```" not in part.content
        assert not part.source.startswith("```\n") or part.reopen == ""


def test_split_prefers_cut_before_code_block() -> None:
    intro = prose(20)  # ~115 chars: under half the room, but a whole block follows
    code = "\n".join(f"x{i} = {i}" for i in range(30))  # fits in one part, not with the intro
    text = f"{intro}\n```py\n{code}\n```\n"
    parts = split(text)
    assert parts[0].source == intro + "\n"
    assert parts[1].reopen == "" and parts[1].close == ""


def test_split_unclosed_block_at_end_is_closed() -> None:
    text = "Start\n```bash\necho hi\n" + "echo more\n" * 5
    (part,) = split(text)
    assert part.close == "```"
    assert part.content.endswith("echo more\n```")
    (part,) = split(text.rstrip())
    assert part.close == "\n```"


def test_split_long_code_line_split_with_close() -> None:
    text = "```\n" + " ".join(f"tok{i}" for i in range(200)) + "\n```"
    parts = split(text)
    for part in parts[:-1]:
        assert part.close == "\n```"


def test_split_avoids_breaking_inline_code() -> None:
    text = prose(38) + " `some inline code with many spaces inside it` " + prose(40)
    for part in split(text):
        assert part.source.count("`") % 2 == 0


def test_split_avoids_unbalanced_bold() -> None:
    text = prose(40) + " **a bold phrase that is long enough to matter here** " + prose(40)
    for part in split(text):
        assert part.source.count("**") % 2 == 0


def test_split_avoids_cutting_link_text() -> None:
    link = "[the documentation page with a long title](https://example.com/docs/page)"
    text = prose(42) + " " + link + " " + prose(40)
    parts = split(text)
    assert any(link in p.source for p in parts)


def test_split_first_budget_and_last_extra() -> None:
    text = prose(300)
    parts = split(text, 400, first_budget=150, last_extra=80)
    assert measure(parts[0].content) <= 150
    assert measure(parts[-1].content) <= 320


def test_split_last_extra_moves_only_the_tail() -> None:
    n_words = next(n for n in range(100, 200) if measure(split(prose(n), 400)[-1].content) > 300)
    text = prose(n_words)
    plain = split(text, 400)
    squeezed = split(text, 400, last_extra=400 - measure(plain[-1].content) + 10)
    assert squeezed[: len(plain) - 1] == plain[:-1]
    assert len(squeezed) == len(plain) + 1


def test_split_last_extra_without_spaces_leaves_text_for_the_last_part() -> None:
    text = "x" * 1500
    parts = split(text, 1800, last_extra=400)
    assert [len(p.source) for p in parts] == [1400, 100]


def test_split_whitespace_only_tail() -> None:
    text = "word " + " " * 1000
    parts = split(text)
    assert join_parts(parts) == text


def test_split_many_blank_lines() -> None:
    split("a" + "\n" * 2000 + "b")


def test_split_cjk_without_spaces_cuts_after_punctuation() -> None:
    sentence = "我们今天讨论如何把很长的回答拆分成多条消息。"
    text = sentence * 40
    for part in split(text)[:-1]:
        assert part.source.endswith("。")


def test_split_rtl_text_at_spaces() -> None:
    text = " ".join(["שלום", "עולם", "مرحبا", "بالعالم"] * 100)
    for part in split(text)[:-1]:
        assert part.source.endswith(" ")


def test_split_is_stable_while_text_grows() -> None:
    code = "\n".join(f"step_{i}()" for i in range(80))
    text = prose(120) + "\n\n```py\n" + code + "\n```\n\n" + prose(200)
    full = split_markdown(text, 300)
    for end in range(1, len(text) + 1, 7):
        prefix = text[:end].rstrip()
        if not prefix:
            continue
        parts = split_markdown(prefix, 300)
        for i, part in enumerate(parts[:-1]):
            assert part == full[i], (end, i)
