"""render: the messages an answer becomes, in every state and reasoning mode."""

from __future__ import annotations

import pytest

from bot.discord_ui.render import (
    EMPTY_ANSWER,
    EXCERPT_MAX,
    FIELD_MAX,
    INFO,
    PLACEHOLDER,
    MessagePayload,
    ReasoningMode,
    escape_inline,
    field_text,
    footer_line,
    format_duration,
    reasoning_excerpt,
    regenerate_button,
    render,
    retry_button,
    shorten,
    stop_button,
    tool_line,
)
from bot.discord_ui.split import measure
from bot.discord_ui.state import AnswerState, ToolLine
from bot.llm.types import (
    LoopDone,
    ReasoningDelta,
    RoundStarted,
    TextDelta,
    ToolFinished,
    ToolStarted,
    Usage,
    UsageReported,
)
from tests.discord_ui.builders import MODEL, REASONING, call, feed, finished_state, request


def one(state: AnswerState, mode: ReasoningMode = "show", now: float = 10) -> MessagePayload:
    (payload,) = render(state, reasoning_mode=mode, now=now)
    return payload


def thinking_state() -> AnswerState:
    state = AnswerState(answer_id="a1")
    feed(state, [(0, RoundStarted(1, request())), (1, ReasoningDelta(REASONING))])
    return state


# --- placeholder and reasoning ---------------------------------------------------------------


def test_render_placeholder_when_nothing_visible() -> None:
    payload = one(AnswerState(answer_id="a1"))
    assert payload.content == PLACEHOLDER
    assert payload.components == (stop_button("a1"),)
    assert not payload.final


def test_render_placeholder_in_hide_mode_while_thinking() -> None:
    assert one(thinking_state(), "hide").content == PLACEHOLDER


def test_render_text_replaces_placeholder() -> None:
    state = AnswerState()
    state.apply(TextDelta("Hi"), 0)
    assert one(state).content == "Hi"


def test_render_show_mode_live_excerpt() -> None:
    content = one(thinking_state(), "show", now=8.7).content
    first, second = content.split("\n")
    assert first == "💭 Thinking… (7 s)"
    assert second.startswith("-# …")
    assert measure(second) <= len("-# ") + EXCERPT_MAX
    assert REASONING.rstrip().endswith(second[len("-# …") :].replace("\\", ""))
    # The excerpt starts at a word.
    assert " " + second[len("-# …") :].split(" ")[0] in REASONING


def test_render_summary_mode_only_elapsed() -> None:
    assert one(thinking_state(), "summary", now=4).content == "💭 Thinking… (3 s)"


def test_render_reasoning_collapses_when_text_starts() -> None:
    state = thinking_state()
    state.apply(TextDelta("Answer"), 6)
    assert one(state, "show").content == "💭 Thought for 5 s\n\nAnswer"
    assert one(state, "summary").content == "💭 Thought for 5 s\n\nAnswer"
    assert one(state, "hide").content == "Answer"


@pytest.mark.parametrize(("mode", "has_line"), [("show", True), ("summary", True), ("hide", False)])
def test_render_final_reasoning_line(mode: ReasoningMode, has_line: bool) -> None:
    content = one(finished_state(), mode, now=99).content
    assert ("💭 Thought for 12 s" in content) is has_line
    assert "Thinking" not in content


def test_render_reasoning_excerpt_drops_markers_and_escapes() -> None:
    text = "so **bold** and __under__ and `code` with <@123> and a_b " + "word " * 60
    excerpt = reasoning_excerpt(text)
    assert "**" not in excerpt and "`" not in excerpt
    assert reasoning_excerpt("short <@1>") == "short \\<@1\\>"
    assert reasoning_excerpt("   ") == ""


def test_render_reasoning_excerpt_long_unbroken_tail() -> None:
    excerpt = reasoning_excerpt("x" * 1000)
    assert excerpt.startswith("…") and measure(excerpt) <= EXCERPT_MAX


def test_render_reasoning_excerpt_starts_on_a_whole_character() -> None:
    excerpt = reasoning_excerpt("e\u0301" * 300 + "b")
    assert excerpt.startswith("…e\u0301")


def test_render_reasoning_excerpt_heavy_escaping_stays_bounded() -> None:
    assert measure(reasoning_excerpt("*_" * 500)) <= EXCERPT_MAX


