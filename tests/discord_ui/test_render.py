"""render: the messages an answer becomes, in every state and reasoning mode."""

from __future__ import annotations

import random

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
    format_cost,
    format_duration,
    reasoning_excerpt,
    render,
    retry_button,
    shorten,
    stop_button,
    tool_line,
)
from bot.discord_ui.split import MESSAGE_LIMIT, measure
from bot.discord_ui.state import AnswerState, ToolLine
from bot.llm.types import (
    Done,
    ReasoningDelta,
    RoundFinished,
    RoundStarted,
    TextDelta,
    ToolCallProgress,
    ToolFinished,
    ToolStarted,
    Usage,
    UsageReported,
)
from tests.discord_ui.builders import MODEL, call, feed, request
from tests.discord_ui.mdcheck import open_fence_at_end
from tests.discord_ui.mdgen import generate

REASONING = "The member asks for a sum. I will use the calculator tool to be exact about it. " * 4


def one(state: AnswerState, mode: ReasoningMode = "show", now: float = 10) -> MessagePayload:
    (payload,) = render(state, reasoning_mode=mode, now=now)
    return payload


def thinking_state() -> AnswerState:
    state = AnswerState(answer_id="a1")
    feed(state, [(0, RoundStarted(1, request())), (1, ReasoningDelta(REASONING))])
    return state


def finished_state(pricer_micros: int | None = 1200) -> AnswerState:
    state = AnswerState(answer_id="a1", pricer=lambda model, usage: pricer_micros)
    c = call()
    feed(
        state,
        [
            (0, RoundStarted(1, request())),
            (1, ReasoningDelta("thinking")),
            (13, ToolCallProgress(0, "calculator")),
            (13, UsageReported(1, MODEL, Usage(1000, 50), "completed")),
            (13, RoundFinished(1, "", "thinking", (c,), "tool_calls")),
            (13, ToolStarted(1, c)),
            (14, ToolFinished(1, c, "4", "ok", 1.234)),
            (14, RoundStarted(2, request())),
            (15, TextDelta("It is **4**.")),
            (16, UsageReported(2, MODEL, Usage(234, 517), "completed")),
            (16, Done("complete", "It is **4**.", rounds=2)),
        ],
    )
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
    ("micros", "text"),
    [
        (0, "$0"),
        (42, "<$0.0001"),
        (1200, "$0.0012"),
        (123_456, "$0.1235"),
        (999_999, "$1.0000"),
        (1_000_000, "$1.00"),
        (12_345_678_900, "$12,345.68"),
    ],
)
def test_render_format_cost(micros: int, text: str) -> None:
    assert format_cost(micros) == text


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
    state.mark_stopped(now=1)
    payload = one(state)
    assert payload.content == "half an ans\n\n⏹️ Stopped"
    assert payload.components == ()
    assert payload.final


def test_render_stopped_with_usage_has_footer() -> None:
    state = AnswerState(answer_id="a1")
    state.mark_stopped(now=1)
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
        [(0, TextDelta("ok")), (1, Done("max_rounds", "ok", note="Stopped after 8 tool rounds."))],
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
    state.apply(Done("complete", ""), 0)
    assert one(state).content == EMPTY_ANSWER


def test_render_no_buttons_without_answer_id() -> None:
    state = AnswerState()
    state.apply(TextDelta("x"), 0)
    assert one(state).components == ()
    state.mark_error("e")
    assert one(state).components == ()


def test_render_complete_has_no_buttons_and_is_final() -> None:
    payload = one(finished_state(), now=99)
    assert payload.components == () and payload.final


# --- several messages -------------------------------------------------------------------------


