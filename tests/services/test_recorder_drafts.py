"""AnswerRecorder with a StreamLog: the streaming round is saved before it finishes, its final
write replaces the draft, and after a crash history replays it like a stopped round.

Loop events go into the real recorder (they are its protocol), over a real database on each
engine (a SQLite file, a throwaway PostgreSQL); a "crash" is the database closed while an
answer streams, with nothing finished.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.llm.types import (
    ChatRequest,
    LoopDone,
    LoopEvent,
    ReasoningDelta,
    RoundFinished,
    RoundStarted,
    TextDelta,
    TextWasReasoning,
    ToolCall,
    ToolFinished,
)
from bot.services.history import END_MARKERS, build_model_messages
from bot.services.model_request import history_for_turn
from bot.services.recorder import AnswerRecorder
from bot.storage.conversations import ConversationRepository
from bot.storage.database import Database
from bot.storage.messages import MessageRepository
from bot.storage.models import Conversation, StoredMessage
from bot.storage.stream_log import StreamLog
from tests.services.strict import assert_valid_for_strict_provider

CALL = ToolCall("call_1", "calculator", '{"expression": "6*7"}')
REQUEST = ChatRequest("fake-model", ())


@pytest.fixture
async def db(database_target: Path | str) -> AsyncIterator[Database]:
    async with Database.open(database_target) as database:
        yield database


async def new_conversation(db: Database, channel_id: int = 10) -> Conversation:
    return await ConversationRepository(db).create(
        kind="thread",
        guild_id=1,
        channel_id=channel_id,
        parent_channel_id=5,
        title=None,
        model=None,
        created_by=7,
    )


async def feed(recorder: AnswerRecorder, *events: LoopEvent) -> None:
    for event in events:
        await recorder.on_event(event)


def tool_round() -> list[LoopEvent]:
    return [
        RoundStarted(1, REQUEST),
        ReasoningDelta("I should "),
        ReasoningDelta("compute it."),
        TextDelta("Let me "),
        TextDelta("check."),
        RoundFinished(1, "Let me check.", "I should compute it.", (CALL,), "tool_calls"),
        ToolFinished(1, CALL, "42", "ok", 0.01),
        RoundStarted(2, REQUEST),
        ReasoningDelta("It is 42."),
        TextDelta("The answer "),
        TextDelta("is 42"),
    ]


def kinds(answer: StoredMessage | None) -> list[tuple[int, str, str]]:
    assert answer is not None
    return [(s.round, s.kind, s.content) for s in answer.steps]


async def test_recorder_saves_the_streaming_round_before_it_finishes(db: Database) -> None:
    messages = MessageRepository(db)
    stream_log = StreamLog(db)
    conversation = await new_conversation(db)
    answer = await messages.start_answer(conversation.id, "fake-model", None)
    recorder = AnswerRecorder(messages, answer.id, drafts=stream_log)

    await feed(recorder, RoundStarted(1, REQUEST), ReasoningDelta("Thinking"), TextDelta("Hel"))
    await stream_log.flush()
    saved = await messages.get(answer.id)
    assert kinds(saved) == [(1, "reasoning", "Thinking"), (1, "text", "Hel")]
    assert saved is not None and saved.status == "streaming"

    await feed(recorder, TextDelta("lo there"))
    await stream_log.flush()
    await feed(
        recorder,
        RoundFinished(1, "Hello there", "Thinking", (), "stop"),
        LoopDone("complete", "Hello there"),
    )
    await stream_log.flush()

    final = await messages.get(answer.id)
    assert kinds(final) == [(1, "reasoning", "Thinking"), (1, "text", "Hello there")]
    assert final is not None and (final.status, final.content) == ("complete", "Hello there")
    assert [s.seq for s in final.steps] == [0, 1]
    assert stream_log.pending == 0


async def test_recorder_tool_rounds_keep_their_order_around_drafts(db: Database) -> None:
    messages = MessageRepository(db)
    stream_log = StreamLog(db)
    conversation = await new_conversation(db)
    answer = await messages.start_answer(conversation.id, "fake-model", None)
    recorder = AnswerRecorder(messages, answer.id, drafts=stream_log)

    events = tool_round()
    await feed(recorder, *events[:4])
    await stream_log.flush()  # round 1 mid-stream
    await feed(recorder, *events[4:])
    await stream_log.flush()  # round 2 mid-stream

    saved = await messages.get(answer.id)
    assert kinds(saved) == [
        (1, "reasoning", "I should compute it."),
        (1, "text", "Let me check."),
        (1, "tool_call", ""),
        (1, "tool_result", "42"),
        (2, "reasoning", "It is 42."),
        (2, "text", "The answer is 42"),
    ]


async def test_recorder_abandon_replaces_the_draft_with_the_whole_partial_round(
    db: Database,
) -> None:
    messages = MessageRepository(db)
    stream_log = StreamLog(db)
    conversation = await new_conversation(db)
    answer = await messages.start_answer(conversation.id, "fake-model", None)
    recorder = AnswerRecorder(messages, answer.id, drafts=stream_log)

    await feed(recorder, *tool_round())
    await stream_log.flush()
    await feed(recorder, TextDelta(", surely."))  # not flushed yet
    await recorder.abandon()
    await stream_log.flush()

    saved = await messages.get(answer.id)
    assert kinds(saved)[4:] == [
        (2, "reasoning", "It is 42."),
        (2, "text", "The answer is 42, surely."),
    ]
    assert saved is not None and saved.status == "interrupted"
    assert saved.content == "Let me check.\n\nThe answer is 42, surely."


async def test_recorder_text_that_was_reasoning_moves_to_the_reasoning_draft(db: Database) -> None:
    messages = MessageRepository(db)
    stream_log = StreamLog(db)
    conversation = await new_conversation(db)
    answer = await messages.start_answer(conversation.id, "fake-model", None)
    recorder = AnswerRecorder(messages, answer.id, drafts=stream_log)

    await feed(recorder, RoundStarted(1, REQUEST), TextDelta("planning the"))
    await stream_log.flush()
    await feed(recorder, TextWasReasoning(), TextDelta("Done."))
    await stream_log.flush()

    saved = await messages.get(answer.id)
    assert saved is not None
    texts = {kind: content for _, kind, content in kinds(saved)}
    assert texts == {"text": "Done.", "reasoning": "planning the"}


async def crash_mid_answer(target: Path | str, events: list[LoopEvent]) -> None:
    """A member asks; the answer streams `events`, is flushed, and the process dies."""
    async with Database.open(target) as db:
        messages = MessageRepository(db)
        stream_log = StreamLog(db)
        conversation = await new_conversation(db)
        asked = await messages.add_user_message(conversation.id, "what is 6*7?", 7, "Ann", 1)
        answer = await messages.start_answer(conversation.id, "fake-model", asked.id)
        recorder = AnswerRecorder(messages, answer.id, drafts=stream_log)
        await feed(recorder, *events)
        await stream_log.flush()
        # Dies here: nothing finishes the answer.


async def next_turn(target: Path | str, follow_up: str) -> list[StoredMessage]:
    """After the restart: recovery, then the member writes again; the history for that turn."""
    async with Database.open(target) as db:
        messages = MessageRepository(db)
        interrupted = await messages.interrupt_orphaned(unowned=True)
        assert len(interrupted) == 1
        shown = [s.content for s in interrupted[0].steps if s.kind == "text"]
        assert interrupted[0].content == "\n\n".join(shown)
        conversation_id = interrupted[0].conversation_id
        asked = await messages.add_user_message(conversation_id, follow_up, 7, "Ann", 2)
        stored = await messages.history(conversation_id)
    return history_for_turn(stored, asked.id, None)


async def test_recorder_after_a_crash_history_replays_the_draft_like_a_stopped_round(
    tmp_path: Path, database_target: Path | str
) -> None:
    await crash_mid_answer(database_target, tool_round())
    crashed = await next_turn(database_target, "and times two?")

    # The reference run, stopped by the member, on a SQLite file of its own.
    async with Database.open(tmp_path / "stopped.db") as db:
        messages = MessageRepository(db)
        conversation = await new_conversation(db)
        asked = await messages.add_user_message(conversation.id, "what is 6*7?", 7, "Ann", 1)
        answer = await messages.start_answer(conversation.id, "fake-model", asked.id)
        recorder = AnswerRecorder(messages, answer.id, drafts=StreamLog(db))
        await feed(
            recorder,
            *tool_round(),
            RoundFinished(2, "The answer is 42", "It is 42.", (), "other"),
            LoopDone("stopped", "The answer is 42"),
        )
        again = await messages.add_user_message(conversation.id, "and times two?", 7, "Ann", 2)
        stopped = history_for_turn(await messages.history(conversation.id), again.id, None)

    def sent(history: list[StoredMessage]) -> list[tuple[str, str | None, int]]:
        built = build_model_messages(history, system_prompt="sys", token_budget=100_000)
        assert_valid_for_strict_provider(built.messages, reasoning_texts=["compute it", "It is"])
        return [(m.role, m.content, len(m.tool_calls)) for m in built.messages]

    interrupted, by_member = END_MARKERS["interrupted"], END_MARKERS["stopped"]
    assert sent(crashed) == [
        (role, text.replace(by_member, interrupted) if text else text, calls)
        for role, text, calls in sent(stopped)
    ]
    assert ("assistant", f"The answer is 42\n\n{interrupted}", 0) in sent(crashed)


async def test_recorder_after_a_crash_in_reasoning_keeps_one_user_message(
    database_target: Path | str,
) -> None:
    await crash_mid_answer(
        database_target, [RoundStarted(1, REQUEST), ReasoningDelta("Let me think about")]
    )
    history = await next_turn(database_target, "hello?")
    assert [m.role for m in history] == ["user", "assistant", "user"]
    assert [s.kind for s in history[1].steps] == ["reasoning"]  # the draft was saved

    built = build_model_messages(history, system_prompt="sys", token_budget=100_000)

    assert_valid_for_strict_provider(built.messages, reasoning_texts=["Let me think"])
    assert [m.role for m in built.messages] == ["system", "user"]
    assert built.messages[1].content == "what is 6*7?\n\nhello?"
