"""Downloads from the fake Discord's CDN: byte limits, expired links, many files, failures."""

from __future__ import annotations

import asyncio
import io
import socket
import zipfile
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.attachments import (
    AttachmentLimits,
    AttachmentRef,
    SkippedAttachment,
    TextAttachment,
    read_attachments,
)
from bot.attachments.download import TooLarge, download
from tests.attachments.conftest import Read, only, refs_of
from tests.attachments.samples import image_bytes
from tests.fakes.discord.cdn import FakeFile
from tests.fakes.discord_server import FakeDiscord


@pytest.fixture
async def odd_server() -> AsyncIterator[str]:
    """A server that fails (`/error`) or does not answer until the test ends (`/stall`)."""
    released = asyncio.Event()

    async def error(_request: web.Request) -> web.Response:
        return web.Response(status=500, text="boom")

    async def stall(_request: web.Request) -> web.Response:
        await released.wait()
        return web.Response(text="too late")

    app = web.Application()
    app.router.add_get("/error", error)
    app.router.add_get("/stall", stall)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    released.set()
    await runner.cleanup()


async def test_download_20_mb_file_is_skipped_without_downloading(
    read: Read, fake: FakeDiscord
) -> None:
    reading = await read(FakeFile("huge.log", b"x" * 20_000_000))
    result = only(reading)
    assert isinstance(result, SkippedAttachment)
    assert result.reason == "20 MB is over the 8 MB limit"
    assert reading.summary == "Not read: huge.log — 20 MB is over the 8 MB limit."
    assert fake.cdn.requests == []


async def test_download_never_reads_more_than_the_limit_plus_one_byte(
    fake: FakeDiscord, session: aiohttp.ClientSession
) -> None:
    # The metadata says 1 KB and the body comes chunked, without Content-Length: only the
    # byte cap stops it.
    message = await fake.send_user_message(
        attachments=[FakeFile("lies.txt", b"y" * 3_000_000, size=1_000, chunked=True)]
    )
    (ref,) = refs_of(message)
    with pytest.raises(TooLarge) as caught:
        await download(session, ref.url, max_bytes=100_000, timeout=10, declared_size=ref.size)
    assert caught.value.bytes_read == 100_001
    assert caught.value.reason == "the file is over the 100 KB limit"


async def test_download_content_length_over_the_limit_reads_nothing(
    read: Read, fake: FakeDiscord
) -> None:
    limits = AttachmentLimits(max_file_bytes=1_000_000)
    result = only(await read(FakeFile("big.csv", b"a,b\n" * 500_000, size=10), limits=limits))
    assert isinstance(result, SkippedAttachment)
    assert result.reason == "2 MB is over the 1 MB limit"
    assert [r.status for r in fake.cdn.requests] == [200]


async def test_download_message_byte_budget_is_shared(read: Read) -> None:
    limits = AttachmentLimits(max_file_bytes=800_000, max_message_bytes=1_000_000)
    reading = await read(
        FakeFile("a.txt", b"a\n" * 300_000),
        FakeFile("b.txt", b"b\n" * 300_000),
        limits=limits,
    )
    first, second = reading.results
    assert isinstance(first, TextAttachment)
    assert isinstance(second, SkippedAttachment)
    assert second.reason == "600 KB would take this message's attachments over 1 MB together"


async def test_download_zip_is_refused_without_downloading(read: Read, fake: FakeDiscord) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("main.py", "print('hi')\n")
    result = only(await read(FakeFile("code.zip", archive.getvalue())))
    assert isinstance(result, SkippedAttachment)
    assert result.reason == "a zip archive can't be read (attach the files inside it instead)"
    assert fake.cdn.requests == []


async def test_download_30_attachments_reads_the_first_10(read: Read, fake: FakeDiscord) -> None:
    files = [FakeFile(f"file{n:02}.txt", f"file number {n}\n".encode()) for n in range(30)]
    reading = await read(*files)
    assert [r.text for r in reading.texts] == [f"file number {n}\n" for n in range(10)]
    skipped = reading.skipped
    assert len(skipped) == 20
    assert {s.reason for s in skipped} == {"only the first 10 attachments of a message are read"}
    assert reading.summary == (
        "Not read: file10.txt, file11.txt, file12.txt and 17 more — "
        "only the first 10 attachments of a message are read."
    )
    assert len(fake.cdn.requests) == 10


@pytest.mark.parametrize("status", [404, 403])
async def test_download_expired_link_says_so(
    fake: FakeDiscord, session: aiohttp.ClientSession, status: int
) -> None:
    fake.cdn.expired_status = status
    message = await fake.send_user_message(
        attachments=[FakeFile("old.txt", b"gone"), FakeFile("fresh.txt", b"here")]
    )
    fake.expire_attachments(message.id)
    reading = await read_attachments(session, refs_of(message))
    assert [getattr(r, "reason", None) for r in reading.results] == [
        "the link had expired",
        "the link had expired",
    ]
    assert [r.status for r in fake.cdn.requests] == [status, status]


async def test_download_link_expired_at_send_time(read: Read) -> None:
    result = only(await read(FakeFile("late.txt", b"too late", expires_in=0)))
    assert isinstance(result, SkippedAttachment) and result.reason == "the link had expired"


async def test_download_failures_in_plain_words(
    odd_server: str, session: aiohttp.ClientSession
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    refs = [
        AttachmentRef("a.txt", "text/plain", 10, f"{odd_server}/error"),
        AttachmentRef("b.txt", "text/plain", 10, f"{odd_server}/stall"),
        AttachmentRef("c.txt", "text/plain", 10, f"http://127.0.0.1:{closed_port}/c.txt"),
    ]
    limits = AttachmentLimits(download_timeout_seconds=0.3)
    reading = await read_attachments(session, refs, limits)
    assert [getattr(r, "reason", None) for r in reading.results] == [
        "the download failed (HTTP 500)",
        "the download took longer than 0.3 s",
        "the download failed (connection error)",
    ]


async def test_download_images_not_fetched_for_a_model_without_vision(
    read: Read, fake: FakeDiscord
) -> None:
    reading = await read(FakeFile("cat.png", image_bytes(64, 64)), vision=False)
    result = only(reading)
    assert isinstance(result, SkippedAttachment)
    assert result.reason == "this model can't see images (choose a model with vision)"
    assert fake.cdn.requests == []
