"""Errors members can act on are said plainly; others show an id that is in the log."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from bot.logs import current_context
from tests.e2e.conftest import Running, ephemeral_reply
from tests.fakes.discord_server import FakeMessage
from tests.fakes.llm_scripts import http_error
from tests.polling import poll


async def test_chat_where_threads_cannot_be_created_says_what_to_do(app: Running) -> None:
    app.fake.deny_channel(app.channel_id)
    interaction = await app.fake.invoke_slash_command("chat", {"prompt": "hello"})
    await app.fake.wait_for(lambda: interaction.followup_ids or None, timeout=5)
    notice = app.fake.message(interaction.followup_ids[0])
    assert notice.ephemeral
    assert "Create Public Threads" in notice.content
    assert app.llm.chat_requests == []


class ContextRecorder(logging.Handler):
    """Keeps each error record with the log context it was emitted in."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[tuple[logging.LogRecord, dict[str, Any]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record, current_context()))


async def test_unexpected_command_error_shows_an_id_that_is_logged(
    app: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = ContextRecorder()

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("internal detail /srv/switchboard.db")

    monkeypatch.setattr(app.bot.services.conversations, "open_for_channel", broken)
    logging.getLogger().addHandler(recorder)
    try:
        interaction = await app.fake.invoke_slash_command("stop")
        notice = await ephemeral_reply(app.fake, interaction)
    finally:
        logging.getLogger().removeHandler(recorder)
    assert interaction.ephemeral
    match = re.fullmatch(
        r"Sorry, something went wrong\. \(error id `([0-9a-f]+)`\)", notice.content
    )
    assert match is not None, notice.content
    logged = [context for record, context in recorder.seen if record.exc_info]
    assert any(context.get("error_id") == match[1] for context in logged)
    assert "internal detail" not in notice.content


async def test_unexpected_message_error_tells_the_member_with_a_logged_id(
    app: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The message listener follows the same policy as commands: the member is told, with
    an id that finds the logged traceback, and nothing internal is shown."""
    recorder = ContextRecorder()

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("internal detail /srv/switchboard.db")

    assert app.fake.guild is not None
    await app.bot.services.channel_settings.update(app.channel_id, app.fake.guild.id, mode="inline")
    monkeypatch.setattr(app.bot.services.conversations, "open_or_create", broken)
    logging.getLogger().addHandler(recorder)
    try:
        await app.fake.send_user_message(app.channel_id, content="hello there")

        def told() -> FakeMessage | None:
            mine = app.bot_messages(app.channel_id)
            return mine[-1] if mine else None

        notice = await app.fake.wait_for(told)
    finally:
        logging.getLogger().removeHandler(recorder)
    match = re.fullmatch(
        r"Sorry, something went wrong\. \(error id `([0-9a-f]+)`\)", notice.content
    )
    assert match is not None, notice.content
    logged = [context for record, context in recorder.seen if record.exc_info]
    assert any(context.get("error_id") == match[1] for context in logged)
    assert any(context.get("channel_id") == app.channel_id for context in logged)


async def test_model_not_found_is_said_plainly_in_the_answer(app: Running) -> None:
    missing = "The model `fake-model` does not exist"
    app.llm.enqueue(http_error(404, message=missing, code="model_not_found"))
    await app.fake.invoke_slash_command("chat", {"prompt": "hello"})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))

    def failed() -> FakeMessage | None:
        mine = app.bot_messages(thread.id)
        return mine[-1] if mine and "⚠️" in mine[-1].content else None

    answer = await app.fake.wait_for(failed, timeout=5)
    assert "model" in answer.content and "isn't available" in answer.content
    assert "Traceback" not in answer.content


async def test_answer_that_cannot_be_shown_is_not_left_streaming(app: Running) -> None:
    assert app.fake.guild is not None
    await app.bot.services.channel_settings.update(app.channel_id, app.fake.guild.id, mode="inline")
    app.fake.deny_channel(app.channel_id)
    await app.fake.send_user_message(app.channel_id, content="can you see me?")
    services = app.bot.services

    async def statuses() -> list[str]:
        conversation = await services.conversations.open_for_channel(app.channel_id)
        if conversation is None:
            return []
        history = await services.messages.history(conversation.id)
        return [m.status for m in history if m.role == "assistant"]

    # The bot can't post here (403 on the placeholder); its answer must still be closed.
    found = await poll(statuses, lambda found: found not in ([], ["streaming"]), within_s=5)
    assert found == ["error"]