# --- tool lines --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (ToolLine(1, "calculator"), "⏳ 🔧 calculator"),
        (ToolLine(1, "calculator", "c", "2+2", status="running"), "⏳ 🔧 calculator · 2+2"),
        (
            ToolLine(1, "calculator", "c", "2+2", "4", "ok", 0, 1.234),
            "✅ 🔧 calculator · 2+2 → 4 · 1.2 s",
        ),
        (
            ToolLine(1, "fetch", "c", "x", "boom", "error", 0, 0.5),
            "❌ 🔧 fetch · x → boom · 0.5 s",
        ),
        (
            ToolLine(1, "fetch", "c", "x", "", "timeout", 0, 20),
            "❌ 🔧 fetch · x → timed out · 20 s",
        ),
        (
            ToolLine(1, "fetch", "c", "x", "", "refused", None, 0),
            "❌ 🔧 fetch · x → refused · 0.0 s",
        ),
        (ToolLine(1, "fetch", "c", "x", "", "cancelled"), "⏹️ 🔧 fetch · x → cancelled"),
        (
            ToolLine(1, "fetch", "c", "x", "[cancelled: the member stopped]", "cancelled", 0, 0),
            "⏹️ 🔧 fetch · x → cancelled",
        ),
        (
            ToolLine(1, "fetch", "c", "x", "Error: fetch timed out after 20 s.", "timeout", 0, 20),
            "❌ 🔧 fetch · x → fetch timed out after 20 s. · 20 s",
        ),
        (
            ToolLine(1, "current_time", "c", "", "12:00", "ok", 0, 0.01),
            "✅ 🔧 current\\_time → 12:00 · 0.0 s",
        ),
    ],
)
def test_render_tool_line_states(line: ToolLine, expected: str) -> None:
    assert tool_line(line) == expected


def test_render_tool_fields_are_short_single_line_and_inert() -> None:
    nasty = "```py\nprint('hi')\n```\n**bold** [link](https://evil.example) <@123> ||spoiler|| " * 5
    text = field_text(nasty)
    assert "\n" not in text
    assert measure(text) <= FIELD_MAX
    assert "https://" not in text  # no autolink, so no embed
    for marker in ("`", "*", "[", "<", "|", "_"):
        assert all(text[i - 1] == "\\" for i, ch in enumerate(text) if ch == marker)
    assert text.endswith("…")


def test_render_tool_fields_neutralise_bidi_overrides_and_controls() -> None:
    assert field_text("abc\u202edef\x00ghi") == "abc def ghi"


def test_render_tool_line_with_emoji_heavy_result_is_bounded() -> None:
    line = ToolLine(1, "t", "c", "👨‍👩‍👧‍👦" * 50, "🇫🇷" * 50, "ok", 0, 1)
    rendered = tool_line(line)
    assert measure(rendered) < 2 * FIELD_MAX + 40
    assert "\u200d…" not in rendered


def test_render_tools_shown_in_order_above_answer() -> None:
    content = one(finished_state(), now=99).content
    lines = content.split("\n")
    assert lines[1] == "✅ 🔧 calculator · 2+2 → 4 · 1.2 s"
    assert lines[3] == "It is **4**."


def test_render_many_tools_collapse_earliest() -> None:
    state = AnswerState()
    for i in range(60):
        c = call(str(i), "fetch_url", '{"url": "https://example.com/' + "x" * 80 + '"}')
        state.apply(ToolStarted(1, c), i)
        state.apply(ToolFinished(1, c, "y" * 200, "ok", 1), i)
    content = one(state).content
    assert content.startswith("🔧 … ")
    assert "earlier tool calls" in content.split("\n")[0]
    assert measure(content) < 1000
    shown = content.count("✅")
    assert f"… {60 - shown} earlier" in content


# --- trailer: status, notes, footer ----------------------------------------------------------


def test_render_footer_when_done() -> None:
    content = one(finished_state(), now=99).content
    assert content.endswith("\n\n-# gpt-4o-mini · 1,234 in / 567 out · $0.0024")


def test_render_no_footer_while_streaming() -> None:
    state = AnswerState()
    feed(state, [(0, UsageReported(1, MODEL, Usage(5, 5), "completed")), (1, TextDelta("x"))])
    assert one(state).content == "x"


def test_render_footer_cost_unknown_omitted() -> None:
    assert footer_line(finished_state(None)) == "-# gpt-4o-mini · 1,234 in / 567 out"


def test_render_footer_estimated() -> None:
    state = finished_state()
    state.estimated = True
    assert footer_line(state) == "-# gpt-4o-mini · ≈1,234 in / ≈567 out · ≈$0.0024"


