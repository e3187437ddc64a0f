"""The chat service: queueing, stop, failures and history, over real SQLite and real HTTP."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot.llm.client import LLMClient
from bot.llm.tools import ToolRegistry
from bot.llm.types import LoopDone, LoopEvent, TextDelta
from bot.services.chat import ChatService, TurnRequest
from bot.services.effective_settings import EffectiveSettings, EffectiveSettingsCache
from bot.services.model_request import EngineLimits, history_for_turn
from bot.storage.channel_settings import ChannelSettingsRepository
from bot.storage.conversations import ConversationRepository
from bot.storage.database import Database
from bot.storage.messages import MessageRepository
from bot.storage.models import Conversation, StoredMessage
from tests.fakes.llm_scripts import http_error, text_reply
from tests.fakes.llm_server import FakeLLMServer


@dataclass
class RecordingPresenter:
    """Collects what a person would be shown (the Discord presenter is tested end to end)."""

    answer: StoredMessage
    log: list[str]
    changed: asyncio.Event
    events: list[LoopEvent] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failure: tuple[str, str | None] | None = None
    was_interrupted: bool = False
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    def update(self, event: LoopEvent) -> None:
        self.events.append(event)
        self.changed.set()

    def note(self, text: str) -> None:
        self.notes.append(text)

    def add_cost(self, cost_micros: int | None, *, estimated: bool) -> None:
        pass

    async def fail(self, user_message: str, *, error_id: str | None = None) -> None:
        self.failure = (user_message, error_id)

    async def interrupted(self) -> None:
        self.was_interrupted = True

    async def finish(self) -> None:
        self.log.append(f"finish {self.answer.id}")
        self.finished.set()
        self.changed.set()

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, TextDelta))


@dataclass
class Harness:
    service: ChatService
    conversations: ConversationRepository
    messages: MessageRepository
    llm: FakeLLMServer
    effective: EffectiveSettingsCache
    client: LLMClient
    presenters: list[RecordingPresenter] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def conversation(self, channel_id: int = 10) -> Conversation:
        return await self.conversations.create(
            kind="inline",
            guild_id=1,
            channel_id=channel_id,
            parent_channel_id=None,
            title=None,
            model=None,
            created_by=5,
        )

    async def say(self, conversation: Conversation, text: str, author: str = "Ann") -> int:
        stored = await self.messages.add_user_message(conversation.id, text, 5, author, None)

        async def factory(
            answer: StoredMessage, effective: EffectiveSettings
        ) -> RecordingPresenter:
            self.log.append(f"start {answer.id} for {stored.id}")
            presenter = RecordingPresenter(answer, self.log, self.changed)
            self.presenters.append(presenter)
            return presenter

        return self.service.submit(TurnRequest(conversation, stored, factory))

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait (at most 5 s) until `condition` holds, re-checking after every change."""
        async with asyncio.timeout(5):
            while not condition():
                self.changed.clear()
                await self.changed.wait()

    async def all_finished(self, count: int) -> None:
        await self.until(
            lambda: (
                len(self.presenters) >= count and all(p.finished.is_set() for p in self.presenters)
            )
        )

    def first_text_shown(self) -> bool:
        return bool(self.presenters and self.presenters[0].text)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    async with (
        Database.open(tmp_path / "chat.db") as db,
        FakeLLMServer() as llm,
        aiohttp.ClientSession() as http,
    ):
        client = LLMClient(http, llm.base_url, backoff_base=0.001, rng=random.Random(1))
        effective = EffectiveSettingsCache(
            ChannelSettingsRepository(db),
            default_model="fake-model",
            available_tools=(),
            default_enabled=(),
        )
        messages = MessageRepository(db)
        service = ChatService(
            messages=messages,
            effective_settings=effective,
            client=client,
            tools=ToolRegistry(),
            limits=EngineLimits(context_tokens=2_000, max_output_tokens=200),
        )
        yield Harness(service, ConversationRepository(db), messages, llm, effective, client)
        await service.close(grace_s=1)


async def test_chat_queued_messages_are_answered_in_order(harness: Harness) -> None:
    conversation = await harness.conversation()
    for n in range(3):
        harness.llm.enqueue(text_reply(f"answer {n}", chunk_size=2, delay=0.01))
    ahead = [await harness.say(conversation, f"question {n}") for n in range(3)]
    assert ahead == [0, 1, 2]
    await harness.all_finished(3)
    # One answer at a time: each finishes before the next starts.
    starts_and_finishes = [entry.split()[0] for entry in harness.log]
    assert starts_and_finishes == ["start", "finish"] * 3
    assert [p.text for p in harness.presenters] == ["answer 0", "answer 1", "answer 2"]
    # The third answer saw the first two exchanges in order, and not a later message.
    sent = harness.llm.chat_requests[2].json["messages"]
    assert [m["content"] for m in sent[1:]] == [
        "question 0",
        "answer 0",
        "question 1",
        "answer 1",
        "question 2",
    ]
    history = await harness.messages.history(conversation.id)
    assert [m.status for m in history if m.role == "assistant"] == ["complete"] * 3


async def test_chat_stop_ends_only_the_running_answer(harness: Harness) -> None:
    conversation = await harness.conversation()
    harness.llm.enqueue(text_reply("slow " * 100, chunk_size=5, delay=0.05), text_reply("next"))
    await harness.say(conversation, "first")
    await harness.say(conversation, "second")
    await harness.until(harness.first_text_shown)
    assert harness.service.stop(conversation.id)
    await harness.all_finished(2)
    first, second = harness.presenters
    assert isinstance(first.events[-1], LoopDone) and first.events[-1].reason == "stopped"
    assert second.text == "next"
    stored = await harness.messages.get(first.answer.id)
    assert stored is not None and stored.status == "stopped" and stored.content
    assert not harness.service.stop(conversation.id)  # nothing running any more


