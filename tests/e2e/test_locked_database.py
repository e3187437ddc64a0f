"""The database file is locked by another process for longer than SQLite's busy timeout
while an answer streams: the answer still ends complete, its ledger row is written and no
budget hold is left behind."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.storage import database as database_module
from tests.billing.ledger_rows import LedgerReader
from tests.e2e.conftest import answer_status, make_settings, running_bot
from tests.fakes.discord_server import FakeDiscord, FakeMessage
from tests.fakes.llm_scripts import text_reply
from tests.fakes.llm_server import FakeLLMServer
from tests.storage.test_locked_file import locked_by_another_process


async def test_locked_database_does_not_turn_an_answer_into_an_error(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_module, "BUSY_TIMEOUT_MS", 100)
    fake, llm = fakes
    settings = make_settings(tmp_path, fake, llm)
    llm.enqueue(
        text_reply("An answer written while the file was locked.", chunk_size=4, delay=0.05)
    )
    async with running_bot(settings, fake, llm) as app:
        assert fake.guild is not None
        await app.bot.services.meter.guild_budgets(fake.guild.id)  # warm the read path
        await fake.invoke_slash_command("chat", {"prompt": "hello"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))

        def started() -> FakeMessage | None:
            mine = app.bot_messages(thread.id)
            return mine[0] if mine and "An answer" in mine[0].content else None

        message = await fake.wait_for(started)
        with locked_by_another_process(settings.database_path, 1.5) as taken:
            await asyncio.to_thread(taken.wait)
            answer = await app.final_answer(thread.id)
        assert "An answer written while the file was locked." in answer.content
        assert "went wrong" not in answer.content and "⚠️" not in answer.content
        refs = await app.bot.services.messages.find_by_discord_message(message.id)
        assert refs is not None
        assert await answer_status(app, refs.id) == "complete"
        assert await LedgerReader(app.bot.services.db).count() == 1
        async with app.bot.services.db.reading() as conn:
            held = await conn.execute_fetchall("SELECT COUNT(*) FROM reservations")
        assert next(iter(held))[0] == 0
