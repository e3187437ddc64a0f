"""Each model's real context window: a llama.cpp-family server with a 4,096-token window
answers an over-long prompt with an empty 200; the bot reads the window from the server
and trims to it, and says so plainly if an endpoint still sends nothing."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import make_settings, running_bot
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.llm_scripts import text_reply
from tests.fakes.llm_server import FakeLLMServer

WINDOW = 4096


async def test_context_window_is_read_from_a_llamacpp_server_and_history_trimmed_to_it(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    llm.context_style = "llamacpp"
    llm.context_window = WINDOW
    llm.empty_on_overflow = True
    paragraph = "A long paste of a server log line with details. " * 40  # ~500 tokens
    async with running_bot(make_settings(tmp_path, fake, llm), fake, llm) as app:
        await fake.invoke_slash_command("chat", {"prompt": paragraph})
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
        await app.final_answer(thread.id)
        for n in range(1, 10):
            llm.enqueue(text_reply(f"Reply {n}. " + "Long answer words. " * 60))
            await fake.send_user_message(thread.id, content=f"{n}: {paragraph}")
            answer = await app.final_answer(thread.id, index=n)
            assert f"Reply {n}." in answer.content
        assert "Older messages were left out" in answer.content
    assert all(r.rejected is None for r in llm.chat_requests)
    for sent in llm.chat_requests:
        prompt_chars = sum(len(m.get("content") or "") for m in sent.json["messages"])
        assert prompt_chars / 4 <= WINDOW
        assert sent.json["max_tokens"] <= WINDOW // 4


async def test_context_window_empty_answer_from_an_endpoint_is_said_plainly(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    llm.empty_on_overflow = True
    llm.context_window = 10  # smaller than any prompt: every request gets an empty body
    async with running_bot(make_settings(tmp_path, fake, llm), fake, llm) as app:
        await fake.invoke_slash_command("chat", {"prompt": "hello there"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))

        def failed() -> str | None:
            mine = app.bot_messages(thread.id)
            text = mine[-1].content if mine else ""
            return text if "empty answer" in text else None

        text = await fake.wait_for(failed, timeout=10)
    assert "sent back an empty answer" in text
    assert "couldn't understand" not in text
