"""MessageRepository: answers and their steps, history, Discord refs, crash recovery."""

from __future__ import annotations

import pytest

from bot.errors import DuplicateMessageError
from bot.storage.conversations import ConversationRepository
from bot.storage.database import Database
from bot.storage.messages import MessageRepository, NewStep
from bot.storage.models import Conversation, Step
from tests.storage.helpers import new_thread


def _call(round_: int, call_id: str) -> NewStep:
    return NewStep(round_, "tool_call", "", call_id, "web_search", '{"q": "x"}')


def _result(round_: int, call_id: str) -> NewStep:
    return NewStep(round_, "tool_result", "found it", call_id, "web_search", None, "ok", 12)


async def test_messages_user_message_is_stored_complete(
    messages: MessageRepository, thread: Conversation
) -> None:
    stored = await messages.add_user_message(thread.id, "hi there", 42, "ann", 111)
    assert (stored.role, stored.status, stored.steps) == ("user", "complete", ())
    assert await messages.get(stored.id) == stored


async def test_messages_steps_keep_their_order_across_appends(
    messages: MessageRepository, thread: Conversation
) -> None:
    answer = await messages.start_answer(thread.id, "m1", None)
    assert answer.status == "streaming"
    first = await messages.append_steps(
        answer.id, [NewStep(0, "reasoning", "think"), _call(0, "c1")]
    )
    second = await messages.append_steps(answer.id, [_result(0, "c1"), NewStep(1, "text", "done")])
    assert [s.seq for s in first + second] == [0, 1, 2, 3]
    assert await messages.append_steps(answer.id, []) == []

    loaded = await messages.get(answer.id)
    assert loaded is not None
    assert loaded.steps == tuple(first + second)
    assert [s.kind for s in loaded.steps] == ["reasoning", "tool_call", "tool_result", "text"]
    assert loaded.steps[2] == Step(
        2, 0, "tool_result", "found it", "c1", "web_search", None, "ok", 12
    )


async def test_messages_finish_answer_records_status_and_text(
    messages: MessageRepository, thread: Conversation
) -> None:
    answer = await messages.start_answer(thread.id, "m1", None)
    await messages.finish_answer(answer.id, "error", "partial", error_text="endpoint 500")
    loaded = await messages.get(answer.id)
    assert loaded is not None
    assert (loaded.status, loaded.content) == ("error", "partial")
    with pytest.raises(ValueError, match="streaming"):
        await messages.finish_answer(answer.id, "streaming", "")
    with pytest.raises(LookupError):
        await messages.finish_answer(answer.id + 100, "complete", "")


async def test_messages_history_groups_steps_under_their_messages(
    messages: MessageRepository, conversations: ConversationRepository, thread: Conversation
) -> None:
    other = await new_thread(conversations, channel_id=2000)
    question = await messages.add_user_message(thread.id, "q1", 42, "ann", 1)
    a1 = await messages.start_answer(thread.id, "m", question.id)
    await messages.append_steps(a1.id, [_call(0, "c1"), _result(0, "c1")])
    await messages.finish_answer(a1.id, "complete", "answer one")
    noise = await messages.start_answer(other.id, "m", None)
    await messages.append_steps(noise.id, [NewStep(0, "text", "elsewhere")])
    await messages.add_user_message(thread.id, "q2", 43, "bob", 2)
    a2 = await messages.start_answer(thread.id, "m", None)
    await messages.append_steps(a2.id, [NewStep(0, "reasoning", "r"), NewStep(0, "text", "t")])

    history = await messages.history(thread.id)
    assert [m.content for m in history] == ["q1", "answer one", "q2", ""]
    assert [[s.kind for s in m.steps] for m in history] == [
        [],
        ["tool_call", "tool_result"],
        [],
        ["reasoning", "text"],
    ]
    assert history[1].steps[0].tool_call_id == history[1].steps[1].tool_call_id == "c1"

    last_two = await messages.history(thread.id, limit=2)
    assert last_two == history[2:]
    assert await messages.history(thread.id, limit=0) == []
    assert await messages.history(thread.id + 999) == []


