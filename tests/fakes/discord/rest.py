"""Bot-authenticated REST routes: identity, command sync, users, messages (history, sends,
replies, edits, deletes), typing and reactions.

Channel settings and threads live in `channels.py`; the interaction callback and interaction
webhooks in `interactions.py`.
"""

from __future__ import annotations

from tests.fakes.discord import history, payloads
from tests.fakes.discord.http import Req, Resp, RestConfig, Route
from tests.fakes.discord.models import (
    COMMAND_CHAT_INPUT,
    FILE_DATA_KEY,
    JSON,
    FakeChannel,
    FakeMessage,
)
from tests.fakes.discord.shards import ShardPlan
from tests.fakes.discord.state import World
from tests.fakes.discord.validation import (
    DiscordHTTPError,
    unknown_channel,
    unknown_message,
    validate_message,
)

# enforce_nonce de-duplicates within "the past few minutes" (Discord gives no number).
NONCE_WINDOW = 5 * 60.0


def attachments_from_files(req: Req, body: JSON, base: str) -> JSON:
    """Fold multipart file parts into the body's `attachments` as Discord would return them."""
    if not req.files:
        return body
    out = dict(body)
    attachments = []
    for index, f in enumerate(req.files):
        attachment_id = 1_000_000 + index
        attachments.append(
            {
                "id": str(attachment_id),
                "filename": f["filename"] or f"file{index}",
                "size": f["size"],
                "url": f"{base}/attachments/{attachment_id}/{f['filename']}",
                "proxy_url": f"{base}/attachments/{attachment_id}/{f['filename']}",
                "content_type": "application/octet-stream",
            }
        )
    out["attachments"] = attachments
    out[FILE_DATA_KEY] = {
        a["filename"]: f.get("data", b"") for a, f in zip(attachments, req.files, strict=True)
    }
    return out


class Lookups:
    """What every route module needs: the channel and message of a path, and message JSON."""

    def __init__(self, world: World, config: RestConfig) -> None:
        self.world = world
        self.config = config

    def channel(self, req: Req) -> FakeChannel:
        channel = self.world.channels.get(req.int_param("channel_id"))
        if channel is None:
            raise unknown_channel()
        return channel

    def writable_channel(self, req: Req) -> FakeChannel:
        """A channel the bot may write to; denied ones answer 403/50013 Missing Permissions."""
        channel = self.channel(req)
        if channel.id in self.world.denied_channels:
            raise DiscordHTTPError(403, 50013, "Missing Permissions")
        return channel

    def message(self, req: Req, channel: FakeChannel) -> FakeMessage:
        """A live message of the channel; ephemeral ones exist only for their interaction."""
        m = self.world.messages_by_id.get(req.int_param("message_id"))
        if m is None or m.deleted or m.ephemeral or m.channel_id != channel.id:
            raise unknown_message()
        return m

    def out(self, m: FakeMessage) -> JSON:
        """A message as this application may read it over REST."""
        return self.world.message_json(m, hide_content=not self.config.message_content)


