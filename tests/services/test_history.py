"""`build_model_messages`: stored messages and steps → messages valid for strict providers.

Covers the shape of the rebuilt conversation with an unlimited budget: member attribution,
replaying answer steps as tool rounds, closing unfinished answers and repairing missing, extra
or duplicate results and call ids, merging consecutive messages and placing the system prompt.
Token-budget trimming and randomized histories live in `test_history_trimming.py`.
"""

from __future__ import annotations

import pytest

from bot.llm.types import ChatMessage, ToolCall
from bot.services.history import END_MARKERS, MISSING_RESULTS
from bot.storage.models import Step
from bot.vocabulary import AnswerStatus
from tests.services.builders import HistoryBuilder, call, reasoning, result, text
from tests.services.history_helpers import assistant, build, tool, user
from tests.services.strict import assert_valid_for_strict_provider

# --- members ------------------------------------------------------------------------------


def test_build_single_member_messages_have_no_prefix(history: HistoryBuilder) -> None:
    history.user("hello").answer(text("hi there")).user("how are you?")
    built = build(history)
    assert built.messages == [user("hello"), assistant("hi there"), user("how are you?")]
    assert built.omitted_turns == 0


def test_build_multi_member_prefixes_each_member_with_name(history: HistoryBuilder) -> None:
    history.user("hello", author=1, name="Alice").answer(text("hi"))
    history.user("me too", author=2, name="Bob")
    built = build(history)
    assert built.messages == [user("[Alice]: hello"), assistant("hi"), user("[Bob]: me too")]


def test_build_multi_member_flag_overrides_detection(history: HistoryBuilder) -> None:
    history.user("hello", author=1, name="Alice").answer(text("hi"))
    history.user("again", author=2, name=None)
    assert build(history, multi_member=False).messages[0] == user("hello")
    solo = HistoryBuilder().user("hello", author=1, name="Alice")
    assert build(solo, multi_member=True).messages == [user("[Alice]: hello")]
    # Without a stored name the member is still told apart.
    assert build(history).messages[2] == user("[member 2]: again")


def test_build_prefixes_are_stable_when_the_second_member_was_trimmed_away(
    history: HistoryBuilder,
) -> None:
    history.user("x" * 4000, author=2, name="Bob").answer(text("ok"))
    history.user("latest", author=1, name="Alice")
    built = build(history, token_budget=100)
    assert built.omitted_turns == 1
    assert built.messages == [user("[Alice]: latest")]


def test_build_merges_consecutive_member_messages_keeping_attribution(
    history: HistoryBuilder,
) -> None:
    history.user("first", author=1, name="Alice").user("second", author=2, name="Bob")
    history.answer(text("answer"))
    built = build(history)
    assert built.messages == [user("[Alice]: first\n\n[Bob]: second"), assistant("answer")]


def test_build_replaces_empty_member_text_with_placeholder(history: HistoryBuilder) -> None:
    history.user("   ")
    assert build(history).messages == [user("(empty message)")]


# --- answers from steps --------------------------------------------------------------------


def test_build_replays_rounds_with_results_in_call_order(history: HistoryBuilder) -> None:
    history.user("what is 1+1 and the time?")
    history.answer(
        reasoning("I should use tools"),
        text("Let me check."),
        call("c1", "calculator", '{"expression": "1+1"}'),
        call("c2", "current_time", "{}"),
        result("c2", "12:00"),  # finished first, stored first
        result("c1", "2"),
        reasoning("now answer", round=1),
        text("2, and it is noon.", round=1),
    )
    built = build(history)
    assert built.messages == [
        user("what is 1+1 and the time?"),
        assistant(
            "Let me check.",
            ToolCall("c1", "calculator", '{"expression": "1+1"}'),
            ToolCall("c2", "current_time", "{}"),
        ),
        tool("c1", "2"),
        tool("c2", "12:00"),
        assistant("2, and it is noon."),
    ]


def test_build_round_without_text_has_null_content(history: HistoryBuilder) -> None:
    history.user("q").answer(call("c1"), result("c1", "r"), text("done", round=1))
    built = build(history)
    assert built.messages[1] == assistant(None, ToolCall("c1", "calculator", "{}"))
    assert built.messages[1].to_wire()["content"] is None