def _long_answer(n: int = 700) -> str:
    rng = random.Random(5)
    words = ["the", "model", "answers", "with", "long", "paragraphs", "of", "text", "and", "code"]
    paragraphs = []
    for i in range(n // 40):
        paragraphs.append(" ".join(rng.choice(words) for _ in range(40)))
        if i % 5 == 2:
            paragraphs.append(
                "```python\n" + "\n".join(f"value_{j} = {j}" for j in range(30)) + "\n```"
            )
    return "\n\n".join(paragraphs)


def test_render_long_answer_spreads_over_messages() -> None:
    state = finished_state()
    state.history_note = "Older turns left out."
    state.apply(TextDelta("\n\n" + _long_answer()), 20)
    payloads = render(state, reasoning_mode="show", now=99)
    assert len(payloads) > 2
    for payload in payloads:
        assert measure(payload.content) <= MESSAGE_LIMIT
        assert open_fence_at_end(payload.content) is None
        assert payload.final
    assert payloads[0].content.startswith("💭 Thought for")
    assert all("🔧" not in p.content for p in payloads[1:])
    assert payloads[-1].content.endswith("$0.0024")
    assert all("-# gpt-4o-mini" not in p.content for p in payloads[:-1])


def test_render_stop_button_only_on_last_message() -> None:
    state = AnswerState(answer_id="a1")
    state.apply(TextDelta(_long_answer()), 0)
    payloads = render(state, reasoning_mode="show", now=1)
    assert len(payloads) > 1
    assert [p.components for p in payloads[:-1]] == [()] * (len(payloads) - 1)
    assert payloads[-1].components == (stop_button("a1"),)


def test_render_streaming_keeps_full_messages_stable() -> None:
    text = _long_answer(1400)
    state = AnswerState(answer_id="a1")
    c = call()
    feed(
        state,
        [
            (0, RoundStarted(1, request())),
            (0, ReasoningDelta(REASONING)),
            (3, ToolCallProgress(0, "calculator")),
            (3, RoundFinished(1, "", REASONING, (c,), "tool_calls")),
            (3, ToolStarted(1, c)),
            (4, ToolFinished(1, c, "4", "ok", 0.4)),
            (4, RoundStarted(2, request())),
        ],
    )
    seen: dict[int, str] = {}  # message index → content once a later message existed
    now = 5.0
    for i in range(0, len(text), 23):
        state.apply(TextDelta(text[i : i + 23]), now)
        payloads = render(state, reasoning_mode="show", now=now)
        now += 0.1
        for k, payload in enumerate(payloads):
            assert measure(payload.content) <= MESSAGE_LIMIT
            if k in seen:
                assert payload.content == seen[k], k
            elif k < len(payloads) - 1:
                seen[k] = payload.content
    assert len(seen) >= 3
    streaming = render(state, reasoning_mode="show", now=now)
    feed(
        state,
        [
            (now, UsageReported(2, MODEL, Usage(9999, 8888), "completed")),
            (now, Done("complete", "")),
        ],
    )
    final = render(state, reasoning_mode="show", now=now)
    assert len(final) == len(streaming)
    # Only the first (header) and last (footer) messages change when the answer ends.
    assert [p.content for p in final[1:-1]] == [p.content for p in streaming[1:-1]]
    assert final[0].content == streaming[0].content  # header had already collapsed
    assert final[-1].content.startswith(streaming[-1].content)


def test_render_many_tools_long_answer_and_long_notes_fit(caplog: pytest.LogCaptureFixture) -> None:
    state = AnswerState(answer_id="a1")
    for i in range(30):
        c = call(str(i), "t" * 64, '{"q": "' + "*`" * 100 + '"}')
        state.apply(ToolStarted(1, c), 0)
    state.apply(ReasoningDelta("_*" * 400), 0)
    state.apply(TextDelta("é👍🏽" * 3000), 1)
    state.history_note = "h" * 5000
    state.notes.extend(["n" * 3000] * 5)
    state.mark_error("x" * 5000, error_id="`" * 200)
    for mode in ("show", "summary", "hide"):
        payloads = render(state, reasoning_mode=mode, now=2)
        assert all(measure(p.content) <= MESSAGE_LIMIT for p in payloads)
        assert all(p.content.strip() for p in payloads)
    assert "over the limit" not in caplog.text


def test_render_random_states_never_exceed_limit(caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(11)
    pieces = ["word ", "\n\n", "```py\n", "\n```\n", "👨‍👩‍👧 ", "長い", "**b** ", "x" * 50, "\r\n"]
    for _ in range(60):
        state = AnswerState(answer_id="z")
        now = 0.0
        for step in range(rng.randint(1, 60)):
            now += rng.random()
            roll = rng.random()
            if roll < 0.7:
                delta = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 15)))
                state.apply(TextDelta(delta), now)
            elif roll < 0.8:
                state.apply(ReasoningDelta("hmm " * rng.randint(1, 50)), now)
            elif roll < 0.9:
                args = '{"expression": "' + "9" * rng.randint(1, 99) + '"}'
                c = call(str(rng.random()), "calculator", args)
                state.apply(ToolStarted(1, c), now)
                result = "1" * rng.randint(0, 300)
                state.apply(ToolFinished(1, c, result, "ok", rng.random() * 30), now)
            else:
                state.apply(RoundStarted(rng.randint(1, 8), request()), now)
            if step % 3:
                continue
            mode: ReasoningMode = rng.choice(["show", "summary", "hide"])
            for payload in render(state, reasoning_mode=mode, now=now):
                assert 0 < measure(payload.content) <= MESSAGE_LIMIT
                assert payload.content.strip()
        end = rng.choice(["stop", "interrupt", "error"])
        if end == "stop":
            state.mark_stopped(now)
        elif end == "interrupt":
            state.mark_interrupted()
        else:
            state.mark_error("e")
        for payload in render(state, reasoning_mode="show", now=now):
            assert 0 < measure(payload.content) <= MESSAGE_LIMIT
            assert open_fence_at_end(payload.content) is None
    assert "over the limit" not in caplog.text  # budgets held; the last-resort clamp never ran


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


def test_render_random_streams_never_rewrite_full_messages() -> None:
    rng = random.Random(3)
    for _ in range(20):
        text = generate(rng)
        state = AnswerState(answer_id="x")
        if rng.random() < 0.5:
            state.apply(ReasoningDelta("hmm " * 30), 0)
        seen: dict[int, str] = {}
        now, pos = 1.0, 0
        while pos < len(text):
            size = rng.randint(1, 120)
            state.apply(TextDelta(text[pos : pos + size]), now)
            pos, now = pos + size, now + 0.1
            payloads = render(state, reasoning_mode="show", now=now)
            for k, payload in enumerate(payloads):
                if k in seen:
                    assert payload.content == seen[k]
                elif k < len(payloads) - 1:
                    seen[k] = payload.content