class BotRoutes(Lookups):
    def __init__(self, world: World, config: RestConfig, shards: ShardPlan) -> None:
        super().__init__(world, config)
        self.shards = shards

    def routes(self) -> list[Route]:
        ch = "channel_id"
        return [
            Route("GET", "/users/@me", self.get_me),
            Route("GET", "/oauth2/applications/@me", self.get_application),
            Route("GET", "/applications/@me", self.get_application),
            Route("GET", "/gateway", self.get_gateway, auth=False),
            Route("GET", "/gateway/bot", self.get_gateway_bot),
            Route("PUT", "/applications/{application_id}/commands", self.put_commands),
            Route("GET", "/applications/{application_id}/commands", self.get_commands),
            Route(
                "PUT",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self.put_commands,
                major="guild_id",
            ),
            Route(
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self.get_commands,
                major="guild_id",
            ),
            Route("POST", "/users/@me/channels", self.create_dm),
            Route("GET", "/users/{user_id}", self.get_user),
            Route("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member, major="guild_id"),
            Route("GET", "/channels/{channel_id}/messages", self.get_messages, major=ch),
            Route(
                "POST",
                "/channels/{channel_id}/messages",
                self.create_message,
                limit="message_create",
                major=ch,
            ),
            Route(
                "GET", "/channels/{channel_id}/messages/{message_id}", self.get_message, major=ch
            ),
            Route(
                "PATCH",
                "/channels/{channel_id}/messages/{message_id}",
                self.edit_message,
                limit="message_edit",
                major=ch,
            ),
            Route(
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}",
                self.delete_message,
                major=ch,
            ),
            Route("POST", "/channels/{channel_id}/typing", self.typing, major=ch),
            Route(
                "PUT",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self.add_reaction,
                major=ch,
            ),
            Route(
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self.remove_reaction,
                major=ch,
            ),
        ]

    # -- identity and commands -------------------------------------------------------------

    async def get_me(self, req: Req) -> Resp:
        return 200, payloads.user(self.world.bot)

    async def get_application(self, req: Req) -> Resp:
        w = self.world
        return 200, payloads.application(w.app_id, w.bot, w.owner)

    async def get_gateway(self, req: Req) -> Resp:
        return 200, {"url": self.config.public_base.replace("http", "ws", 1) + "/gateway"}

    async def get_gateway_bot(self, req: Req) -> Resp:
        _, url = await self.get_gateway(req)
        return 200, self.shards.gateway_bot(url["url"])

    def _guild_scope(self, req: Req) -> int | None:
        if int(req.match["application_id"]) != self.world.app_id:
            raise DiscordHTTPError(403, 50001, "Missing Access")
        if "guild_id" not in req.match:
            return None
        guild_id = req.int_param("guild_id")
        if guild_id not in self.world.guilds:
            raise DiscordHTTPError(404, 10004, "Unknown Guild")
        return guild_id

    def _command_out(self, guild_id: int | None, cmd: JSON) -> JSON:
        kind = int(cmd.get("type", COMMAND_CHAT_INPUT))
        out: JSON = {
            "type": 1,
            "options": [],
            "default_member_permissions": None,
            "dm_permission": True,
            "nsfw": False,
            "contexts": None,
            "integration_types": [0],
            "name_localizations": None,
            "description_localizations": None,
            "description": "",
        }
        out.update(cmd)
        out["id"] = str(self.world.command_id(guild_id, str(cmd.get("name")), kind))
        out["application_id"] = str(self.world.app_id)
        out["version"] = out["id"]
        if guild_id is not None:
            out["guild_id"] = str(guild_id)
        return out

    async def put_commands(self, req: Req) -> Resp:
        guild_id = self._guild_scope(req)
        commands = req.body if isinstance(req.body, list) else []
        errors: JSON = {}
        for index, cmd in enumerate(commands):
            this: JSON = {}
            name = str(cmd.get("name", ""))
            if not 1 <= len(name) <= 32:
                this["name"] = {"_errors": [_bad_length(1, 32)]}
            description = str(cmd.get("description") or "")
            if cmd.get("type", COMMAND_CHAT_INPUT) == COMMAND_CHAT_INPUT:
                if not 1 <= len(description) <= 100:
                    this["description"] = {"_errors": [_bad_length(1, 100)]}
            elif description:
                # User (2) and message (3) commands: names may have spaces and capitals, but a
                # description is refused (fetched commands show it as "").
                this["description"] = {"_errors": [_CONTEXT_MENU_DESCRIPTION]}
            if this:
                errors[str(index)] = this
        if errors:
            raise DiscordHTTPError(400, 50035, "Invalid Form Body", errors)
        self.world.synced_commands[guild_id] = list(commands)
        self.world.notify()
        return 200, [self._command_out(guild_id, c) for c in commands]

    async def get_commands(self, req: Req) -> Resp:
        guild_id = self._guild_scope(req)
        stored = self.world.synced_commands.get(guild_id, [])
        return 200, [self._command_out(guild_id, c) for c in stored]

    # -- users, members, DMs ---------------------------------------------------------------

    async def create_dm(self, req: Req) -> Resp:
        recipient = int(req.json.get("recipient_id") or 0)
        if recipient not in self.world.users:
            raise DiscordHTTPError(400, 50033, "Invalid Recipient(s)")
        return 200, payloads.channel(self.world.dm_channel(recipient), self.world.users)

    async def get_user(self, req: Req) -> Resp:
        found = self.world.users.get(req.int_param("user_id"))
        if found is None:
            raise DiscordHTTPError(404, 10013, "Unknown User")
        return 200, payloads.user(found)

    async def get_member(self, req: Req) -> Resp:
        member = self.world.member(req.int_param("guild_id"), req.int_param("user_id"))
        if member is None:
            raise DiscordHTTPError(404, 10007, "Unknown Member")
        return 200, payloads.member(member)

    # -- channels and messages -------------------------------------------------------------

    async def get_messages(self, req: Req) -> Resp:
        channel = self.channel(req)
        found = history.page(self.world.channel_messages(channel.id), req.query)
        return 200, [self.out(m) for m in found]

    async def get_message(self, req: Req) -> Resp:
        channel = self.channel(req)
        return 200, self.out(self.message(req, channel))

    async def create_message(self, req: Req) -> Resp:
        channel = self.writable_channel(req)
        body = attachments_from_files(req, req.json, self.config.public_base)
        validate_message(body)
        body = self._reply(channel, body)
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            # The same author and nonce within a few minutes: the earlier message, no new one.
            earlier = self.world.recent_nonce(self.world.bot.id, nonce, NONCE_WINDOW)
            if earlier is not None:
                return 200, self.out(earlier)
        if channel.is_thread and channel.archived:
            if channel.locked:
                raise DiscordHTTPError(400, 50083, "Thread is archived")
            channel.archived = False  # sending unarchives an unlocked thread
        m = self.world.create_message(channel, self.world.bot, body)
        return 200, self.out(m)

    def _reply(self, channel: FakeChannel, body: JSON) -> JSON:
        """A reply must point at a live message of the same channel. Otherwise Discord refuses
        it (50035, MESSAGE_REFERENCE_UNKNOWN_MESSAGE), or with `fail_if_not_exists: false`
        sends it as a plain message. Forwards (reference type 1) are not modelled."""
        ref = body.get("message_reference")
        if not isinstance(ref, dict) or ref.get("type", 0) != 0:
            return body
        try:
            target = self.world.messages_by_id.get(int(ref.get("message_id") or 0))
        except (TypeError, ValueError):
            target = None
        in_channel = str(ref.get("channel_id") or channel.id) == str(channel.id)
        live = target is not None and not target.deleted and not target.ephemeral
        if live and in_channel and target is not None and target.channel_id == channel.id:
            return body
        if ref.get("fail_if_not_exists", True) is False:
            return {k: v for k, v in body.items() if k != "message_reference"}
        unknown = {"code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "message": "Unknown message"}
        raise DiscordHTTPError(
            400, 50035, "Invalid Form Body", {"message_reference": {"_errors": [unknown]}}
        )

    async def edit_message(self, req: Req) -> Resp:
        channel = self.writable_channel(req)
        m = self.message(req, channel)
        if m.author.id != self.world.bot.id:
            raise DiscordHTTPError(403, 50005, "Cannot edit a message authored by another user")
        if channel.is_thread and channel.archived:
            raise DiscordHTTPError(400, 50083, "Thread is archived")
        body = attachments_from_files(req, req.json, self.config.public_base)
        validate_message(body, existing=existing_message(m))
        self.world.edit_message(m, body)
        return 200, self.out(m)

    async def delete_message(self, req: Req) -> Resp:
        channel = self.writable_channel(req)
        self.world.delete_message(self.message(req, channel))
        return 204, None

    async def typing(self, req: Req) -> Resp:
        channel = self.writable_channel(req)
        channel.typing_count += 1
        self.world.notify()
        return 204, None

    async def add_reaction(self, req: Req) -> Resp:
        m = self.message(req, self.writable_channel(req))
        m.reactions.append(req.match["emoji"])
        self.world.notify()
        return 204, None

    async def remove_reaction(self, req: Req) -> Resp:
        m = self.message(req, self.writable_channel(req))
        if req.match["emoji"] in m.reactions:
            m.reactions.remove(req.match["emoji"])
        self.world.notify()
        return 204, None


def existing_message(m: FakeMessage) -> JSON:
    """The fields of a stored message that decide whether an edit leaves it empty."""
    return {
        "content": m.content,
        "embeds": m.embeds,
        "components": m.components,
        "attachments": m.attachments,
        "flags": m.flags,
    }


_CONTEXT_MENU_DESCRIPTION = {
    "code": "APPLICATION_COMMAND_INVALID_DESCRIPTION",
    "message": "Context menu commands cannot have description",
}


def _bad_length(low: int, high: int) -> JSON:
    return {
        "code": "BASE_TYPE_BAD_LENGTH",
        "message": f"Must be between {low} and {high} in length.",
    }
