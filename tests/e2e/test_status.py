"""/status: what an owner needs to know about the bot's health, and owners only."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.discord_ui.checks import NOT_OWNER
from tests.e2e.conftest import Running, make_settings, running_bot
from tests.fakes.discord_server import FakeDiscord, FakeMessage
from tests.fakes.llm_scripts import http_error, text_reply
from tests.fakes.llm_server import FakeLLMServer


@pytest.fixture
async def owned(tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]) -> AsyncIterator[Running]:
    fake, llm = fakes
    assert fake.user is not None
    settings = make_settings(tmp_path, fake, llm).model_copy(
        update={"owner_ids": frozenset({fake.user.id})}
    )
    async with running_bot(settings, fake, llm) as app:
        yield app


async def status_text(app: Running, user_id: int | None = None) -> str:
    user = app.fake.world.users[user_id] if user_id is not None else None
    interaction = await app.fake.invoke_slash_command("status", user=user)

    def reply() -> FakeMessage | None:
        if interaction.original_message_id is None:
            return None
        message = app.fake.message(interaction.original_message_id)
        has_body = message.embeds or (message.content and "thinking" not in message.content)
        return message if has_body else None

    message = await app.fake.wait_for(reply, timeout=10)
    assert interaction.ephemeral
    if message.embeds:
        return str(message.embeds[0].get("description", ""))
    return message.content


async def test_status_reports_health_to_an_owner(owned: Running) -> None:
    text = await status_text(owned)
    assert "**Version** 0.1.0" in text
    assert "**Gateway**" in text and "1 server ·" in text
    assert "**Conversations** 0 open · 0 answering now · 0 queued" in text
    assert "**Database**" in text and "MB" in text
    assert f"**Processes** 1 process on this database · this one: pid {os.getpid()} on" in text
    assert "shards 0" in text
    assert f"{owned.llm.base_url}: reachable (2 models" in text
    assert "Last model error" not in text


async def test_status_shows_the_last_model_error(owned: Running) -> None:
    owned.llm.enqueue(http_error(401, message="bad key"), text_reply("fine"))
    await owned.fake.invoke_slash_command("chat", {"prompt": "hello"})
    await owned.fake.wait_for(lambda: owned.bot.services.chat.last_llm_error, timeout=10)
    text = await status_text(owned)
    assert "**Last model error**" in text and "LLM_API_KEY" in text
    assert "1 open" in text


async def test_status_refuses_members_who_are_not_owners(owned: Running) -> None:
    other = owned.fake.add_user("mallory")
    assert await status_text(owned, other.id) == NOT_OWNER
