"""Without the Message Content intent the bot says so, reconnects without it, and /chat works."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.e2e.conftest import make_settings, running_bot
from tests.fakes.discord_server import INTENT_MESSAGE_CONTENT, FakeDiscord
from tests.fakes.llm_scripts import text_reply
from tests.fakes.llm_server import FakeLLMServer


async def test_refused_message_content_intent_reconnects_without_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.app")
    async with FakeDiscord(allowed_privileged_intents=0) as fake, FakeLLMServer() as llm:
        llm.enqueue(text_reply("Works without it."))
        async with running_bot(make_settings(tmp_path, fake, llm), fake, llm) as app:
            assert not app.bot.message_content
            sessions = list(fake.gateway.sessions.values())
            assert sessions and all(not s.intents & INTENT_MESSAGE_CONTENT for s in sessions)

            await fake.invoke_slash_command("chat", {"prompt": "hello"})
            thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
            answer = await app.final_answer(thread.id)
            assert "Works without it." in answer.content
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("Message Content intent" in w and "Developer Portal" in w for w in warnings)


async def test_without_message_content_thread_follow_ups_need_a_mention(tmp_path: Path) -> None:
    async with FakeDiscord(allowed_privileged_intents=0) as fake, FakeLLMServer() as llm:
        llm.enqueue(text_reply("First."), text_reply("Heard you."))
        async with running_bot(make_settings(tmp_path, fake, llm), fake, llm) as app:
            await fake.invoke_slash_command("chat", {"prompt": "hello"})
            thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
            await app.final_answer(thread.id)

            await fake.send_user_message(thread.id, content="unreadable without the intent")
            bot_id = fake.bot_user.id
            await fake.send_user_message(
                thread.id, content=f"<@{bot_id}> can you hear me?", mentions_bot=True
            )
            answer = await app.final_answer(thread.id, index=1)
            assert "Heard you." in answer.content
            assert len(llm.chat_requests) == 2
            sent = llm.chat_requests[1].json["messages"]
            assert sent[-1] == {"role": "user", "content": "can you hear me?"}
