"""The fake Discord's attachment CDN: files members attach, served from the fake's own server.

URLs have the shape of Discord's signed CDN links,
`/attachments/{channel_id}/{attachment_id}/{filename}?ex=…&is=…&hm=…&` (`ex` the expiry and
`is` the issue time as hex Unix seconds, `hm` an HMAC of the rest). Like Discord's CDN, a link
that has expired or whose signature does not match answers 404 "This content is no longer
available." (`Cdn.expired_status` switches to 403, which the CDN sends for some links).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import mimetypes
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from aiohttp import web

from tests.fakes.discord.models import JSON, SnowflakeFactory

ROUTE = "/attachments/{channel_id}/{attachment_id}/{filename}"
# Discord's attachment links stay valid for about a day.
DEFAULT_LIFETIME = 24 * 3600.0
EXPIRED_BODY = "This content is no longer available."
_CHUNK = 64 * 1024


@dataclass
class FakeFile:
    """A file a member attaches: `send_user_message(..., attachments=[FakeFile(...)])`."""

    filename: str
    data: bytes
    # None: guessed from the name as Discord does (text types get "; charset=utf-8").
    content_type: str | None = None
    # Seconds the link stays valid (0: already expired); None: Discord's day.
    expires_in: float | None = None
    # The size the metadata claims (a lie, to test clients); None: the real size.
    size: int | None = None
    # Send the body chunked, without Content-Length (as a CDN may).
    chunked: bool = False
    description: str | None = None


@dataclass
class CdnFile:
    attachment_id: int
    channel_id: int
    filename: str
    data: bytes
    content_type: str | None
    issued_at: int
    expires_at: float
    chunked: bool = False


@dataclass(frozen=True)
class CdnRequest:
    attachment_id: int | None
    status: int


@dataclass
class Cdn:
    ids: SnowflakeFactory
    files: dict[int, CdnFile] = field(default_factory=dict)
    requests: list[CdnRequest] = field(default_factory=list)
    expired_status: int = 404
    _secret: bytes = field(default_factory=lambda: secrets.token_bytes(16))

    def add(self, channel_id: int, file: FakeFile, base: str) -> JSON:
        """Store `file` and return its attachment object, as a message payload carries it."""
        now = time.time()
        lifetime = DEFAULT_LIFETIME if file.expires_in is None else file.expires_in
        content_type = file.content_type or guess_content_type(file.filename)
        stored = CdnFile(
            self.ids.next(),
            channel_id,
            file.filename,
            file.data,
            content_type,
            issued_at=int(now),
            expires_at=now + lifetime,
            chunked=file.chunked,
        )
        self.files[stored.attachment_id] = stored
        url = self.url(stored, base)
        out: JSON = {
            "id": str(stored.attachment_id),
            "filename": file.filename,
            "size": len(file.data) if file.size is None else file.size,
            "url": url,
            "proxy_url": url,
        }
        if content_type is not None:
            out["content_type"] = content_type
        if file.description is not None:
            out["description"] = file.description
        out.update(_dimensions(file.data, content_type))
        return out

    def url(self, stored: CdnFile, base: str) -> str:
        path = f"/attachments/{stored.channel_id}/{stored.attachment_id}/{quote(stored.filename)}"
        expiry = f"ex={int(stored.expires_at):x}&is={stored.issued_at:x}"
        return f"{base}{path}?{expiry}&hm={self._sign(path, expiry)}&"

    def expire(self, attachment_ids: list[int] | None = None) -> None:
        """Make links expire now (all of them when `attachment_ids` is None)."""
        now = time.time()
        for stored in self.files.values():
            if attachment_ids is None or stored.attachment_id in attachment_ids:
                stored.expires_at = min(stored.expires_at, now - 1)

    def _sign(self, path: str, expiry: str) -> str:
        return hmac.new(self._secret, f"{path}?{expiry}".encode(), hashlib.sha256).hexdigest()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        stored = self._find(request)
        if stored is None:
            attachment = request.match_info.get("attachment_id", "")
            known = int(attachment) if attachment.isdigit() else None
            self.requests.append(CdnRequest(known, self.expired_status))
            return web.Response(status=self.expired_status, text=EXPIRED_BODY)
        self.requests.append(CdnRequest(stored.attachment_id, 200))
        headers = {"Content-Type": stored.content_type or "application/octet-stream"}
        if not stored.chunked:
            return web.Response(body=stored.data, headers=headers)
        response = web.StreamResponse(headers=headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for start in range(0, len(stored.data), _CHUNK):
                await response.write(stored.data[start : start + _CHUNK])
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client stopped reading (over its limit): what a real CDN sees too
        return response

    def _find(self, request: web.Request) -> CdnFile | None:
        """The file a request's link is valid for, or None (unknown, tampered or expired)."""
        match = request.match_info
        try:
            stored = self.files[int(match["attachment_id"])]
            expires = int(request.query["ex"], 16)
            issued = int(request.query["is"], 16)
        except (KeyError, ValueError):
            return None
        if str(stored.channel_id) != match["channel_id"] or stored.filename != match["filename"]:
            return None
        path = f"/attachments/{stored.channel_id}/{stored.attachment_id}/{quote(stored.filename)}"
        signature = self._sign(path, f"ex={expires:x}&is={issued:x}")
        if not hmac.compare_digest(signature, request.query.get("hm", "")):
            return None
        if time.time() >= min(expires, stored.expires_at):
            return None
        return stored


def guess_content_type(filename: str) -> str | None:
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    if guessed is None:
        return None
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def _dimensions(data: bytes, content_type: str | None) -> JSON:
    """Width and height of an image, as Discord adds them (nothing when it does not decode)."""
    if not (content_type or "").startswith("image/"):
        return {}
    from PIL import Image  # only the few tests that attach images pay for the import

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Exception:
        return {}
    return {"width": width, "height": height}
