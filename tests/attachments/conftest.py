"""Fixtures: a FakeDiscord whose CDN serves the attachments, a client session, and a helper that
posts a member's message and returns what the bot would read of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from bot.attachments import AttachmentLimits, AttachmentRef, MessageAttachments, read_attachments
from tests.fakes.discord.cdn import FakeFile
from tests.fakes.discord_server import FakeDiscord, FakeMessage

Send = Callable[..., Awaitable[FakeMessage]]
Read = Callable[..., Awaitable[MessageAttachments]]


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def refs_of(message: FakeMessage) -> list[AttachmentRef]:
    """The message's attachments as the gateway carries them, mapped as the bot maps them."""
    return [
        AttachmentRef(a["filename"], a.get("content_type"), int(a["size"]), a["url"])
        for a in message.attachments
    ]


@pytest.fixture
def read(fake: FakeDiscord, session: aiohttp.ClientSession) -> Read:
    """`await read(FakeFile(...), ..., limits=..., vision=...)`: post, then read it back."""

    async def post_and_read(
        *files: FakeFile, limits: AttachmentLimits | None = None, vision: bool = True
    ) -> MessageAttachments:
        message = await fake.send_user_message(content="see attached", attachments=files)
        return await read_attachments(session, refs_of(message), limits, vision=vision)

    return post_and_read


def only(reading: MessageAttachments) -> object:
    (result,) = reading.results
    return result
