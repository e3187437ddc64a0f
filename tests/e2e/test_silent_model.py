"""A model endpoint that accepts a request and sends nothing: the answer says it is still
waiting, then fails plainly with Retry well within the silence budget, and Retry works. A
model that keeps streaming (slowly) is never cut."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import button_with, click_as, make_settings, running_bot
from tests.fakes.discord_server import FakeDiscord, FakeMessage
from tests.fakes.llm_scripts import text_reply
from tests.fakes.llm_server import FakeLLMServer

RETRY = "switchboard:retry:"


async def test_silent_model_waiting_notice_then_error_with_retry(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    settings = make_settings(tmp_path, fake, llm).model_copy(
        update={
            "llm_connect_timeout": 0.3,
            "llm_first_byte_timeout": 1.2,
            "llm_waiting_notice_seconds": 0.4,
        }
    )
    silent = text_reply("never sent")
    silent.headers_delay = 60
    llm.enqueue(silent)
    async with running_bot(settings, fake, llm) as app:
        await fake.invoke_slash_command("chat", {"prompt": "hello?"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))

        def shown(needle: str) -> FakeMessage | None:
            mine = app.bot_messages(thread.id)
            return mine[-1] if mine and needle in mine[-1].content else None

        await fake.wait_for(lambda: shown("Still waiting for the model"), timeout=5)
        failed = await fake.wait_for(lambda: shown("took too long"), timeout=5)
        retry = button_with(failed, RETRY)
        assert retry is not None
        assert "Still waiting" not in failed.content
        assert len(llm.chat_requests) == 1  # silence is not retried into minutes

        llm.enqueue(text_reply("Here now."))
        assert fake.user is not None
        await click_as(fake, failed.id, retry, fake.user)
        answer = await app.final_answer(thread.id, index=1)
        assert "Here now." in answer.content


async def test_silent_model_slow_stream_is_never_cut(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    settings = make_settings(tmp_path, fake, llm).model_copy(
        update={"llm_first_byte_timeout": 0.5, "llm_idle_timeout": 0.5}
    )
    # Each chunk comes 0.3 s after the last: the whole answer takes longer than the
    # first-byte budget, but the model is never silent for long.
    llm.enqueue(text_reply("slow but steady words", chunk_size=3, delay=0.3))
    async with running_bot(settings, fake, llm) as app:
        await fake.invoke_slash_command("chat", {"prompt": "go slowly"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
        answer = await app.final_answer(thread.id)
    assert "slow but steady words" in answer.content
    assert "Still waiting" not in answer.content