@pytest.mark.sqlite_only  # counts statements with SQLite's trace
async def test_messages_history_uses_three_queries_for_a_long_conversation(
    db: Database, messages: MessageRepository, thread: Conversation
) -> None:
    # 500 exchanges: a query per message would show as a thousand SELECTs as surely as ten.
    async with db.transaction() as conn:
        for n in range(500):
            await messages.add_user_message(thread.id, f"q{n}", 42, "ann", None, conn=conn)
            answer = await messages.start_answer(thread.id, "m", None, conn=conn)
            await messages.append_steps(
                answer.id, [_call(0, f"c{n}"), _result(0, f"c{n}")], conn=conn
            )
            await messages.finish_answer(answer.id, "complete", f"a{n}", conn=conn)

    statements: list[str] = []
    await db.set_trace_callback(statements.append)
    history = await messages.history(thread.id)
    await db.set_trace_callback(None)

    assert len(history) == 1_000
    assert [s.tool_call_id for s in history[-1].steps] == ["c499", "c499"]
    assert all(len(m.steps) == (2 if m.role == "assistant" else 0) for m in history)
    # Messages, their steps, their rounds' provider artefacts: never one query per message.
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 3


async def test_messages_discord_refs_in_position_order(
    messages: MessageRepository, thread: Conversation
) -> None:
    answer = await messages.start_answer(thread.id, "m", None)
    await messages.add_discord_message(answer.id, 1, 1000, 502)
    await messages.add_discord_message(answer.id, 0, 1000, 501)
    await messages.add_discord_message(answer.id, 1, 1000, 503)  # resent: replaces position 1
    refs = await messages.discord_messages(answer.id)
    assert [(r.position, r.discord_message_id) for r in refs] == [(0, 501), (1, 503)]
    assert refs[0].channel_id == 1000 and refs[0].message_id == answer.id


async def test_messages_find_by_discord_message(
    messages: MessageRepository, thread: Conversation
) -> None:
    question = await messages.add_user_message(thread.id, "q", 42, "ann", 900)
    answer = await messages.start_answer(thread.id, "m", question.id)
    await messages.append_steps(answer.id, [NewStep(0, "text", "t")])
    await messages.add_discord_message(answer.id, 0, 1000, 901)
    await messages.add_discord_message(answer.id, 1, 1000, 902)

    assert await messages.find_by_discord_message(900) == question
    found = await messages.find_by_discord_message(902)
    assert found is not None and found.id == answer.id and len(found.steps) == 1
    assert await messages.find_by_discord_message(903) is None


async def test_messages_interrupt_orphaned_takes_answers_without_owner(
    messages: MessageRepository, conversations: ConversationRepository, thread: Conversation
) -> None:
    other = await new_thread(conversations, channel_id=3000)
    done = await messages.start_answer(thread.id, "m", None)
    await messages.finish_answer(done.id, "complete", "ok")
    cut1 = await messages.start_answer(thread.id, "m", None)
    await messages.append_steps(cut1.id, [NewStep(0, "reasoning", "half a thought")])
    cut2 = await messages.start_answer(other.id, "m", None)

    interrupted = await messages.interrupt_orphaned(unowned=True)
    assert [m.id for m in interrupted] == [cut1.id, cut2.id]
    assert all(m.status == "interrupted" for m in interrupted)
    assert interrupted[0].steps[0].content == "half a thought"
    assert await messages.get(cut1.id) == interrupted[0]
    loaded_done = await messages.get(done.id)
    assert loaded_done is not None and loaded_done.status == "complete"
    assert await messages.interrupt_orphaned(unowned=True) == []


async def test_messages_discord_message_is_stored_once(
    messages: MessageRepository, thread: Conversation
) -> None:
    await messages.add_user_message(thread.id, "q", 42, "ann", 700)
    with pytest.raises(DuplicateMessageError):
        await messages.add_user_message(thread.id, "q again", 42, "ann", 700)


async def test_messages_get_inside_a_transaction_needs_conn(
    db: Database, messages: MessageRepository, thread: Conversation
) -> None:
    async with db.transaction() as conn:
        stored = await messages.add_user_message(thread.id, "q", 42, "ann", None, conn=conn)
        assert await messages.get(stored.id, conn=conn) == stored
        with pytest.raises(RuntimeError, match="conn="):
            await messages.get(stored.id)
    assert await messages.get(stored.id) == stored
