"""PostgreSQL lost while an answer streams: the real bot on the fake Discord, a slow fake
model and a throwaway PostgreSQL server the test stops and starts again. The member sees
the words already shown and one plain line; the bot reconnects by itself (a line per
attempt, no traceback, no password); once the server is back the answer is stored as the
member saw it, not `streaming`, and the next answer works without a restart."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.errors import DatabaseUnavailableError
from bot.settings import Settings
from bot.storage.models import StoredMessage
from tests.billing.ledger_rows import LedgerReader
from tests.e2e.conftest import Running, button_with, make_settings, running_bot
from tests.e2e.test_billing_commands import set_price, text_of
from tests.fakes.discord_server import FakeDiscord, FakeMessage
from tests.fakes.llm_scripts import text_reply
from tests.fakes.llm_server import FakeLLMServer
from tests.pg_server import ThrowawayPostgres
from tests.polling import poll

LINE = "The bot lost its connection to its database; try again in a minute."
FIRST = "The first half of this answer reached the member before the database went away. "
REST = " ".join(f"word{i}" for i in range(200))


def _on_postgres(
    tmp_path: Path,
    fake: FakeDiscord,
    llm: FakeLLMServer,
    server: ThrowawayPostgres,
    **update: object,
) -> Settings:
    """The e2e settings on a fresh database of the test's own PostgreSQL server."""
    url = server.url(server.create_database())
    return make_settings(tmp_path, fake, llm).model_copy(
        update={"database_url": SecretStr(url), **update}
    )


async def _started(app: Running, channel_id: int) -> FakeMessage:
    def shown() -> FakeMessage | None:
        mine = app.bot_messages(channel_id)
        return mine[0] if mine and "word1 " in mine[0].content else None

    return await app.fake.wait_for(shown, timeout=10)


