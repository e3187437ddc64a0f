"""render across several messages: limits, header/footer placement, streaming stability."""

from __future__ import annotations

import random

import pytest

from bot.discord_ui.render import ReasoningMode, render, stop_button
from bot.discord_ui.split import MESSAGE_LIMIT, measure
from bot.discord_ui.state import AnswerState
from bot.llm.types import (
    LoopDone,
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
from tests.discord_ui.builders import MODEL, REASONING, call, feed, finished_state, request
from tests.discord_ui.mdcheck import open_fence_at_end
from tests.discord_ui.mdgen import generate


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
            (now, LoopDone("complete", "")),
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
            state.apply(LoopDone("stopped", ""), now)
        elif end == "interrupt":
            state.mark_interrupted()
        else:
            state.mark_error("e")
        for payload in render(state, reasoning_mode="show", now=now):
            assert 0 < measure(payload.content) <= MESSAGE_LIMIT
            assert open_fence_at_end(payload.content) is None
    assert "over the limit" not in caplog.text  # budgets held; the last-resort clamp never ran


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
