"""The fake Discord's world state and the mutations shared by REST handlers and the control API.

Every mutation notifies waiters (so tests await state changes without polling sleeps) and
dispatches the matching gateway event through the `dispatch` hook the gateway installs.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from tests.fakes.discord import payloads
from tests.fakes.discord.models import (
    CHANNEL_DM,
    COMMAND_CHAT_INPUT,
    FILE_DATA_KEY,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    INTERACTION_APPLICATION_COMMAND,
    JSON,
    MESSAGE_CHAT_INPUT_COMMAND,
    MESSAGE_CONTEXT_MENU_COMMAND,
    MESSAGE_DEFAULT,
    MESSAGE_REPLY,
    REFERENCE_RESOLVED_TYPES,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeMessage,
    FakeUser,
    SnowflakeFactory,
    utcnow,
)

T = TypeVar("T")
# (event name, payload, blankable): what a session without the Message Content intent gets
# instead (False: the same payload, True: the payload blanked, a dict: that payload).
Dispatcher = Callable[[str, JSON, bool | JSON], None]
_USER_MENTION = re.compile(r"<@!?(\d+)>")


class World:
    def __init__(self, *, bot_name: str = "Switchboard") -> None:
        self.ids = SnowflakeFactory()
        self.app_id = self.ids.next()
        self.bot = FakeUser(self.ids.next(), bot_name, bot=True)
        self.owner = FakeUser(self.ids.next(), "owner")
        self.users: dict[int, FakeUser] = {self.bot.id: self.bot, self.owner.id: self.owner}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.messages_by_id: dict[int, FakeMessage] = {}
        # Per-channel index so wait_for predicates stay cheap in benchmarks with many messages.
        self._by_channel: dict[int, list[FakeMessage]] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self.interactions_by_token: dict[str, FakeInteraction] = {}
        # Guild id (None = global) -> the command list the last PUT sent, as received.
        self.synced_commands: dict[int | None, list[JSON]] = {}
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        # (author id, nonce) -> (time.monotonic(), message), for enforce_nonce.
        self._nonces: dict[tuple[int, str], tuple[float, FakeMessage]] = {}
        # Channels where the bot lacks Send Messages (writes get 403/50013).
        self.denied_channels: set[int] = set()
        self.dispatch: Dispatcher = lambda _event, _data, _blankable: None
        self._waiters: set[asyncio.Future[None]] = set()

    # -- waiting ---------------------------------------------------------------------------

    def notify(self) -> None:
        """Wake every waiter; each re-checks its predicate."""
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Return predicate()'s first truthy value, re-checked after every state change."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.add(fut)
            try:
                await asyncio.wait_for(fut, remaining)
            except TimeoutError as timed_out:
                self._waiters.discard(fut)
                if predicate():
                    # True, yet no change of Discord's state woke us: the predicate reads
                    # something else (the bot's memory, a fake LLM's requests), and the wait
                    # slept out its whole timeout. Wait on what it reads instead.
                    raise AssertionError(
                        "wait_for's condition came true without a change of the fake "
                        "Discord's state; it only noticed at its timeout"
                    ) from timed_out

    # -- lookups ---------------------------------------------------------------------------

    def add_user(self, username: str, *, bot: bool = False, user_id: int | None = None) -> FakeUser:
        u = FakeUser(user_id or self.ids.next(), username, bot=bot)
        self.users[u.id] = u
        return u

    def member(self, guild_id: int | None, user_id: int) -> FakeMember | None:
        if guild_id is None or guild_id not in self.guilds:
            return None
        return self.guilds[guild_id].members.get(user_id)

    def guild_channels(self, guild_id: int) -> list[FakeChannel]:
        return [c for c in self.channels.values() if c.guild_id == guild_id]

    def dm_channel(self, user_id: int) -> FakeChannel:
        """The DM channel between the bot and a user, created on first use."""
        for c in self.channels.values():
            if c.type == CHANNEL_DM and c.recipient_ids == [user_id]:
                return c
        channel = FakeChannel(self.ids.next(), CHANNEL_DM, "", recipient_ids=[user_id])
        self.channels[channel.id] = channel
        return channel

    def command_id(self, guild_id: int | None, name: str, kind: int = COMMAND_CHAT_INPUT) -> int:
        # Names are unique per command type: a slash and a message command may share one.
        key = (guild_id, name, kind)
        if key not in self._command_ids:
            self._command_ids[key] = self.ids.next()
        return self._command_ids[key]

    def message_json(self, m: FakeMessage, *, hide_content: bool = False) -> JSON:
        """The message object; replies carry `referenced_message` (null once it is deleted).

        With `hide_content`, what a reader without Message Content access gets: the content of
        this message and of the one it replies to blanked, each by its own exemptions."""
        data = self._payload(m, hide_content and self.content_hidden(m))
        if m.message_reference is not None and m.type in REFERENCE_RESOLVED_TYPES:
            target = self.referenced(m)
            data["referenced_message"] = (
                None
                if target is None
                else self._payload(target, hide_content and self.content_hidden(target))
            )
        return data

    def _payload(self, m: FakeMessage, blank: bool) -> JSON:
        thread = self.channels.get(m.thread_id) if m.thread_id else None
        inter = self.interactions.get(m.interaction_id) if m.interaction_id else None
        return payloads.message(
            m,
            users=self.users,
            member_of_author=self.member(m.guild_id, m.author.id),
            thread_channel=thread,
            interaction=inter,
            blank_content=blank,
        )

    def referenced(self, m: FakeMessage) -> FakeMessage | None:
        """The live message `m` replies to (None if it has no reference or it was deleted)."""
        if m.message_reference is None:
            return None
        target = self.messages_by_id.get(int(m.message_reference["message_id"]))
        return None if target is None or target.deleted else target

    def announce(self, event: str, m: FakeMessage) -> None:
        """Dispatch MESSAGE_CREATE/MESSAGE_UPDATE, blanked for sessions without the intent."""
        data = self.message_json(m)
        replied = self.referenced(m) if "referenced_message" in data else None
        hides = self.content_hidden(m) or (replied is not None and self.content_hidden(replied))
        # Built only when something is hidden: the bot's own edits are most of the traffic.
        hidden = self.message_json(m, hide_content=True) if hides else data
        if event == "MESSAGE_UPDATE":
            data["tts"] = hidden["tts"] = False  # Discord: always false in updates
        self.dispatch(event, data, hidden if hides else False)

    def recent_nonce(self, author_id: int, nonce: Any, window: float) -> FakeMessage | None:
        """The message `author_id` created with `nonce` less than `window` seconds ago."""
        found = self._nonces.get((author_id, str(nonce)))
        if found is None or time.monotonic() - found[0] > window or found[1].deleted:
            return None
        return found[1]

    def channel_messages(self, channel_id: int) -> list[FakeMessage]:
        return [m for m in self._by_channel.get(channel_id, []) if not m.deleted]

    # -- messages --------------------------------------------------------------------------

    def content_hidden(self, m: FakeMessage) -> bool:
        """Whether a reader without Message Content access gets this message blanked."""
        channel = self.channels.get(m.channel_id)
        is_dm = channel is not None and channel.type == CHANNEL_DM
        return m.author.id != self.bot.id and not is_dm and self.bot.id not in m.mention_ids

    def _mentions(
        self, content: str, allowed: JSON | None, *, default_parse: tuple[str, ...]
    ) -> list[int]:
        found = [int(x) for x in _USER_MENTION.findall(content)]
        parse = default_parse if allowed is None else tuple(allowed.get("parse") or ())
        explicit = {int(x) for x in (allowed or {}).get("users") or []}
        return [
            uid
            for uid in dict.fromkeys(found)
            if uid in self.users and ("users" in parse or uid in explicit)
        ]

    def create_message(
        self,
        channel: FakeChannel,
        author: FakeUser,
        body: JSON,
        *,
        interaction: FakeInteraction | None = None,
        extra_mentions: list[int] | None = None,
        replied_user: bool | None = None,
        dispatch: bool = True,
    ) -> FakeMessage:
        """Store a message and dispatch MESSAGE_CREATE. A reply pings the replied-to author as
        `replied_user` says (members' clients), or by the body's allowed_mentions (the API)."""
        content = body.get("content") or ""
        allowed = body.get("allowed_mentions")
        default_parse = ("users",) if interaction else ("users", "roles", "everyone")
        mentions = self._mentions(str(content), allowed, default_parse=default_parse)
        for uid in extra_mentions or []:
            if uid not in mentions:
                mentions.append(uid)
        m = FakeMessage(
            id=self.ids.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=author,
            content=str(content),
            embeds=list(body.get("embeds") or []),
            components=list(body.get("components") or []),
            attachments=list(body.get("attachments") or []),
            files=dict(body.get(FILE_DATA_KEY) or {}),
            flags=int(body.get("flags") or 0),
            allowed_mentions=allowed,
            mention_ids=mentions,
            tts=bool(body.get("tts", False)),
            message_reference=_reference(body.get("message_reference"), channel),
            nonce=body.get("nonce"),
        )
        if interaction is not None:
            m.type = _interaction_message_type(interaction)
            m.webhook_id = self.app_id
            m.application_id = self.app_id
            m.interaction_id = interaction.id
        elif m.message_reference is not None:
            m.type = MESSAGE_REPLY
            replied = self.referenced(m)
            # The API pings the replied-to author when allowed_mentions is absent (all mentions
            # parsed) or says replied_user; present without it, replied_user defaults to false.
            ping = allowed is None or bool(allowed.get("replied_user"))
            if replied_user is not None:
                ping = replied_user
            pinged = replied.author.id if replied is not None and ping else None
            if pinged is not None and pinged not in m.mention_ids and pinged != author.id:
                m.mention_ids.append(pinged)
        m.snapshot()
        if m.nonce is not None:
            self._nonces[(author.id, str(m.nonce))] = (time.monotonic(), m)
        self.messages_by_id[m.id] = m
        self._by_channel.setdefault(channel.id, []).append(m)
        channel.last_message_id = m.id
        channel.message_count += 1
        if dispatch and not m.ephemeral:
            self.announce("MESSAGE_CREATE", m)
        self.notify()
        return m

    def edit_message(
        self, m: FakeMessage, body: JSON, *, extra_mentions: list[int] | None = None
    ) -> FakeMessage:
        if "content" in body:
            m.content = str(body["content"] or "")
        if "embeds" in body:
            m.embeds = list(body["embeds"] or [])
        if "components" in body:
            m.components = list(body["components"] or [])
        if "attachments" in body:
            m.attachments = list(body["attachments"] or [])
            kept = {a.get("filename") for a in m.attachments}
            files = {name: data for name, data in m.files.items() if name in kept}
            m.files = {**files, **(body.get(FILE_DATA_KEY) or {})}
        if body.get("flags") is not None:
            # Ephemerality is fixed at creation; an edit cannot change it.
            m.flags = (int(body["flags"]) & ~FLAG_EPHEMERAL) | (m.flags & FLAG_EPHEMERAL)
        m.flags &= ~FLAG_LOADING
        # Discord re-parses mentions on every edit; allowed_mentions is per request.
        m.allowed_mentions = body.get("allowed_mentions")
        default_parse = ("users",) if m.interaction_id else ("users", "roles", "everyone")
        m.mention_ids = self._mentions(m.content, m.allowed_mentions, default_parse=default_parse)
        m.mention_ids += [uid for uid in extra_mentions or [] if uid not in m.mention_ids]
        m.edited_at = utcnow()
        m.snapshot()
        if not m.ephemeral:
            self.announce("MESSAGE_UPDATE", m)
        self.notify()
        return m

    def delete_message(self, m: FakeMessage) -> None:
        m.deleted = True
        if not m.ephemeral:
            data: JSON = {"id": str(m.id), "channel_id": str(m.channel_id)}
            if m.guild_id is not None:
                data["guild_id"] = str(m.guild_id)
            self.dispatch("MESSAGE_DELETE", data, False)
        self.notify()

    # -- threads ---------------------------------------------------------------------------

    def create_thread(
        self,
        parent: FakeChannel,
        name: str,
        *,
        thread_id: int | None,
        thread_type: int,
        owner: FakeUser,
        auto_archive_duration: int,
        invitable: bool = True,
    ) -> FakeChannel:
        thread = FakeChannel(
            id=thread_id or self.ids.next(),
            type=thread_type,
            name=name,
            guild_id=parent.guild_id,
            parent_id=parent.id,
            owner_id=owner.id,
            auto_archive_duration=auto_archive_duration,
            invitable=invitable,
        )
        self.channels[thread.id] = thread
        self.dispatch("THREAD_CREATE", payloads.thread(thread, newly_created=True), False)
        self.notify()
        return thread

    def interaction_age(self, interaction: FakeInteraction) -> float:
        return time.monotonic() - interaction.created_at


def _interaction_message_type(i: FakeInteraction) -> int:
    if i.type != INTERACTION_APPLICATION_COMMAND:
        return MESSAGE_DEFAULT
    if i.command_type in (None, COMMAND_CHAT_INPUT):
        return MESSAGE_CHAT_INPUT_COMMAND
    return MESSAGE_CONTEXT_MENU_COMMAND


def _reference(raw: Any, channel: FakeChannel) -> JSON | None:
    if not isinstance(raw, dict) or "message_id" not in raw:
        return None
    ref: JSON = {
        "type": 0,
        "message_id": str(raw["message_id"]),
        "channel_id": str(raw.get("channel_id") or channel.id),
    }
    if channel.guild_id is not None:
        ref["guild_id"] = str(raw.get("guild_id") or channel.guild_id)
    return ref
