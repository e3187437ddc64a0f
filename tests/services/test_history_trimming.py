"""`build_model_messages` under a token budget, plus randomized histories.

Covers token estimation, dropping the oldest whole turns, shortening old tool results before
dropping anything, keeping calls paired with their results while trimming, and measuring no more
turns than needed. Randomized histories then check, across many budgets, that every result stays
valid for strict providers and that trimming accounts for every turn.
"""

from __future__ import annotations

import json
import random

import pytest

from bot.llm.tokens import estimate_tokens, message_tokens
from bot.llm.types import ChatMessage
from bot.services.history import build_model_messages
from bot.services.trim import SHORTENED_TOOL_RESULT_CHARS
from bot.storage.models import Step
from bot.vocabulary import AnswerStatus
from tests.services.builders import HistoryBuilder, call, reasoning, result, text
from tests.services.history_helpers import BIG, build, roles, tool, user
from tests.services.strict import assert_valid_for_strict_provider

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