def test_render_footer_without_usage_shows_model_only() -> None:
    state = AnswerState(model="local_model*")
    assert footer_line(state) == "-# local\\_model\\*"
    assert footer_line(AnswerState()) == ""


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0.0 s"),
        (0.04, "0.0 s"),
        (1.25, "1.2 s"),
        (9.94, "9.9 s"),
        (9.96, "10 s"),
        (59.4, "59 s"),
        (125, "2 min 5 s"),
    ],
)
def test_render_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_render_stopped() -> None:
    state = AnswerState(answer_id="a1")
    state.apply(TextDelta("half an ans"), 0)
    state.apply(LoopDone("stopped", ""), 1)
    payload = one(state)
    assert payload.content == "half an ans\n\n⏹️ Stopped"
    # A stopped answer can be asked again (it is the latest of its conversation).
    assert payload.components == (regenerate_button("a1"),)
    assert payload.final


def test_render_latest_answer_offers_regenerate_and_older_ones_nothing() -> None:
    state = AnswerState(answer_id="a1")
    state.apply(TextDelta("done"), 0)
    state.apply(LoopDone("complete", "done"), 1)
    assert one(state).components == (regenerate_button("a1"),)
    state.regenerable = False
    assert one(state).components == ()


def test_render_stopped_with_usage_has_footer() -> None:
    state = AnswerState(answer_id="a1")
    state.apply(LoopDone("stopped", ""), 1)
    state.apply(UsageReported(1, MODEL, Usage(10, 3, estimated=True), "stopped"), 2)
    assert one(state).content == "⏹️ Stopped\n-# gpt-4o-mini · ≈10 in / ≈3 out"


def test_render_interrupted_offers_retry() -> None:
    state = AnswerState(answer_id="a1")
    state.apply(TextDelta("partial"), 0)
    state.mark_interrupted()
    payload = one(state)
    assert payload.content == "partial\n\n⚠️ Interrupted by a restart"
    assert payload.components == (retry_button("a1"),)


def test_render_error_with_id_and_retry() -> None:
    state = AnswerState(answer_id="a1")
    state.apply(TextDelta("partial"), 0)
    state.mark_error("Sorry, something went wrong.", error_id="e-42")
    payload = one(state)
    assert payload.content == "partial\n\n⚠️ Sorry, something went wrong. (error id `e-42`)"
    assert payload.components == (retry_button("a1"),)


def test_render_error_without_text() -> None:
    state = AnswerState()
    state.mark_error("The usage budget for this server has been reached.")
    assert one(state).content == "⚠️ The usage budget for this server has been reached."


def test_render_notes_and_history_note() -> None:
    state = AnswerState()
    state.history_note = "Older messages were left out to fit the model's context."
    feed(
        state,
        [
            (0, TextDelta("ok")),
            (1, LoopDone("max_rounds", "ok", note="Stopped after 8 tool rounds.")),
        ],
    )
    assert one(state).content == (
        f"ok\n\n{INFO} Stopped after 8 tool rounds.\n"
        f"-# {INFO} Older messages were left out to fit the model's context."
    )


def test_render_history_note_visible_while_streaming() -> None:
    state = AnswerState()
    state.history_note = "Older turns left out."
    state.apply(TextDelta("x"), 0)
    assert one(state).content == f"x\n\n-# {INFO} Older turns left out."


def test_render_empty_complete_answer() -> None:
    state = AnswerState()
    state.apply(LoopDone("complete", ""), 0)
    assert one(state).content == EMPTY_ANSWER


def test_render_no_buttons_without_answer_id() -> None:
    state = AnswerState()
    state.apply(TextDelta("x"), 0)
    assert one(state).components == ()
    state.mark_error("e")
    assert one(state).components == ()


def test_render_complete_offers_only_regenerate_and_is_final() -> None:
    state = finished_state()
    payload = one(state, now=99)
    assert payload.components == (regenerate_button(state.answer_id),) and payload.final


# --- helpers ------------------------------------------------------------------------------------


def test_render_escape_inline() -> None:
    assert escape_inline("a*b_c`d|e~f[g]<h>#i\\") == "a\\*b\\_c\\`d\\|e\\~f\\[g\\]\\<h\\>\\#i\\\\"
    assert escape_inline("see https://x.org") == "see https\\://x.org"
    assert escape_inline("- item") == "\\- item"


def test_render_shorten_prefers_space_and_keeps_graphemes() -> None:
    assert shorten("short", 10) == "short"
    assert shorten("alpha beta gamma delta", 15) == "alpha beta…"
    cut = shorten("👨‍👩‍👧‍👦" * 10, 12)
    assert cut.endswith("…") and not cut[:-1].endswith("\u200d")
