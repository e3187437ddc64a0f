"""Typed records of the fake Discord's world: users, guilds, channels, messages, interactions.

These are what tests read back through the control API; the wire JSON is built from them in
`payloads.py`. Everything is mutable because the fake server updates it as requests arrive.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]

# Discord's epoch (2015-01-01) in milliseconds; snowflakes encode their creation time from it.
DISCORD_EPOCH_MS = 1_420_070_400_000

# Message flags (docs: message.mdx "Message Flags").
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_IS_COMPONENTS_V2 = 1 << 15
# Key under which REST handlers pass uploaded file bytes (filename → bytes) to the world; it is
# never part of a JSON payload.
FILE_DATA_KEY = "_fake_file_data"

# Gateway intents that Discord treats as privileged.
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Channel types used here.
CHANNEL_GUILD_TEXT = 0
CHANNEL_DM = 1
CHANNEL_PUBLIC_THREAD = 11
CHANNEL_PRIVATE_THREAD = 12
THREAD_TYPES = (10, CHANNEL_PUBLIC_THREAD, CHANNEL_PRIVATE_THREAD)

# Interaction types.
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_MESSAGE_COMPONENT = 3

# Application command types (data.type of an application command interaction).
COMMAND_CHAT_INPUT = 1
COMMAND_USER = 2
COMMAND_MESSAGE = 3

# Message types the fake produces.
MESSAGE_DEFAULT = 0
MESSAGE_REPLY = 19
MESSAGE_CHAT_INPUT_COMMAND = 20
MESSAGE_CONTEXT_MENU_COMMAND = 23
# Types whose message_reference Discord resolves into `referenced_message` (21 is a thread
# starter, which the fake does not make).
REFERENCE_RESOLVED_TYPES = (MESSAGE_REPLY, 21, MESSAGE_CONTEXT_MENU_COMMAND)


class SnowflakeFactory:
    """Monotonic snowflakes whose timestamp part is the real current time."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._last = 0

    def next(self) -> int:
        now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = (now_ms << 22) | (next(self._counter) & 0xFFF)
        # Strictly increasing even when two ids are made within one millisecond.
        self._last = max(candidate, self._last + 1)
        return self._last

    def next_on_shard(self, shard_id: int, shard_count: int) -> int:
        """A new id whose guild would live on that shard ((id >> 22) % count == shard_id):
        its timestamp part is moved up to a few milliseconds ahead."""
        candidate = self.next()
        while (candidate >> 22) % shard_count != shard_id:
            candidate += 1 << 22
        self._last = candidate
        return candidate


def iso(ts: datetime) -> str:
    """Discord's timestamp format (ISO 8601 with microseconds and +00:00)."""
    return ts.isoformat()


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class FakeUser:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int = 0
    position: int = 0
    mentionable: bool = False


@dataclass
class FakeMember:
    user: FakeUser
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: datetime = field(default_factory=utcnow)


@dataclass
class FakeChannel:
    """A guild text channel, a thread (type 11/12) or a DM channel (type 1)."""

    id: int
    type: int
    name: str
    guild_id: int | None = None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    owner_id: int | None = None
    recipient_ids: list[int] = field(default_factory=list)
    last_message_id: int | None = None
    message_count: int = 0
    auto_archive_duration: int = 1440
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    rate_limit_per_user: int = 0
    created_at: datetime = field(default_factory=utcnow)
    typing_count: int = 0

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: list[FakeRole] = field(default_factory=list)
    channel_ids: list[int] = field(default_factory=list)
    members: dict[int, FakeMember] = field(default_factory=dict)


@dataclass(frozen=True)
class MessageRevision:
    """One state of a message: what it looked like after a create or an edit."""

    at: float  # time.monotonic()
    timestamp: datetime
    content: str
    embeds: list[JSON]
    components: list[JSON]
    flags: int
    allowed_mentions: JSON | None


@dataclass
class FakeMessage:
    id: int
    channel_id: int
    author: FakeUser
    content: str = ""
    guild_id: int | None = None
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    attachments: list[JSON] = field(default_factory=list)
    # The bytes of the uploaded attachments, by filename (what a client would download).
    files: dict[str, bytes] = field(default_factory=dict)
    flags: int = 0
    # allowed_mentions exactly as the last create/edit sent it; None when the key was absent.
    allowed_mentions: JSON | None = None
    mention_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    tts: bool = False
    type: int = 0
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_id: int | None = None
    message_reference: JSON | None = None
    # The nonce as sent (Discord echoes it; with enforce_nonce it de-duplicates creates).
    nonce: str | int | None = None
    reactions: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)
    edited_at: datetime | None = None
    deleted: bool = False
    thread_id: int | None = None
    # revisions[0] is the state as created; every later entry is one edit.
    revisions: list[MessageRevision] = field(default_factory=list)

    @property
    def edit_count(self) -> int:
        return max(0, len(self.revisions) - 1)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & FLAG_LOADING)

    def snapshot(self) -> None:
        """Record the current state as a new revision (called after create and each edit)."""
        self.revisions.append(
            MessageRevision(
                at=time.monotonic(),
                timestamp=self.edited_at or self.created_at,
                content=self.content,
                embeds=list(self.embeds),
                components=list(self.components),
                flags=self.flags,
                allowed_mentions=self.allowed_mentions,
            )
        )


@dataclass
class FakeInteraction:
    """An interaction the test injected, and everything the bot did in response."""

    id: int
    token: str
    type: int
    user: FakeUser
    channel_id: int
    guild_id: int | None
    payload: JSON
    created_at: float = field(default_factory=time.monotonic)
    acknowledged_at: float | None = None
    # 4 message, 5 deferred message, 6 deferred update, 7 update message, 9 modal.
    response_type: int | None = None
    ephemeral: bool = False
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    # For component interactions: the message that carried the component.
    source_message_id: int | None = None
    modal: JSON | None = None
    # For application commands: data.type (1 slash, 2 user, 3 message) and, for context
    # menus, the id of the user or message it was used on.
    command_type: int | None = None
    target_id: int | None = None
    # Callback attempts, including rejected ones, as (monotonic time, HTTP status).
    callback_attempts: list[tuple[float, int]] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def deferred(self) -> bool:
        return self.response_type in (5, 6)

    @property
    def ack_latency(self) -> float | None:
        """Seconds from dispatch to the accepted initial response."""
        if self.acknowledged_at is None:
            return None
        return self.acknowledged_at - self.created_at


@dataclass(frozen=True)
class CallRecord:
    """One REST request as the fake saw it."""

    at: float  # time.monotonic()
    method: str
    path: str
    route: str  # template, e.g. "/channels/{channel_id}/messages/{message_id}"
    status: int
    json: Any
    bucket: str | None
    known_route: bool
    # Seconds the response was held back by `delay_requests` (0 when not delayed).
    held: float = 0.0

    @property
    def key(self) -> str:
        return f"{self.method} {self.route}"