def test_build_never_replays_reasoning(history: HistoryBuilder) -> None:
    history.user("q").answer(reasoning("SECRET-THOUGHT"), text("answer"))
    history.user("q2").answer(reasoning("SECRET-THOUGHT-2"), content="")
    built = build(history)
    assert_valid_for_strict_provider(
        built.messages, reasoning_texts=["SECRET-THOUGHT", "SECRET-THOUGHT-2"]
    )
    # The reasoning-only answer has nothing to replay and is skipped.
    assert built.messages == [user("q"), assistant("answer"), user("q2")]


def test_build_sorts_steps_by_seq(history: HistoryBuilder) -> None:
    steps = [
        Step(seq=3, round=1, kind="text", content="final"),
        Step(seq=2, round=0, kind="tool_result", content="r", tool_call_id="c1"),
        Step(seq=0, round=0, kind="text", content="calling"),
        Step(seq=1, round=0, kind="tool_call", content="", tool_call_id="c1", tool_name="t"),
    ]
    history.user("q").answer(*steps, number_seqs=False)
    assert build(history).messages[1:] == [
        assistant("calling", ToolCall("c1", "t", "{}")),
        tool("c1", "r"),
        assistant("final"),
    ]


def test_build_orders_rounds_by_number(history: HistoryBuilder) -> None:
    history.user("q").answer(
        text("zero", round=0), text("two", round=2), text("zero again", round=0), text("one", 1)
    )
    assert build(history).messages[1] == assistant("zerozero again\n\none\n\ntwo")


def test_build_legacy_answer_without_steps_uses_content(history: HistoryBuilder) -> None:
    history.user("q").answer(content="an old answer")
    assert build(history).messages == [user("q"), assistant("an old answer")]


def test_build_skips_answer_with_nothing_and_merges_members_around_it(
    history: HistoryBuilder,
) -> None:
    history.user("one").answer(content="", status="error").user("two").answer(text("a"))
    assert build(history).messages == [user("one\n\ntwo"), assistant("a")]


# --- unfinished answers, missing and extra results ---------------------------------------------


@pytest.mark.parametrize("status", ["interrupted", "streaming", "error", "stopped"])
def test_build_closes_calls_without_result(history: HistoryBuilder, status: AnswerStatus) -> None:
    history.user("q").answer(text("checking"), call("c1"), call("c2"), result("c1"), status=status)
    history.user("and?")
    built = build(history)
    assert built.messages == [
        user("q"),
        assistant(
            "checking", ToolCall("c1", "calculator", "{}"), ToolCall("c2", "calculator", "{}")
        ),
        tool("c1", "ok"),
        tool("c2", MISSING_RESULTS[status]),
        assistant(END_MARKERS[status]),
        user("and?"),
    ]


def test_build_streaming_answer_is_treated_as_interrupted(history: HistoryBuilder) -> None:
    history.user("q").answer(call("c1"), status="streaming")
    built = build(history)
    assert built.messages[2] == tool("c1", "[no result: the answer was interrupted]")
    assert built.messages[3] == assistant("[the answer was interrupted]")


def test_build_complete_answer_missing_a_result_stays_paired(history: HistoryBuilder) -> None:
    history.user("q").answer(call("c1"), text("done", round=1))
    built = build(history)
    assert built.messages[2] == tool("c1", "[no result was recorded]")
    assert built.messages[3] == assistant("done")


def test_build_stopped_answer_keeps_partial_text_with_marker(history: HistoryBuilder) -> None:
    history.user("q").answer(reasoning("r"), text("The answer is"), status="stopped")
    history.user("go on")
    assert build(history).messages == [
        user("q"),
        assistant("The answer is\n\n[stopped by the member]"),
        user("go on"),
    ]


def test_build_drops_results_without_a_call(history: HistoryBuilder) -> None:
    history.user("q").answer(result("ghost", "boo"), text("answer"), result(None, "x"))
    assert build(history).messages == [user("q"), assistant("answer")]


def test_build_keeps_first_of_duplicate_results(history: HistoryBuilder) -> None:
    history.user("q").answer(call("c1"), result("c1", "first"), result("c1", "second"))
    built = build(history)
    assert built.messages[1:] == [
        assistant(None, ToolCall("c1", "calculator", "{}")),
        tool("c1", "first"),
    ]


