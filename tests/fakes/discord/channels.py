"""Channel routes: reading and modifying a channel or thread, and starting threads.

Modifying a channel (PATCH /channels/{id}) carries Discord's unannounced limit on renames: a
channel's name, and separately its topic, changes at most twice per ten minutes
(`RateLimitConfig.channel_rename`). A third change answers 429 with scope "shared" and the rest
of the window as `retry_after`, while the route's X-RateLimit-* headers still show requests
remaining; discord.py then sleeps that long and retries. Every request carrying the field
counts, an unchanged name too (the strict reading: Discord does not say), a refused one not.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.discord import payloads
from tests.fakes.discord.http import Req, Resp, RestConfig, Route
from tests.fakes.discord.models import (
    CHANNEL_DM,
    CHANNEL_GUILD_TEXT,
    CHANNEL_PRIVATE_THREAD,
    CHANNEL_PUBLIC_THREAD,
    JSON,
    FakeChannel,
)
from tests.fakes.discord.ratelimit import RateLimiter
from tests.fakes.discord.rest import Lookups
from tests.fakes.discord.state import World
from tests.fakes.discord.validation import DiscordHTTPError, validate_thread_name

ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
TOPIC_LIMIT = 1024
SLOWMODE_LIMIT = 21600


def _form_error(name: str, code: str, message: str) -> DiscordHTTPError:
    errors = {name: {"_errors": [{"code": code, "message": message}]}}
    return DiscordHTTPError(400, 50035, "Invalid Form Body", errors)


def _archive_duration(body: JSON) -> int:
    value: Any = body.get("auto_archive_duration") or 1440
    if value not in ARCHIVE_DURATIONS:
        raise _form_error("auto_archive_duration", "BASE_TYPE_CHOICES", "")
    return int(value)


class ChannelRoutes(Lookups):
    def __init__(self, world: World, config: RestConfig, limiter: RateLimiter) -> None:
        super().__init__(world, config)
        self.limiter = limiter

    def routes(self) -> list[Route]:
        ch = "channel_id"
        return [
            Route("GET", "/channels/{channel_id}", self.get_channel, major=ch),
            Route(
                "PATCH",
                "/channels/{channel_id}",
                self.modify_channel,
                limit="channel_edit",
                major=ch,
            ),
            Route(
                "POST",
                "/channels/{channel_id}/messages/{message_id}/threads",
                self.thread_from_message,
                major=ch,
            ),
            Route("POST", "/channels/{channel_id}/threads", self.thread_without_message, major=ch),
        ]

    async def get_channel(self, req: Req) -> Resp:
        return 200, payloads.channel(self.channel(req), self.world.users)

    # -- modifying -------------------------------------------------------------------------

    def _renamed(self, channel: FakeChannel, body: JSON, keys: tuple[str, ...]) -> None:
        """Count the name (and topic) changes of this request, or raise ResourceLimited."""
        for key in keys:
            if key in body:
                self.limiter.take_resource("channel_rename", f"{channel.id}:{key}")

    async def modify_channel(self, req: Req) -> Resp:
        channel = self.writable_channel(req)
        body = req.json
        if channel.type == CHANNEL_DM:
            raise DiscordHTTPError(400, 50003, "Cannot execute action on a DM channel")
        if "name" in body:
            validate_thread_name(body["name"])  # 1-100 characters, for threads and channels
        slowmode = body.get("rate_limit_per_user")
        if slowmode is not None and not (
            isinstance(slowmode, int) and 0 <= slowmode <= SLOWMODE_LIMIT
        ):
            raise _form_error(
                "rate_limit_per_user",
                "NUMBER_TYPE_MAX",
                f"int value should be less than or equal to {SLOWMODE_LIMIT}.",
            )
        if channel.is_thread:
            return self._modify_thread(channel, body)
        topic = body.get("topic")
        if isinstance(topic, str) and len(topic) > TOPIC_LIMIT:
            raise _form_error(
                "topic", "BASE_TYPE_MAX_LENGTH", f"Must be {TOPIC_LIMIT} or fewer in length."
            )
        self._renamed(channel, body, ("name", "topic"))
        if "name" in body:
            channel.name = str(body["name"])
        if "topic" in body:
            channel.topic = topic if isinstance(topic, str) else None
        if slowmode is not None:
            channel.rate_limit_per_user = int(slowmode)
        data = payloads.channel(channel, self.world.users)
        self.world.dispatch("CHANNEL_UPDATE", data, False)
        return 200, data

    def _modify_thread(self, thread: FakeChannel, body: JSON) -> Resp:
        duration = _archive_duration(body) if "auto_archive_duration" in body else None
        # An archived thread changes only in a request that also unarchives it.
        if thread.archived and body.get("archived") is not False:
            raise DiscordHTTPError(400, 50083, "Thread is archived")
        self._renamed(thread, body, ("name",))
        if "name" in body:
            thread.name = str(body["name"])
        if "archived" in body:
            thread.archived = bool(body["archived"])
        if "locked" in body:
            thread.locked = bool(body["locked"])
        if duration is not None:
            thread.auto_archive_duration = duration
        if "invitable" in body and thread.type == CHANNEL_PRIVATE_THREAD:
            thread.invitable = bool(body["invitable"])
        if body.get("rate_limit_per_user") is not None:
            thread.rate_limit_per_user = int(body["rate_limit_per_user"])
        data = payloads.thread(thread)
        self.world.dispatch("THREAD_UPDATE", data, False)
        return 200, data

    # -- threads ---------------------------------------------------------------------------

    async def thread_from_message(self, req: Req) -> Resp:
        channel = self.writable_channel(req)
        m = self.message(req, channel)
        if m.thread_id is not None or m.id in self.world.channels:
            raise DiscordHTTPError(
                400, 160004, "A thread has already been created for this message"
            )
        if channel.type not in (CHANNEL_GUILD_TEXT, 5):
            raise DiscordHTTPError(400, 50024, "Cannot execute action on this channel type")
        name = validate_thread_name(req.json.get("name"))
        thread = self.world.create_thread(
            channel,
            name,
            thread_id=m.id,  # a thread started from a message shares its id
            thread_type=10 if channel.type == 5 else CHANNEL_PUBLIC_THREAD,
            owner=self.world.bot,
            auto_archive_duration=_archive_duration(req.json),
        )
        m.thread_id = thread.id
        self.world.announce("MESSAGE_UPDATE", m)
        return 201, payloads.thread(thread)

    async def thread_without_message(self, req: Req) -> Resp:
        channel = self.writable_channel(req)
        if channel.type not in (CHANNEL_GUILD_TEXT, 5):
            raise DiscordHTTPError(400, 50024, "Cannot execute action on this channel type")
        body = req.json
        name = validate_thread_name(body.get("name"))
        thread_type = int(body.get("type") or CHANNEL_PRIVATE_THREAD)
        thread = self.world.create_thread(
            channel,
            name,
            thread_id=None,
            thread_type=thread_type,
            owner=self.world.bot,
            auto_archive_duration=_archive_duration(body),
            invitable=bool(body.get("invitable", True)),
        )
        return 201, payloads.thread(thread)
