"""`build_model_messages`: stored messages and steps → messages valid for strict providers."""

from __future__ import annotations

import json
import random

import pytest

from bot.llm.tokens import estimate_tokens, message_tokens
from bot.llm.types import ChatMessage, ToolCall
from bot.services.history import (
    END_MARKERS,
    MISSING_RESULTS,
    ModelHistory,
    build_model_messages,
)
from bot.services.trim import SHORTENED_TOOL_RESULT_CHARS
from bot.storage.models import Step
from bot.vocabulary import AnswerStatus
from tests.services.builders import HistoryBuilder, call, reasoning, result, text
from tests.services.strict import assert_valid_for_strict_provider

BIG = 1_000_000


def build(
    builder: HistoryBuilder,
    *,
    system_prompt: str | None = None,
    token_budget: int = BIG,
    multi_member: bool | None = None,
) -> ModelHistory:
    built = build_model_messages(
        builder.messages,
        system_prompt=system_prompt,
        token_budget=token_budget,
        multi_member=multi_member,
    )
    assert_valid_for_strict_provider(built.messages)
    return built


def roles(messages: list[ChatMessage]) -> list[str]:
    return [m.role for m in messages]


def user(content: str) -> ChatMessage:
    return ChatMessage(role="user", content=content)


def assistant(content: str | None, *calls: ToolCall) -> ChatMessage:
    return ChatMessage(role="assistant", content=content, tool_calls=calls)


def tool(call_id: str, content: str) -> ChatMessage:
    return ChatMessage(role="tool", content=content, tool_call_id=call_id)


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


# --- trimming -----------------------------------------------------------------------------


def _tokens(messages: list[ChatMessage]) -> int:
    return sum(message_tokens(m, estimate_tokens) for m in messages)


def test_build_estimates_tokens_of_everything_sent(history: HistoryBuilder) -> None:
    history.user("q" * 40).answer(
        text("a" * 400), call("c1", args='{"x": 1}'), result("c1", "r" * 80)
    )
    built = build(history, system_prompt="s" * 20)
    assert built.estimated_tokens == _tokens(built.messages)
    assert built.estimated_tokens > (20 + 40 + 400 + 80) // 4


def test_build_uses_the_given_token_counter(history: HistoryBuilder) -> None:
    history.user("one").answer(text("two")).user("three")
    built = build_model_messages(
        history.messages, system_prompt=None, token_budget=BIG, count_tokens=lambda s: 1000
    )
    assert built.estimated_tokens > 3000


def test_build_drops_oldest_whole_turns_to_fit(history: HistoryBuilder) -> None:
    for i in range(10):
        history.user(f"question {i} " + "x" * 200)
        history.answer(call(f"c{i}"), result(f"c{i}", "r" * 100), text(f"answer {i}", round=1))
    full = build(history)
    budget = full.estimated_tokens // 2
    built = build(history, token_budget=budget, system_prompt="sys")
    assert 0 < built.omitted_turns < 10
    assert built.estimated_tokens <= budget
    assert built.estimated_tokens == _tokens(built.messages)
    kept = [m for m in built.messages if m.role == "user"]
    assert kept[0].content is not None
    assert kept[0].content.startswith(f"question {built.omitted_turns} ")
    assert kept[-1].content is not None and kept[-1].content.startswith("question 9 ")


def test_build_keeps_newest_turn_even_when_it_alone_exceeds_budget(
    history: HistoryBuilder,
) -> None:
    history.user("old").answer(text("old answer"))
    history.user("y" * 10_000)
    built = build(history, token_budget=10, system_prompt="sys")
    assert built.messages == [ChatMessage(role="system", content="sys"), user("y" * 10_000)]
    assert built.omitted_turns == 1
    assert built.estimated_tokens > 10  # the caller sees it does not fit