async def test_chat_message_too_long_for_context_is_refused_plainly(harness: Harness) -> None:
    conversation = await harness.conversation()
    await harness.say(conversation, "word " * 5_000)
    await harness.all_finished(1)
    presenter = harness.presenters[0]
    assert presenter.failure is not None and "too long" in presenter.failure[0]
    assert harness.llm.chat_requests == []
    stored = await harness.messages.get(presenter.answer.id)
    assert stored is not None and stored.status == "error"


async def test_chat_old_turns_left_out_are_announced(harness: Harness) -> None:
    conversation = await harness.conversation()
    for n in range(6):
        harness.llm.enqueue(text_reply("x" * 1500))
        await harness.say(conversation, f"q{n} " + "y" * 1500)
    await harness.all_finished(6)
    assert any("left out" in note for note in harness.presenters[-1].notes)


async def test_chat_endpoint_error_is_recorded_and_shown(harness: Harness) -> None:
    conversation = await harness.conversation()
    harness.llm.enqueue(http_error(401, message="bad key"))
    await harness.say(conversation, "hello")
    await harness.all_finished(1)
    stored = await harness.messages.get(harness.presenters[0].answer.id)
    assert stored is not None and stored.status == "error"
    assert stored.error_text and "LLM_API_KEY" in stored.error_text


async def test_chat_close_interrupts_running_answers(harness: Harness) -> None:
    conversation = await harness.conversation()
    harness.llm.enqueue(text_reply("long " * 200, chunk_size=5, delay=0.05))
    await harness.say(conversation, "tell me a story")
    await harness.until(harness.first_text_shown)
    await harness.service.close(grace_s=0.05)
    presenter = harness.presenters[0]
    assert presenter.was_interrupted
    stored = await harness.messages.get(presenter.answer.id)
    assert stored is not None and stored.status == "interrupted" and stored.content


def _msg(
    id_: int, content: str, reply_to: int | None = None, status: str = "complete"
) -> StoredMessage:
    return StoredMessage(
        id=id_,
        conversation_id=1,
        role="user" if reply_to is None else "assistant",
        content=content,
        author_id=5 if reply_to is None else None,
        author_name="Ann" if reply_to is None else None,
        discord_message_id=None,
        status=status,  # type: ignore[arg-type]
        model=None,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        reply_to_message_id=reply_to,
    )


def test_chat_history_for_turn_places_answers_after_their_question() -> None:
    stored = [
        _msg(1, "q1"),
        _msg(2, "q2"),  # arrived while q1 was being answered
        _msg(3, "a1", reply_to=1),
        _msg(4, "q3"),
        _msg(5, "a2", reply_to=2),
        _msg(6, "a3 failed", reply_to=4, status="error"),
        _msg(7, "q4"),
        _msg(8, "a3 retried", reply_to=4),
    ]
    contents = lambda ms: [m.content for m in ms]  # noqa: E731
    # Answering q3 again (a retry): the failed answer to it is left out.
    assert contents(history_for_turn(stored, 4, current_answer_id=9)) == [
        "q1", "a1", "q2", "a2", "q3",
    ]  # fmt: skip
    # Answering q2 while a2 is the answer in progress: later messages are left out.
    assert contents(history_for_turn(stored, 2, current_answer_id=5)) == ["q1", "a1", "q2"]
    # Answering q4: of two answers to q3 only the last one counts.
    assert contents(history_for_turn(stored, 7, current_answer_id=10)) == [
        "q1", "a1", "q2", "a2", "q3", "a3 retried", "q4",
    ]  # fmt: skip


async def fill(harness: Harness, conversation: Conversation, count: int, size: int) -> None:
    """`count` earlier exchanges (question + answer) with `size`-character texts."""
    for n in range(count):
        question = await harness.messages.add_user_message(
            conversation.id, f"q{n} " + "x" * size, 5, "Ann", None
        )
        answer = await harness.messages.start_answer(conversation.id, "fake-model", question.id)
        await harness.messages.finish_answer(answer.id, "complete", f"a{n} " + "y" * size)


async def test_chat_long_history_that_fits_is_loaded_whole(harness: Harness) -> None:
    roomy = ChatService(
        messages=harness.messages,
        effective_settings=harness.effective,
        client=harness.client,
        tools=ToolRegistry(),
        limits=EngineLimits(context_tokens=200_000, max_output_tokens=200),
    )
    harness.service = roomy
    conversation = await harness.conversation()
    await fill(harness, conversation, 400, 10)  # 800 messages: past the first window
    harness.llm.enqueue(text_reply("ok"))
    await harness.say(conversation, "what was first?")
    await harness.all_finished(1)
    sent = harness.llm.chat_requests[0].json["messages"]
    assert sent[1]["content"].startswith("q0 ")  # the oldest exchange is there
    assert len(sent) == 1 + 800 + 1
    assert harness.presenters[0].notes == []
    await roomy.close(grace_s=1)


async def test_chat_long_history_stops_loading_once_the_budget_is_full(harness: Harness) -> None:
    conversation = await harness.conversation()
    await fill(harness, conversation, 1_000, 40)  # far more than a 2,000-token context holds
    harness.llm.enqueue(text_reply("ok"))
    await harness.say(conversation, "and now?")
    await harness.all_finished(1)
    sent = harness.llm.chat_requests[0].json["messages"]
    assert sent[-1]["content"] == "and now?"
    assert sent[-2]["content"].startswith("a999 ")  # the newest exchange is kept
    assert not any(m["content"].startswith("q0 ") for m in sent)
    assert harness.presenters[0].notes == [
        "Older messages were left out to fit the model's context."
    ]
