"""Thread titles: after a thread's first answer a model titles it, billed as its own call;
failures stay silent, later answers never rename it again."""

from __future__ import annotations

from pathlib import Path

from tests.billing.ledger_rows import LedgerReader
from tests.e2e.conftest import make_settings, running_bot
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.llm_scripts import http_error, text_reply
from tests.fakes.llm_server import FakeLLMServer


async def test_titles_first_answer_renames_the_thread_once(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    settings = make_settings(tmp_path, fake, llm).model_copy(update={"title_model": ""})
    llm.enqueue(
        text_reply("Use a context manager."), text_reply('Title: "Closing files in Python."')
    )
    async with running_bot(settings, fake, llm) as app:
        await fake.invoke_slash_command(
            "chat", {"prompt": "how do I make sure my file gets closed even when it raises"}
        )
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
        await app.final_answer(thread.id)
        await fake.wait_for(lambda: thread.name == "Closing files in Python" or None)
        assert await LedgerReader(app.bot.services.db).count() == 2
        async with app.bot.services.db.reading() as conn:
            rows = await conn.execute_fetchall("SELECT purpose FROM usage_ledger ORDER BY id")
        assert [r[0] for r in rows] == ["answer", "title"]

        llm.enqueue(text_reply("Or try/finally."))
        await fake.send_user_message(thread.id, content="anything else?")
        await app.final_answer(thread.id, index=1)
        assert len(llm.chat_requests) == 3  # no second title
    title_request = llm.chat_requests[1].json
    assert "tools" not in title_request
    assert "make sure my file gets closed" in title_request["messages"][-1]["content"]


async def test_titles_failure_is_silent(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    settings = make_settings(tmp_path, fake, llm).model_copy(
        update={"title_model": "", "llm_max_retries": 0}
    )
    llm.enqueue(text_reply("Fine."), http_error(500, message="boom"))
    async with running_bot(settings, fake, llm) as app:
        await fake.invoke_slash_command("chat", {"prompt": "a question"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
        answer = await app.final_answer(thread.id)
        await llm.wait_for_requests(2, "/chat/completions")
        assert "Fine." in answer.content and "⚠️" not in answer.content
        assert thread.name == "a question"
        assert len(app.bot_messages(thread.id)) == 1