def test_build_shortens_old_tool_results_before_dropping_turns(history: HistoryBuilder) -> None:
    page = "p" * 20_000
    history.user("fetch it").answer(
        call("c1", "fetch_url"), result("c1", page), text("got it", round=1)
    )
    history.user("thanks")
    budget = 1000
    built = build(history, token_budget=budget)
    assert built.omitted_turns == 0
    assert built.shortened_tool_results == 1
    assert built.estimated_tokens <= budget
    short = built.messages[2]
    assert short.role == "tool" and short.content is not None
    assert short.content.startswith("p" * SHORTENED_TOOL_RESULT_CHARS)
    assert "19000 more characters" in short.content
    assert len(short.content) < 1100


def test_build_shortens_only_as_many_old_results_as_needed(history: HistoryBuilder) -> None:
    for i in range(3):
        history.user(f"fetch {i}").answer(call(f"c{i}"), result(f"c{i}", "p" * 8000))
    history.user("now")
    full = build(history).estimated_tokens
    built = build(history, token_budget=full - 100)
    assert built.shortened_tool_results == 1
    tool_lengths = [len(m.content or "") for m in built.messages if m.role == "tool"]
    assert tool_lengths[0] < 1100 and tool_lengths[1:] == [8000, 8000]


def test_build_shortens_newest_turn_results_only_as_last_resort(history: HistoryBuilder) -> None:
    history.user("old").answer(text("old"))
    history.user("fetch").answer(call("c1"), result("c1", "p" * 20_000), status="streaming")
    built = build(history, token_budget=400)
    assert built.omitted_turns == 1
    assert built.shortened_tool_results == 1
    assert roles(built.messages) == ["user", "assistant", "tool", "assistant"]


def test_build_never_splits_a_call_from_its_result(history: HistoryBuilder) -> None:
    history.user("q").answer(call("c1"), result("c1", "r" * 4000), text("done", round=1))
    history.user("next")
    for budget in range(0, 2000, 37):
        built = build(history, token_budget=budget)
        assert roles(built.messages) in (
            ["user", "assistant", "tool", "assistant", "user"],
            ["user"],
        )


def test_build_never_builds_turns_older_than_the_first_that_cannot_fit(
    history: HistoryBuilder,
) -> None:
    for i in range(1000):
        history.user(f"question-{i}").answer(text(f"answer-{i} " + "x" * 400))
    seen: list[str] = []

    def counting(text: str) -> int:
        seen.append(text)
        return estimate_tokens(text)

    built = build_model_messages(
        history.messages, system_prompt=None, token_budget=1000, count_tokens=counting
    )
    assert_valid_for_strict_provider(built.messages)
    kept = len(built.messages) // 2
    assert 0 < kept < 10 and built.omitted_turns == 1000 - kept
    # The kept turns and the one that did not fit were measured, nothing older.
    oldest_built = 1000 - kept - 1
    measured = {int(t.split("-")[1]) for t in seen if t.startswith("question-")}
    assert measured == set(range(oldest_built, 1000))
    assert len(seen) == 2 * (kept + 1)


def test_build_call_ids_are_unique_among_kept_messages_only(history: HistoryBuilder) -> None:
    history.user("a" * 4000).answer(call("call_0"), result("call_0"), text("x", round=1))
    history.user("b").answer(call("call_0"), result("call_0"), text("y", round=1))
    full = build(history)
    assert [c.id for m in full.messages for c in m.tool_calls] == ["call_0", "call_0_2"]
    trimmed = build(history, token_budget=200)
    assert trimmed.omitted_turns == 1
    # Once the older turn is gone, the newer call keeps its own id.
    assert [c.id for m in trimmed.messages for c in m.tool_calls] == ["call_0"]
    assert trimmed.messages[2] == tool("call_0", "ok")


def test_build_member_message_after_skipped_answer_stays_in_the_same_turn(
    history: HistoryBuilder,
) -> None:
    history.user("old " * 500).answer(text("old answer"))
    history.user("first").answer(reasoning("r"), status="interrupted").user("second")
    built = build(history, token_budget=60)
    assert built.omitted_turns == 1
    assert built.messages == [user("first\n\nsecond")]