async def test_postgres_lost_mid_answer_ends_it_plainly_and_saves_it_once_back(
    tmp_path: Path,
    fakes: tuple[FakeDiscord, FakeLLMServer],
    private_postgres: ThrowawayPostgres,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    fake, llm = fakes
    # Trust authentication ignores the password: it is there to be kept out of the logs.
    url = private_postgres.url(private_postgres.create_database())
    url = url.replace("postgres@", "postgres:hunter2@")
    assert fake.user is not None
    settings = make_settings(tmp_path, fake, llm).model_copy(
        update={
            "database_url": SecretStr(url),
            "stream_save_seconds": 0.1,
            "owner_ids": frozenset({fake.user.id}),  # for /price
        }
    )
    # Several seconds of streaming: the database goes away in the middle of it.
    llm.enqueue(text_reply(FIRST + REST, chunk_size=12, delay=0.05))
    async with running_bot(settings, fake, llm) as app:
        outage = app.bot.services.db.outage
        assert outage is not None
        outage.retry_first_s, outage.retry_max_s = 0.1, 0.3
        # A priced model under a server budget: the answer's call holds part of it.
        await set_price(app)
        budget = {"scope": "server", "amount": 100.0, "period": "month"}
        assert (await text_of(app, "budget", budget, subcommand="set")).startswith("✅")
        await fake.invoke_slash_command("chat", {"prompt": "tell me"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
        thread_id = thread.id
        shown = await _started(app, thread_id)
        async with app.bot.services.db.reading() as conn:
            assert await conn.scalar("SELECT COUNT(*) FROM reservations") == 1

        await asyncio.to_thread(private_postgres.pause)
        final = await app.final_answer(thread_id)
        # The words already shown stay, with one plain line under them; the rest of the
        # model's answer was not waited for.
        assert final.id == shown.id
        assert final.content.startswith(FIRST.strip())
        assert f"⚠️ {LINE}" in final.content
        assert "word199" not in final.content
        assert "went wrong" not in final.content and "error id" not in final.content
        seen = final.content.split("⚠️")[0].strip()

        await asyncio.to_thread(private_postgres.resume)

        async def stored() -> StoredMessage | None:
            """The closed answer, once the database (reconnecting by itself) can tell."""
            with suppress(DatabaseUnavailableError):
                refs = await app.bot.services.messages.find_by_discord_message(final.id)
                answer = None if refs is None else await app.bot.services.messages.get(refs.id)
                return answer if answer is not None and answer.status != "streaming" else None
            return None

        answer = await poll(stored, lambda answer: answer is not None, within_s=30)
        assert answer is not None
        assert answer.status == "error"
        assert answer.error_text == LINE
        # What the member saw, word for word (the shown text may end mid-word: the stored
        # one is every delta that reached the bot, at least as long).
        assert answer.content.startswith(FIRST.strip()) and seen.startswith(answer.content[:40])
        assert seen in answer.content or answer.content in seen
        assert "word199" not in answer.content
        # The stopped call's usage was settled once the server was back (its ledger row,
        # priced) and its budget hold dropped.
        db = app.bot.services.db
        entry = await LedgerReader(db).by_key(f"answer:{answer.id}:round:1")
        assert entry is not None and entry.cost_micros
        async with db.reading() as conn:
            assert await conn.scalar("SELECT COUNT(*) FROM reservations") == 0

        # The next answer, without a restart.
        llm.enqueue(text_reply("Back in business."))
        await fake.send_user_message(thread_id, fake.user, "still there?")
        second = await app.final_answer(thread_id, index=1)
        assert "Back in business." in second.content and "⚠️" not in second.content

    log = caplog.text
    assert "lost the connection to PostgreSQL at" in log
    assert "reachable again" in log
    assert "hunter2" not in log
    assert "Traceback" not in log


async def test_postgres_still_gone_at_shutdown_the_next_start_closes_the_answer(
    tmp_path: Path,
    fakes: tuple[FakeDiscord, FakeLLMServer],
    private_postgres: ThrowawayPostgres,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake, llm = fakes
    settings = _on_postgres(tmp_path, fake, llm, private_postgres, stream_save_seconds=0.1)
    llm.enqueue(text_reply(FIRST + REST, chunk_size=12, delay=0.05))
    async with running_bot(settings, fake, llm) as app:
        await fake.invoke_slash_command("chat", {"prompt": "tell me"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
        shown = await _started(app, thread.id)
        stop_id = button_with(shown, "switchboard:stop:")
        assert stop_id is not None
        answer_id = int(stop_id.removeprefix("switchboard:stop:"))
        await asyncio.to_thread(private_postgres.pause)
        final = await app.final_answer(thread.id)
        assert f"⚠️ {LINE}" in final.content
    # The bot stopped cleanly with the server still gone, saying what it could not write.
    assert "left unsaved by the lost PostgreSQL connection" in caplog.text
    assert "Traceback" not in caplog.text

    await asyncio.to_thread(private_postgres.resume)
    llm.enqueue(text_reply("Back in business."))
    async with running_bot(settings, fake, llm) as app:
        answer = await app.bot.services.messages.get(answer_id)
        assert answer is not None and answer.status == "interrupted"
        # The words saved while it streamed (every STREAM_SAVE_SECONDS): the start of what
        # the member saw.
        assert answer.content.startswith("The first half")
        assert final.content.startswith(answer.content)
        await fake.send_user_message(thread.id, fake.user, "still there?")
        second = await app.final_answer(thread.id, index=1)
        assert "Back in business." in second.content


async def test_postgres_gone_when_a_member_writes_they_get_the_plain_line(
    tmp_path: Path,
    fakes: tuple[FakeDiscord, FakeLLMServer],
    private_postgres: ThrowawayPostgres,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake, llm = fakes
    settings = _on_postgres(tmp_path, fake, llm, private_postgres)
    assert fake.user is not None
    llm.enqueue(text_reply("First answer."))
    async with running_bot(settings, fake, llm) as app:
        outage = app.bot.services.db.outage
        assert outage is not None
        outage.retry_first_s, outage.retry_max_s = 0.1, 0.3
        await fake.invoke_slash_command("chat", {"prompt": "hello"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
        await app.final_answer(thread.id)

        await asyncio.to_thread(private_postgres.pause)
        asked = len(llm.chat_requests)
        await fake.send_user_message(thread.id, fake.user, "are you there?")

        def replied() -> FakeMessage | None:
            mine = app.bot_messages(thread.id)
            return mine[1] if len(mine) > 1 and LINE in mine[1].content else None

        # Nothing could be stored, so nothing is asked of the model; the member is told why.
        reply = await fake.wait_for(replied, timeout=20)
        assert "went wrong" not in reply.content and "error id" not in reply.content
        assert len(llm.chat_requests) == asked

        await asyncio.to_thread(private_postgres.resume)
        llm.enqueue(text_reply("Back in business."))
        # The bot finds the server back by itself (the failed write marked it down).
        assert outage.count == 1
        assert await outage.until_back(30)
        await fake.send_user_message(thread.id, fake.user, "now?")
        again = await app.final_answer(thread.id, index=2)
        assert "Back in business." in again.content
    assert "Traceback" not in caplog.text


async def test_postgres_lost_while_a_message_waits_its_turn_it_is_not_left_unanswered(
    tmp_path: Path,
    fakes: tuple[FakeDiscord, FakeLLMServer],
    private_postgres: ThrowawayPostgres,
) -> None:
    fake, llm = fakes
    settings = _on_postgres(tmp_path, fake, llm, private_postgres, stream_save_seconds=0.1)
    assert fake.user is not None
    llm.enqueue(text_reply(FIRST + REST, chunk_size=12, delay=0.05))
    async with running_bot(settings, fake, llm) as app:
        outage = app.bot.services.db.outage
        assert outage is not None
        outage.retry_first_s, outage.retry_max_s = 0.1, 0.3
        await fake.invoke_slash_command("chat", {"prompt": "tell me"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
        await _started(app, thread.id)
        waiting = await fake.send_user_message(thread.id, fake.user, "and then?")
        # Once stored, it waits for the answer streaming ahead.
        find = app.bot.services.messages.find_by_discord_message
        await poll(lambda: find(waiting.id), lambda stored: stored is not None, within_s=10)
        await asyncio.to_thread(private_postgres.pause)
        final = await app.final_answer(thread.id)
        assert f"⚠️ {LINE}" in final.content

        # The member's second message, stored before the server went away, is answered
        # once it is back: not left without a word.
        assert not app.bot_messages(thread.id)[1:]
        llm.enqueue(text_reply("Then this."))
        await asyncio.to_thread(private_postgres.resume)
        second = await app.final_answer(thread.id, index=1)
        assert "Then this." in second.content and "⚠️" not in second.content
        asked = llm.chat_requests[-1].json["messages"]
        assert asked[-1]["role"] == "user" and "and then?" in str(asked[-1]["content"])
