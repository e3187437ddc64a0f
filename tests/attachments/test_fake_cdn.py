"""The fake Discord's CDN: members' files on signed, expiring links that discord.py can fetch."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import discord

from bot.attachments import AttachmentRef, TextAttachment, read_attachments
from tests.attachments.samples import image_bytes
from tests.fakes.discord.cdn import EXPIRED_BODY, FakeFile
from tests.fakes.discord_client import pointed_at
from tests.fakes.discord_server import FakeDiscord


class Listener(discord.Client):
    """A bare discord.py client that hands over every message it receives."""

    def __init__(self) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        super().__init__(intents=intents, guild_ready_timeout=0.1)
        self.received: asyncio.Queue[discord.Message] = asyncio.Queue()

    async def on_message(self, message: discord.Message) -> None:
        self.received.put_nowait(message)


@contextlib.asynccontextmanager
async def listening(fake: FakeDiscord) -> AsyncIterator[Listener]:
    client = Listener()
    with pointed_at(fake):
        task = asyncio.create_task(client.start(fake.token))
        try:
            await asyncio.wait_for(client.wait_until_ready(), 5)
            yield client
        finally:
            await client.close()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)


async def test_cdn_discord_py_reads_attachments_and_the_reader_maps_them(
    fake: FakeDiscord, session: aiohttp.ClientSession
) -> None:
    async with listening(fake) as client:
        await fake.send_user_message(
            content="two files",
            attachments=[
                FakeFile("notes.txt", b"remember the milk\n"),
                FakeFile("cat.png", image_bytes(32, 24)),
            ],
        )
        message = await asyncio.wait_for(client.received.get(), 5)
        notes, cat = message.attachments
        assert (notes.filename, notes.size) == ("notes.txt", 18)
        assert notes.content_type == "text/plain; charset=utf-8"
        assert (cat.content_type, cat.width, cat.height) == ("image/png", 32, 24)
        assert await notes.read() == b"remember the milk\n"
        refs = [
            AttachmentRef(a.filename, a.content_type, a.size, a.url) for a in message.attachments
        ]
    reading = await read_attachments(session, refs)
    text, image = reading.results
    assert isinstance(text, TextAttachment) and text.text == "remember the milk\n"
    assert reading.images[0] is image


async def test_cdn_links_have_discords_shape_and_the_message_keeps_the_bytes(
    fake: FakeDiscord,
) -> None:
    assert fake.channel is not None
    message = await fake.send_user_message(
        attachments=[FakeFile("report final.pdf", b"%PDF-1.7", size=123, description="Q3")]
    )
    (attachment,) = message.attachments
    url = urlsplit(attachment["url"])
    _, folder, channel_id, attachment_id, filename = url.path.split("/")
    assert (folder, channel_id, filename) == (
        "attachments",
        str(fake.channel.id),
        "report%20final.pdf",
    )
    assert attachment["id"] == attachment_id
    assert set(parse_qs(url.query)) == {"ex", "is", "hm"}
    assert attachment["size"] == 123 and attachment["description"] == "Q3"
    assert attachment["content_type"] == "application/pdf"
    assert message.files == {"report final.pdf": b"%PDF-1.7"}


async def test_cdn_tampered_or_expired_links_answer_like_discord(
    fake: FakeDiscord, session: aiohttp.ClientSession
) -> None:
    message = await fake.send_user_message(attachments=[FakeFile("a.txt", b"alpha")])
    url = message.attachments[0]["url"]
    async with session.get(url) as ok:
        assert (ok.status, await ok.read()) == (200, b"alpha")
    async with session.get(url.replace("hm=", "hm=0")) as tampered:
        assert (tampered.status, await tampered.text()) == (404, EXPIRED_BODY)
    fake.expire_attachments()
    async with session.get(url) as expired:
        assert (expired.status, await expired.text()) == (404, EXPIRED_BODY)
    assert [r.status for r in fake.cdn.requests] == [200, 404, 404]


async def test_cdn_plain_attachment_objects_still_pass_through(fake: FakeDiscord) -> None:
    described = {
        "id": "1",
        "filename": "cat.png",
        "size": 2048,
        "url": "http://127.0.0.1/cat.png",
        "proxy_url": "http://127.0.0.1/cat.png",
        "content_type": "image/png",
    }
    message = await fake.send_user_message(attachments=[described])
    assert message.attachments == [described]
    assert fake.world.message_json(message)["attachments"] == [described]
