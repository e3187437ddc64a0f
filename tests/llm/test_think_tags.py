"""`ThinkTagSplitter`: thinking written inline in the text becomes reasoning, at any cut."""

from __future__ import annotations

import pytest

from bot.llm.think_tags import RECLASSIFY, ThinkTagSplitter


def split(pieces: list[str]) -> tuple[str, str, int]:
    """(text, reasoning, reclassifications) after feeding `pieces` and flushing; text shown
    before a reclassification counts as reasoning, as consumers move it."""
    splitter = ThinkTagSplitter()
    text: list[str] = []
    reasoning: list[str] = []
    moves = 0
    out = [p for piece in pieces for p in splitter.feed(piece)] + splitter.flush()
    for kind, value in out:
        if (kind, value) == RECLASSIFY:
            reasoning.extend(text)
            text.clear()
            moves += 1
        elif kind == "text":
            text.append(value)
        else:
            reasoning.append(value)
    return "".join(text), "".join(reasoning), moves


def every_cut(whole: str) -> list[list[str]]:
    """Every split in two, and every split in three around a one-character middle piece."""
    twos = [[whole[:i], whole[i:]] for i in range(len(whole) + 1)]
    threes = [[whole[:i], whole[i : i + 1], whole[i + 1 :]] for i in range(len(whole))]
    return twos + threes


def test_think_tags_opening_and_closing_tag_at_the_start() -> None:
    assert split(["<think>Let me see.</think>\n\nHello!"]) == ("Hello!", "Let me see.", 0)


@pytest.mark.parametrize("pieces", every_cut("  <think>a b</think>\nAnswer </think> x"))
def test_think_tags_tags_cut_anywhere_across_chunks(pieces: list[str]) -> None:
    # Only the first closing tag ends the thinking: a later one is answer text.
    assert split(pieces) == ("Answer </think> x", "a b", 0)


@pytest.mark.parametrize("pieces", every_cut("step one\nstep two</think>\n\nThe answer."))
def test_think_tags_only_a_closing_tag_r1_style(pieces: list[str]) -> None:
    assert split(pieces) == ("The answer.", "step one\nstep two", 1)


def test_think_tags_plain_text_passes_through_unchanged() -> None:
    text = "No tags here, just <b>html</b> and a < sign."
    assert split([text[:10], text[10:]]) == (text, "", 0)


def test_think_tags_unclosed_thinking_is_all_reasoning() -> None:
    assert split(["<think>still thinking when the stream ", "ended"]) == (
        "",
        "still thinking when the stream ended",
        0,
    )


def test_think_tags_a_partial_tag_at_the_end_is_text() -> None:
    assert split(["Answer with a trailing </thi"]) == ("Answer with a trailing </thi", "", 0)


def test_think_tags_stop_watching_keeps_a_later_closing_tag_as_text() -> None:
    splitter = ThinkTagSplitter()
    first = splitter.feed("Explaining tags: ")
    splitter.stop_watching()  # the server sent reasoning separately: it has a parser
    second = splitter.feed("write </think> to close.")
    assert first + second + splitter.flush() == [
        ("text", "Explaining tags: "),
        ("text", "write </think> to close."),
    ]


def test_think_tags_text_is_delayed_by_less_than_a_tag() -> None:
    splitter = ThinkTagSplitter()
    assert splitter.feed("Hello wor") == [("text", "Hello wor")]
    assert splitter.feed("ld </") == [("text", "ld ")]
    assert splitter.feed("p>") == [("text", "</p>")]
