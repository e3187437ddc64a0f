"""Downloading one attachment: streamed, capped at a byte limit, within one total timeout.

The body is consumed in reads sized so that never more than `max_bytes + 1` bytes are taken
from the response (the extra byte is how "over the limit" is told from "exactly the limit"),
whatever the server declares. Failures become `Unreadable` with the plain-words reason.
"""

from __future__ import annotations

import aiohttp

from bot.attachments.models import format_size

CHUNK_BYTES = 256 * 1024
# Discord's CDN answers an expired (or re-signed) attachment link with 404, sometimes 403.
_EXPIRED_STATUSES = frozenset({403, 404, 410})


class Unreadable(Exception):
    """An attachment that cannot be read; `reason` is said to the member and the model."""

    def __init__(self, reason: str, *, bytes_read: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.bytes_read = bytes_read


class TooLarge(Unreadable):
    """The body is over the byte limit; `size` is what the server declared, if it did."""

    def __init__(self, size: int | None, limit: int, *, bytes_read: int = 0) -> None:
        super().__init__(over_limit(size, limit), bytes_read=bytes_read)
        self.size = size


def over_limit(size: int | None, limit: int) -> str:
    if size is not None and size > limit:
        return f"{format_size(size)} is over the {format_size(limit)} limit"
    return f"the file is over the {format_size(limit)} limit"


async def download(
    session: aiohttp.ClientSession,
    url: str,
    *,
    max_bytes: int,
    timeout: float,  # noqa: ASYNC109 - one total deadline handed to aiohttp, not a wrapper
    declared_size: int | None = None,
) -> bytes:
    """The body of `url`, at most `max_bytes` long; raises `Unreadable` otherwise."""
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    read = 0
    try:
        async with session.get(url, timeout=client_timeout) as response:
            if response.status in _EXPIRED_STATUSES:
                raise Unreadable("the link had expired")
            if response.status >= 400:
                raise Unreadable(f"the download failed (HTTP {response.status})")
            length = response.content_length
            if length is not None and length > max_bytes:
                raise TooLarge(length, max_bytes)
            chunks: list[bytes] = []
            while read <= max_bytes:
                chunk = await response.content.read(min(CHUNK_BYTES, max_bytes + 1 - read))
                if not chunk:
                    break
                chunks.append(chunk)
                read += len(chunk)
            if read > max_bytes:
                size = max(declared_size or 0, length or 0) or None
                raise TooLarge(size, max_bytes, bytes_read=read)
            # One join: the chunks are dropped right after, so two copies live only briefly.
            return b"".join(chunks)
    except TimeoutError:
        raise Unreadable(f"the download took longer than {timeout:g} s", bytes_read=read) from None
    except aiohttp.ClientError as exc:
        raise Unreadable("the download failed (connection error)", bytes_read=read) from exc
