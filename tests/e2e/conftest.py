"""End to end: the real bot (`bot.app.serve`) on the fake Discord and the fake LLM endpoint.

Discord's rate-limit windows are scaled down (5 per `WINDOW` s instead of 5 per 5 s) in the
fake and, to match, in the bot's lanes, so tests exercise real pacing without waiting on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app import serve
from bot.client import SwitchboardBot
from bot.discord_ui.lanes import Lane
from bot.settings import Settings
from tests.fakes.discord import control
from tests.fakes.discord_client import pointed_at
from tests.fakes.discord_server import (
    BucketLimit,
    FakeDiscord,
    FakeInteraction,
    FakeMessage,
    FakeUser,
    RateLimitConfig,
)
from tests.fakes.llm_server import FakeLLMServer

WINDOW = 0.5


def scaled_lane(channel_id: int) -> Lane:
    return Lane(f"channel:{channel_id}", 5, WINDOW)


def scaled_create_lane(channel_id: int) -> Lane:
    return Lane(f"create:{channel_id}", 5, WINDOW)


@dataclass
class Running:
    fake: FakeDiscord
    llm: FakeLLMServer
    bot: SwitchboardBot
    settings: Settings

    @property
    def channel_id(self) -> int:
        assert self.fake.channel is not None
        return self.fake.channel.id

    def bot_messages(self, channel_id: int) -> list[FakeMessage]:
        return [m for m in self.fake.messages(channel_id) if m.author.id == self.fake.bot_user.id]

    async def final_answer(self, channel_id: int, index: int = 0) -> FakeMessage:
        """The `index`-th bot message in the channel once it shows a finished answer."""

        def finished() -> FakeMessage | None:
            mine = [m for m in self.bot_messages(channel_id) if not m.deleted]
            if len(mine) <= index:
                return None
            message = mine[index]
            # Finished: the footer is there and the Stop button gone (a finished answer may
            # offer Regenerate or Retry).
            done = "-# " in message.content and button_with(message, "switchboard:stop:") is None
            return message if done else None

        return await self.fake.wait_for(finished, timeout=10)


def make_settings(tmp_path: Path, fake: FakeDiscord, llm: FakeLLMServer) -> Settings:
    assert fake.guild is not None
    return Settings(
        discord_token=fake.token,  # type: ignore[arg-type]
        llm_model="fake-model",
        llm_base_url=llm.base_url,
        database_path=tmp_path / "switchboard.db",
        discord_api_base=fake.api_base,
        discord_gateway_url=fake.gateway_url,
        dev_guild_id=fake.guild.id,
        # Titles are one more model call after a thread's first answer, which would take the
        # answers scripted for later turns; tests/e2e/test_titles.py switches them on.
        title_model="off",
    )


@asynccontextmanager
async def running_bot(
    settings: Settings, fake: FakeDiscord, llm: FakeLLMServer, *, grace_s: float = 2.0
) -> AsyncIterator[Running]:
    """Start the real bot and wait until it is ready; stop it (gracefully) on exit."""
    stop, ready = asyncio.Event(), asyncio.Event()
    bots: list[SwitchboardBot] = []

    def started(bot: SwitchboardBot) -> None:
        async def on_ready() -> None:
            ready.set()

        bot.add_listener(on_ready, "on_ready")
        bots.append(bot)

    with pointed_at(fake):
        task = asyncio.ensure_future(
            serve(
                settings,
                stop,
                grace_s=grace_s,
                guild_ready_timeout=0.05,
                on_bot=started,
                channel_lane=scaled_lane,
                create_lane=scaled_create_lane,
            )
        )
        try:
            waiter = asyncio.ensure_future(ready.wait())
            await asyncio.wait({waiter, task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if task.done():
                task.result()  # start-up failed: show why
            assert ready.is_set(), "the bot did not become ready"

            yield Running(fake, llm, bots[-1], settings)
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeDiscord, FakeLLMServer]]:
    limits = RateLimitConfig(
        message_create=BucketLimit(5, WINDOW),
        message_edit=BucketLimit(5, WINDOW),
        interaction_webhook=BucketLimit(5, WINDOW),
    )
    async with FakeDiscord(rate_limits=limits) as fake, FakeLLMServer() as llm:
        yield fake, llm


@pytest.fixture
async def app(tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]) -> AsyncIterator[Running]:
    fake, llm = fakes
    async with running_bot(make_settings(tmp_path, fake, llm), fake, llm) as running:
        yield running


# --- helpers for the behaviour modules (stop/retry buttons, members, the database) ---------


def button_ids(message: FakeMessage) -> list[str]:
    """Every component custom id on a message, in order."""
    found: list[str] = []

    def walk(components: list[Any]) -> None:
        for component in components:
            if not isinstance(component, dict):
                continue
            if "custom_id" in component:
                found.append(str(component["custom_id"]))
            walk(component.get("components") or [])

    walk(message.components)
    return found


def button_with(message: FakeMessage, prefix: str) -> str | None:
    return next((c for c in button_ids(message) if c.startswith(prefix)), None)


def stopping(message: FakeMessage) -> bool:
    """Whether the message still shows a Stop button (its answer is being written)."""
    return button_with(message, "switchboard:stop:") is not None


async def click_as(
    fake: FakeDiscord,
    message_id: int,
    custom_id: str,
    user: FakeUser,
    *,
    permissions: int | None = None,
) -> FakeInteraction:
    """Click a button as `user`; with `permissions`, the member has only those permissions
    here (the fake otherwise grants every permission in interactions)."""
    message = fake.world.messages_by_id[message_id]
    interaction = control.component_click(fake.world, message, custom_id, user=user, values=None)
    member = interaction.payload.get("member")
    if permissions is not None and member is not None:
        member["permissions"] = str(permissions)
        interaction.payload["channel"]["permissions"] = str(permissions)
    return fake._inject(interaction)


async def ephemeral_reply(fake: FakeDiscord, interaction: FakeInteraction) -> FakeMessage:
    """The (first) reply the bot gave to an interaction: its original response or follow-up."""

    def find() -> FakeMessage | None:
        ids = [interaction.original_message_id, *interaction.followup_ids]
        return next((fake.message(i) for i in ids if i is not None), None)

    return await fake.wait_for(find, timeout=5)


async def answer_status(app: Running, answer_id: int) -> str | None:
    stored = await app.bot.services.messages.get(answer_id)
    return stored.status if stored is not None else None