# --- randomized ---------------------------------------------------------------------------


def _random_history(rng: random.Random) -> tuple[HistoryBuilder, list[str]]:
    builder = HistoryBuilder()
    reasonings: list[str] = []
    members = [(1, "Alice"), (2, "Bob"), (3, None)][: rng.randint(1, 3)]
    statuses: list[AnswerStatus] = [
        "complete",
        "complete",
        "stopped",
        "interrupted",
        "streaming",
        "error",
    ]
    for _ in range(rng.randint(0, 25)):
        if rng.random() < 0.45:
            author, name = rng.choice(members)
            builder.user(rng.choice(["", "hi", "q" * rng.randint(1, 3000)]), author, name)
            continue
        steps: list[Step] = []
        used_ids = ["call_0", "c_x"]
        for rnd in range(rng.randint(0, 4)):
            if rng.random() < 0.5:
                marker = f"REASONING-{rng.randrange(10**9)}"
                reasonings.append(marker)
                steps.append(reasoning(marker, round=rnd))
            if rng.random() < 0.6:
                steps.append(text(rng.choice(["", " ", "text", "t" * rng.randint(1, 2000)]), rnd))
            calls: list[str | None] = []
            for _ in range(rng.randint(0, 3)):
                cid = rng.choice([*used_ids, f"id{rng.randrange(1000)}", None])
                calls.append(cid)
                args = rng.choice(["{}", '{"x": 1}', "{bad", "", "[]"])
                steps.append(call(cid, rng.choice(["calculator", "fetch_url"]), args, rnd))
            results = [c for c in calls if rng.random() < 0.7]
            rng.shuffle(results)
            for cid in results:
                body = rng.choice(["", "r", "R" * rng.randint(1, 9000)])
                steps.append(result(cid, body, rnd))
                if rng.random() < 0.2:
                    steps.append(result(cid, "duplicate", rnd))
            if rng.random() < 0.1:
                steps.append(result("orphan", "nobody asked", rnd))
        if rng.random() < 0.1:
            rng.shuffle(steps)  # stored out of order; seqs follow the shuffled order
        content = rng.choice([None, "", "legacy content"])
        builder.answer(*steps, content=content, status=rng.choice(statuses))
    return builder, reasonings


@pytest.mark.parametrize("seed", range(400))
def test_build_random_histories_are_valid_for_strict_providers(seed: int) -> None:
    rng = random.Random(seed)
    builder, reasonings = _random_history(rng)
    system_prompt = rng.choice([None, "", "You are Switchboard."])
    budget = rng.choice([0, 1, 50, 300, 2000, BIG])
    built = build_model_messages(
        builder.messages,
        system_prompt=system_prompt,
        token_budget=budget,
        multi_member=rng.choice([None, None, True, False]),
    )
    assert_valid_for_strict_provider(built.messages, reasoning_texts=reasonings)
    assert built.estimated_tokens == _tokens(built.messages)
    conversation = [m for m in built.messages if m.role != "system"]
    members = [m for m in builder.messages if m.role == "user"]
    if not members:
        assert conversation == []
        return
    # The newest member message is always sent.
    last_member = members[-1].content if members[-1].content.strip() else "(empty message)"
    assert any(m.role == "user" and (m.content or "").endswith(last_member) for m in conversation)
    turns = _turn_count(builder)
    sent_turns = sum(1 for m in conversation if m.role == "user")
    assert built.omitted_turns + sent_turns == turns
    assert built.estimated_tokens <= budget or sent_turns == 1
    for m in built.messages:
        for c in m.tool_calls:
            assert isinstance(json.loads(c.arguments), dict)


def _turn_count(builder: HistoryBuilder) -> int:
    """Turns of the untrimmed history: user messages in a big-budget rebuild."""
    full = build_model_messages(builder.messages, system_prompt=None, token_budget=BIG)
    return sum(1 for m in full.messages if m.role == "user")
