"""Cancelling an answer at any point leaves a record the model can continue from.

Each test runs a two-round answer (tools, then text) through the real loop, the real recorder
and a real SQLite file, interrupts it after the k-th event for every k, then rebuilds the
history and sends it with a new question to the strict fake endpoint, which answers 400 when
tool pairing or message order is broken.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.llm.client import LLMClient
from bot.llm.loop import run_tool_loop
from bot.llm.tools import ToolContext, ToolRegistry
from bot.llm.types import ChatMessage, ChatRequest, Completion, LoopEvent
from bot.services.history import build_model_messages
from bot.services.recorder import AnswerRecorder
from bot.storage.conversations import ConversationRepository
from bot.storage.database import Database
from bot.storage.messages import MessageRepository
from tests.fakes.llm_scripts import text_reply, tool_call_reply
from tests.fakes.llm_server import FakeLLMServer
from tests.loop.tools import echo, tool


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with Database.open(tmp_path / "record.db") as database:
        yield database


async def slow_echo(ctx: ToolContext, **arguments: Any) -> str:
    await asyncio.sleep(0.02)
    return "slow"


def script(llm: FakeLLMServer) -> None:
    llm.enqueue(
        tool_call_reply([("echo", {"a": 1}), ("slow_echo", {"b": 2})], text="Checking."),
        text_reply("All done: the answer is 42.", reasoning="thinking hard", chunk_size=6),
    )


async def answer_until(
    client: LLMClient,
    messages: MessageRepository,
    answer_id: int,
    history: list[ChatMessage],
    *,
    cancel_after: int | None,
    stop_after: int | None,
) -> int:
    """Run one answer, cancelling (hard) or stopping after the given number of events."""
    recorder = AnswerRecorder(messages, answer_id)
    stop = asyncio.Event()
    registry = ToolRegistry([tool("echo", echo), tool("slow_echo", slow_echo)])
    request = ChatRequest(model="fake-model", messages=history)
    seen = 0

    async def consume() -> None:
        nonlocal seen
        try:
            async for event in run_tool_loop(client, request, registry, ToolContext(), stop=stop):
                await recorder.on_event(event)
                seen += 1
                if seen == stop_after:
                    stop.set()
                if seen == cancel_after:
                    task = asyncio.current_task()
                    assert task is not None
                    task.cancel()
        except asyncio.CancelledError:
            await recorder.abandon()
            raise

    task = asyncio.ensure_future(consume())
    await asyncio.gather(task, return_exceptions=True)
    assert recorder.finished is not None  # every path closes the answer
    return seen


async def continue_conversation(
    llm: FakeLLMServer, client: LLMClient, messages: MessageRepository, conversation_id: int
) -> None:
    await messages.add_user_message(conversation_id, "and then?", 7, "Ann", None)
    rebuilt = build_model_messages(
        await messages.history(conversation_id), system_prompt="sys", token_budget=100_000
    )
    llm.enqueue(text_reply("continuing"))
    events = [e async for e in client.stream(ChatRequest("fake-model", rebuilt.messages))]
    assert isinstance(events[-1], Completion)  # the strict fake accepted the history
    assert llm.chat_requests[-1].rejected is None


async def count_events(llm: FakeLLMServer, client: LLMClient) -> int:
    script(llm)
    events: list[LoopEvent] = []
    registry = ToolRegistry([tool("echo", echo), tool("slow_echo", slow_echo)])
    request = ChatRequest("fake-model", [ChatMessage("user", "q")])
    async for event in run_tool_loop(client, request, registry, ToolContext()):
        events.append(event)
    return len(events)


@pytest.mark.parametrize("mode", ["cancel", "stop"])
async def test_record_consistent_after_interruption_at_every_event(
    llm: FakeLLMServer, client: LLMClient, db: Database, mode: str
) -> None:
    total = await count_events(llm, client)
    assert total > 15
    conversations, messages = ConversationRepository(db), MessageRepository(db)
    for k in range(1, total + 1):
        conversation = await conversations.create(
            kind="inline",
            guild_id=1,
            channel_id=1000 + k,
            parent_channel_id=None,
            title=None,
            model=None,
            created_by=7,
        )
        llm.reset()
        question = await messages.add_user_message(conversation.id, "what is it?", 7, "Ann", None)
        answer = await messages.start_answer(conversation.id, "fake-model", question.id)
        script(llm)
        await answer_until(
            client,
            messages,
            answer.id,
            [ChatMessage("user", "what is it?")],
            cancel_after=k if mode == "cancel" else None,
            stop_after=k if mode == "stop" else None,
        )
        stored = await messages.get(answer.id)
        assert stored is not None
        # Once the last round's output is complete (its usage reported), a Stop has nothing
        # left to stop; a cancellation still hits the writes until the round is recorded.
        still_running = k < total - (1 if mode == "cancel" else 2)
        if still_running:
            expected = "interrupted" if mode == "cancel" else "stopped"
            assert stored.status == expected, f"after {k} events"
        else:
            assert stored.status in {"complete", "interrupted", "stopped"}
        llm.reset()
        await continue_conversation(llm, client, messages, conversation.id)