def test_build_keeps_first_of_duplicate_call_ids_in_one_round(history: HistoryBuilder) -> None:
    history.user("q").answer(call("c1", args='{"a": 1}'), call("c1", args='{"a": 2}'))
    built = build(history)
    assert built.messages[1].tool_calls == (ToolCall("c1", "calculator", '{"a": 1}'),)


def test_build_makes_reused_call_ids_unique(history: HistoryBuilder) -> None:
    # Some providers number calls per response: `call_0` in every round and every answer.
    history.user("q").answer(
        call("call_0"),
        result("call_0", "r0"),
        call("call_0", round=1),
        result("call_0", "r1", round=1),
    )
    history.user("q2").answer(call("call_0"), result("call_0", "r2"), text("ok", round=1))
    built = build(history)
    pairs = [
        (m.tool_calls[0].id, built.messages[i + 1].content)
        for i, m in enumerate(built.messages)
        if m.tool_calls
    ]
    assert pairs == [("call_0", "r0"), ("call_0_2", "r1"), ("call_0_3", "r2")]
    assert [m.tool_call_id for m in built.messages if m.role == "tool"] == [
        "call_0",
        "call_0_2",
        "call_0_3",
    ]


def test_build_gives_an_id_to_calls_stored_without_one(history: HistoryBuilder) -> None:
    history.user("q").answer(call(None), result(None, "lost"))
    built = build(history)
    (replayed,) = built.messages[1].tool_calls
    assert replayed.id
    assert built.messages[2] == tool(replayed.id, "[no result was recorded]")


def test_build_replaces_malformed_arguments_with_empty_object(history: HistoryBuilder) -> None:
    history.user("q").answer(
        call("c1", args='{"expression": "1+'),
        call("c2", args="[1, 2]"),
        call("c3", args=""),
        call("c4", args='{"ok": true}'),
        result("c1", "error: malformed JSON arguments"),
        result("c2", ""),
    )
    built = build(history)
    assert [c.arguments for c in built.messages[1].tool_calls] == ["{}", "{}", "{}", '{"ok": true}']
    assert built.messages[3] == tool("c2", "(empty result)")


# --- assistant/assistant and leading messages ---------------------------------------------------


def test_build_merges_consecutive_answers(history: HistoryBuilder) -> None:
    history.user("a").user("b").answer(text("to a")).answer(text("to b"))
    assert build(history).messages == [user("a\n\nb"), assistant("to a\n\nto b")]


def test_build_merges_answer_text_into_next_answers_tool_round(history: HistoryBuilder) -> None:
    history.user("a").answer(text("first")).answer(call("c1"), result("c1"), text("x", round=1))
    assert build(history).messages == [
        user("a"),
        assistant("first", ToolCall("c1", "calculator", "{}")),
        tool("c1", "ok"),
        assistant("x"),
    ]


def test_build_merges_text_only_round_with_next_round(history: HistoryBuilder) -> None:
    history.user("a").answer(text("thinking aloud"), text("calling", round=1), call("c1", round=1))
    built = build(history)
    assert built.messages[1] == assistant(
        "thinking aloud\n\ncalling", ToolCall("c1", "calculator", "{}")
    )


def test_build_drops_answers_before_the_first_member_message(history: HistoryBuilder) -> None:
    history.answer(call("c1"), result("c1"), text("orphan", round=1)).answer(text("more"))
    history.user("hello").answer(text("hi"))
    built = build(history, system_prompt="be nice")
    assert built.messages == [
        ChatMessage(role="system", content="be nice"),
        user("hello"),
        assistant("hi"),
    ]
    assert built.omitted_turns == 0


def test_build_without_member_messages_is_only_the_system_prompt(history: HistoryBuilder) -> None:
    history.answer(text("hi"))
    assert build(history, system_prompt="sys").messages == [
        ChatMessage(role="system", content="sys")
    ]
    assert build(history).messages == []


def test_build_system_prompt_comes_first_and_empty_is_omitted(history: HistoryBuilder) -> None:
    history.user("q")
    assert build(history, system_prompt="sys").messages[0] == ChatMessage(
        role="system", content="sys"
    )
    assert build(history, system_prompt="").messages == [user("q")]
