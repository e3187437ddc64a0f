"""FakeDiscord: the aiohttp server (REST under /api/v10, gateway at /gateway) and its control API.

Usage (pytest or a benchmark, no pytest imports here):

    async with FakeDiscord() as fake, pointed_at(fake):
        bot = MyBot(...); await bot.login(fake.token); ...
        interaction = await fake.invoke_slash_command("ask", {"prompt": "hi"})
        await fake.wait_for(lambda: interaction.acknowledged)

The control API is spread over mixins: `WorldBuilder` (building.py), `StateReader` (reading.py)
and `FaultControl` (faults.py: 429s, 5xx answers and held responses).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

from aiohttp import web

from tests.fakes.discord import cdn, control, payloads
from tests.fakes.discord.building import WorldBuilder
from tests.fakes.discord.channels import ChannelRoutes
from tests.fakes.discord.faults import FaultControl, Faults
from tests.fakes.discord.gateway import OP_INVALID_SESSION, OP_RECONNECT, Gateway
from tests.fakes.discord.http import API_PREFIX, RestConfig, Router
from tests.fakes.discord.interactions import InteractionRoutes
from tests.fakes.discord.models import (
    FILE_DATA_KEY,
    INTENT_MESSAGE_CONTENT,
    JSON,
    PRIVILEGED_INTENTS,
    CallRecord,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    FakeUser,
)
from tests.fakes.discord.ratelimit import RateLimitConfig, RateLimiter
from tests.fakes.discord.reading import StateReader
from tests.fakes.discord.rest import BotRoutes
from tests.fakes.discord.shards import ShardPlan
from tests.fakes.discord.state import World
from tests.fakes.loopback import LoopbackServer

log = logging.getLogger(__name__)


class FakeDiscord(LoopbackServer, FaultControl, StateReader, WorldBuilder):
    """A fake Discord on 127.0.0.1 that the unmodified discord.py client talks to."""

    def __init__(
        self,
        *,
        token: str = "fake-token",
        rate_limits: RateLimitConfig | None = None,
        interaction_deadline: float = 3.0,
        token_lifetime: float = 15 * 60.0,
        heartbeat_interval_ms: int = 41250,
        allowed_privileged_intents: int = PRIVILEGED_INTENTS,
        bot_name: str = "Switchboard",
        default_world: bool = True,
        port: int = 0,
        shards: int = 1,
        max_concurrency: int = 1,
        identify_window: float | None = None,
    ) -> None:
        """`shards`: the shard count GET /gateway/bot recommends; `max_concurrency` and
        `identify_window` (seconds, None: not enforced): how many shards may IDENTIFY per
        window, as Discord's session start limit says (see shards.py)."""
        self.token = token
        self.world = World(bot_name=bot_name)
        self.limiter = RateLimiter(rate_limits or RateLimitConfig())
        self.config = RestConfig(
            token=token,
            interaction_deadline=interaction_deadline,
            token_lifetime=token_lifetime,
            message_content=bool(allowed_privileged_intents & INTENT_MESSAGE_CONTENT),
        )
        self.calls: list[CallRecord] = []
        self.faults = Faults()
        self.shards = ShardPlan(shards, max_concurrency, identify_window)
        self.gateway = Gateway(
            self.world,
            token=token,
            heartbeat_interval_ms=heartbeat_interval_ms,
            allowed_privileged_intents=allowed_privileged_intents,
            shards=self.shards,
        )
        # Files members attach, served at /attachments/… on this server (see cdn.py).
        self.cdn = cdn.Cdn(self.world.ids)
        self._runner: web.AppRunner | None = None
        self.port = port  # 0: a free port is chosen at start
        self.guild: FakeGuild | None = None
        self.channel: FakeChannel | None = None
        self.user: FakeUser | None = None
        if default_world:
            self.guild = self.add_guild("Test Guild")
            self.channel = self.add_text_channel(self.guild.id, "general")
            self.user = self.add_member(self.guild.id, "alice").user

    # -- lifecycle -------------------------------------------------------------------------

    def _make_runner(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get(cdn.ROUTE, self.cdn.handle)
        router = Router(self.world, self.limiter, self.config, self.calls, self.faults)
        routes = InteractionRoutes(self.world, self.config).routes()
        routes += BotRoutes(self.world, self.config, self.shards).routes()
        routes += ChannelRoutes(self.world, self.config, self.limiter).routes()
        router.install(app, routes)
        return web.AppRunner(app, handle_signals=False, access_log=None)

    def _after_start(self) -> None:
        self.config.public_base = f"http://127.0.0.1:{self.port}"
        self.gateway.resume_url = self.gateway_url
        log.debug("fake discord listening on %s", self.config.public_base)

    async def _before_close(self) -> None:
        self.faults.clear()  # held responses go now, or the server's shutdown would wait them
        await self.gateway.close()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # -- world -----------------------------------------------------------------------------

    @property
    def bot_user(self) -> FakeUser:
        return self.world.bot

    @property
    def application_id(self) -> int:
        return self.world.app_id

    # -- injecting events ------------------------------------------------------------------

    async def send_user_message(
        self,
        channel_id: int | None = None,
        author: FakeUser | None = None,
        content: str = "",
        *,
        mentions_bot: bool = False,
        embeds: list[JSON] | None = None,
        reply_to: int | None = None,
        mention_replied: bool = False,
        attachments: Sequence[JSON | cdn.FakeFile] | None = None,
    ) -> FakeMessage:
        """A user posts a message: stored, then MESSAGE_CREATE to every session.

        `reply_to` makes it a reply (type 19) to a message of the same channel, carrying
        `referenced_message` (null if that message is deleted by then); `mention_replied` pings
        its author, as the Discord client does with the reply's @ON. `attachments` are
        attachment objects as they are, or `FakeFile`s, whose bytes the fake serves from its
        own CDN route (signed links that expire, as Discord's do)."""
        channel = self._default_channel(channel_id)
        author = self._default_user(author)
        if reply_to is not None:
            replied = self.world.messages_by_id.get(reply_to)
            if replied is None or replied.channel_id != channel.id:
                raise LookupError(f"no message {reply_to} in channel {channel.id} to reply to")
        if channel.guild_id is not None and self.world.member(channel.guild_id, author.id) is None:
            self.add_member(channel.guild_id, author)
        described = [
            self.cdn.add(channel.id, a, self.config.public_base)
            if isinstance(a, cdn.FakeFile)
            else a
            for a in attachments or []
        ]
        files = {a.filename: a.data for a in attachments or [] if isinstance(a, cdn.FakeFile)}
        body: JSON = {"content": content, "embeds": embeds or [], "attachments": described}
        body[FILE_DATA_KEY] = files
        if reply_to is not None:
            body["message_reference"] = {"message_id": reply_to}
        extra = [self.world.bot.id] if mentions_bot else []
        return self.world.create_message(
            channel, author, body, extra_mentions=extra, replied_user=mention_replied
        )

    async def invoke_slash_command(
        self,
        name: str,
        options: Mapping[str, control.OptionValue] | None = None,
        *,
        user: FakeUser | None = None,
        channel_id: int | None = None,
        guild_id: int | None = None,
        subcommand: str | None = None,
        subcommand_group: str | None = None,
        permissions: int | None = None,
    ) -> FakeInteraction:
        """Dispatch INTERACTION_CREATE (type 2); the 3-second clock starts now.

        With `permissions`, the member has only those permissions in this channel (by default
        the fake reports every permission), e.g. to act as a member without Manage Server."""
        channel = self._default_channel(channel_id)
        user = self._default_user(user)
        guild_id = guild_id if guild_id is not None else channel.guild_id
        if guild_id is not None and self.world.member(guild_id, user.id) is None:
            self.add_member(guild_id, user)
        interaction = control.slash_command(
            self.world,
            name,
            options,
            user=user,
            channel=channel,
            guild_id=guild_id,
            subcommand=subcommand,
            subcommand_group=subcommand_group,
        )
        return self._inject(interaction, permissions)

    async def invoke_message_command(
        self,
        name: str,
        target_message_id: int,
        *,
        user: FakeUser | None = None,
        channel_id: int | None = None,
        permissions: int | None = None,
    ) -> FakeInteraction:
        """A member uses the message command (context menu) `name` on a stored message:
        INTERACTION_CREATE type 2 with `data.type` 3, `data.target_id` and the message in
        `data.resolved.messages`. The channel is the message's own (`channel_id`, if given,
        must be it: one right-clicks a message where it is shown)."""
        target = self.world.messages_by_id[target_message_id]
        if channel_id is not None and channel_id != target.channel_id:
            raise ValueError(f"message {target.id} is in channel {target.channel_id}")
        channel = self.world.channels[target.channel_id]
        return self._context_menu(name, target, user, channel, permissions)

    async def invoke_user_command(
        self,
        name: str,
        target: FakeUser,
        *,
        user: FakeUser | None = None,
        channel_id: int | None = None,
        permissions: int | None = None,
    ) -> FakeInteraction:
        """A member uses the user command `name` on `target`: `data.type` 2, `data.target_id`
        and the target in `data.resolved.users` (and `members`, in a guild it belongs to)."""
        channel = self._default_channel(channel_id)
        return self._context_menu(name, target, user, channel, permissions)

    def _context_menu(
        self,
        name: str,
        target: FakeMessage | FakeUser,
        user: FakeUser | None,
        channel: FakeChannel,
        permissions: int | None,
    ) -> FakeInteraction:
        user = self._default_user(user)
        if channel.guild_id is not None and self.world.member(channel.guild_id, user.id) is None:
            self.add_member(channel.guild_id, user)
        interaction = control.context_menu(
            self.world, name, target, user=user, channel=channel, guild_id=channel.guild_id
        )
        return self._inject(interaction, permissions)

    async def click_button(
        self,
        message_id: int,
        custom_id: str,
        *,
        user: FakeUser | None = None,
        values: list[str] | None = None,
    ) -> FakeInteraction:
        """Dispatch INTERACTION_CREATE (type 3) for a component on a stored message."""
        message = self.world.messages_by_id[message_id]
        interaction = control.component_click(
            self.world, message, custom_id, user=self._default_user(user), values=values
        )
        return self._inject(interaction)

    async def edit_user_message(
        self, message_id: int, content: str, *, mentions_bot: bool | None = None
    ) -> FakeMessage:
        """A user edits their message: stored as a revision, then MESSAGE_UPDATE (the full
        message with `edited_timestamp`, whether or not the client has it cached).

        Mentions are parsed again from the new content; `mentions_bot` keeps (None, the
        default, keeps what the message had) or sets the bot's mention."""
        message = self.world.messages_by_id[message_id]
        if mentions_bot is None:
            mentions_bot = self.world.bot.id in message.mention_ids
        extra = [self.world.bot.id] if mentions_bot else []
        return self.world.edit_message(message, {"content": content}, extra_mentions=extra)

    def expire_attachments(self, message_id: int | None = None) -> None:
        """Let the attachment links of a message (of every message if None) expire now."""
        if message_id is None:
            self.cdn.expire()
            return
        message = self.world.messages_by_id[message_id]
        self.cdn.expire([int(a["id"]) for a in message.attachments])

    async def delete_user_message(self, message_id: int) -> None:
        self.world.delete_message(self.world.messages_by_id[message_id])

    def deny_channel(self, channel_id: int, *, denied: bool = True) -> None:
        """Make the bot's writes to a channel fail with 403/50013 Missing Permissions."""
        if denied:
            self.world.denied_channels.add(channel_id)
        else:
            self.world.denied_channels.discard(channel_id)

    def archive_thread(self, thread_id: int, *, locked: bool = False) -> None:
        """Archive a thread (edits then fail with 50083; a send unarchives unless locked)."""
        thread = self.world.channels[thread_id]
        thread.archived = True
        thread.locked = locked
        self.world.dispatch("THREAD_UPDATE", payloads.thread(thread), False)

    def _inject(
        self, interaction: FakeInteraction, permissions: int | None = None
    ) -> FakeInteraction:
        if permissions is not None and "member" in interaction.payload:
            interaction.payload["member"]["permissions"] = str(permissions)
            interaction.payload["channel"]["permissions"] = str(permissions)
        self.world.interactions[interaction.id] = interaction
        self.world.interactions_by_token[interaction.token] = interaction
        interaction.created_at = time.monotonic()
        self.world.dispatch("INTERACTION_CREATE", interaction.payload, False)
        return interaction

    def age_interaction(self, interaction: FakeInteraction, seconds: float) -> None:
        """Pretend the interaction arrived `seconds` earlier (to test deadlines and expiry)."""
        interaction.created_at -= seconds

    # -- gateway control -------------------------------------------------------------------

    async def disconnect_gateway(self, code: int = 4000) -> None:
        """Drop every gateway connection; with a resumable code the client RESUMEs."""
        await self.gateway.disconnect(code)

    async def send_reconnect(self) -> None:
        """op 7 RECONNECT: the client closes, reconnects to resume_gateway_url and RESUMEs."""
        self.gateway.send_op(OP_RECONNECT, None)

    async def send_invalid_session(self, *, resumable: bool = False) -> None:
        """op 9 INVALID_SESSION; not resumable makes the client IDENTIFY afresh."""
        if not resumable:
            self.gateway.invalidate_sessions()
        self.gateway.send_op(OP_INVALID_SESSION, resumable)
