"""Interaction routes: the callback (3-second deadline, double-ack) and interaction webhooks
(original response, followups, 15-minute token lifetime). Unauthenticated, exempt from the
global limit, and rate-limited per interaction token, as Discord's are.

The original response to a message command is a reply to the message it was used on (type 23
with `message_reference` and `referenced_message`), as Discord makes it.
"""

from __future__ import annotations

import time

from tests.fakes.discord import payloads
from tests.fakes.discord.http import Handler, Req, Resp, RestConfig, Route
from tests.fakes.discord.models import (
    COMMAND_MESSAGE,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    INTERACTION_MESSAGE_COMPONENT,
    JSON,
    FakeChannel,
    FakeInteraction,
    FakeMessage,
)
from tests.fakes.discord.rest import attachments_from_files, existing_message
from tests.fakes.discord.state import World
from tests.fakes.discord.validation import (
    DiscordHTTPError,
    invalid_webhook_token,
    unknown_interaction,
    unknown_message,
    unknown_webhook,
    validate_message,
)

# Callback types (docs: receiving-and-responding.mdx).
PONG = 1
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9

_WEBHOOK = "/webhooks/{application_id}/{interaction_token}"


def _invalid_type() -> DiscordHTTPError:
    return DiscordHTTPError(
        400,
        50035,
        "Invalid Form Body",
        {"type": {"_errors": [{"code": "INTERACTION_RESPONSE_TYPE_INVALID", "message": ""}]}},
    )


class InteractionRoutes:
    def __init__(self, world: World, config: RestConfig) -> None:
        self.world = world
        self.config = config

    def routes(self) -> list[Route]:
        def hook(method: str, suffix: str, handler: Handler) -> Route:
            return Route(
                method,
                _WEBHOOK + suffix,
                handler,
                limit="interaction_webhook",
                major="interaction_token",
                auth=False,
                global_exempt=True,
            )

        return [
            Route(
                "POST",
                "/interactions/{interaction_id}/{interaction_token}/callback",
                self.callback,
                limit="interaction_callback",
                major="interaction_id+interaction_token",
                auth=False,
                global_exempt=True,
            ),
            hook("GET", "/messages/@original", self.get_original),
            hook("PATCH", "/messages/@original", self.edit_original),
            hook("DELETE", "/messages/@original", self.delete_original),
            hook("POST", "", self.followup),
            hook("GET", "/messages/{message_id}", self.get_followup),
            hook("PATCH", "/messages/{message_id}", self.edit_followup),
            hook("DELETE", "/messages/{message_id}", self.delete_followup),
        ]

    # -- callback --------------------------------------------------------------------------

    def _channel(self, i: FakeInteraction) -> FakeChannel:
        return self.world.channels[i.channel_id]

    def out(self, m: FakeMessage) -> JSON:
        return self.world.message_json(m, hide_content=not self.config.message_content)

    @staticmethod
    def _as_original(i: FakeInteraction, body: JSON) -> JSON:
        if i.command_type != COMMAND_MESSAGE or i.target_id is None:
            return body
        return {**body, "message_reference": {"message_id": str(i.target_id)}}

    async def callback(self, req: Req) -> Resp:
        now = time.monotonic()
        i = self.world.interactions.get(req.int_param("interaction_id"))
        if i is None or i.token != req.match["interaction_token"]:
            raise unknown_interaction()
        try:
            status, body = self._callback(i, req, now)
        except DiscordHTTPError as exc:
            i.callback_attempts.append((now, exc.status))
            self.world.notify()
            raise
        i.callback_attempts.append((now, status))
        self.world.notify()
        return status, body

    def _callback(self, i: FakeInteraction, req: Req, now: float) -> Resp:
        if i.acknowledged:
            raise DiscordHTTPError(400, 40060, "Interaction has already been acknowledged.")
        if now - i.created_at > self.config.interaction_deadline:
            raise unknown_interaction()
        body = req.json
        kind = body.get("type")
        data: JSON = body.get("data") or {}
        is_component = i.type == INTERACTION_MESSAGE_COMPONENT
        message: FakeMessage | None = None
        if kind == CHANNEL_MESSAGE:
            data = attachments_from_files(req, data, self.config.public_base)
            validate_message(data)
            message = self.world.create_message(
                self._channel(i), self.world.bot, self._as_original(i, data), interaction=i
            )
            i.ephemeral = message.ephemeral
        elif kind == DEFERRED_CHANNEL_MESSAGE:
            flags = FLAG_LOADING | (int(data.get("flags") or 0) & FLAG_EPHEMERAL)
            loading = self._as_original(i, {"content": "", "flags": flags})
            message = self.world.create_message(
                self._channel(i), self.world.bot, loading, interaction=i
            )
            i.ephemeral = message.ephemeral
        elif kind in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE) and is_component:
            source = self.world.messages_by_id.get(i.source_message_id or 0)
            if source is None or source.deleted:
                raise unknown_message()
            if kind == UPDATE_MESSAGE:
                validate_message(data, existing=existing_message(source))
                self.world.edit_message(source, data)
            message = source
        elif kind == MODAL and i.type in (2, INTERACTION_MESSAGE_COMPONENT):
            i.modal = data
        elif kind not in (PONG, AUTOCOMPLETE_RESULT):
            raise _invalid_type()
        i.acknowledged_at = now
        i.response_type = int(kind)
        if message is not None:
            i.original_message_id = message.id
        if not req.flag("with_response"):
            return 204, None
        resource: JSON = {"type": kind}
        if message is not None and kind in (
            CHANNEL_MESSAGE,
            DEFERRED_CHANNEL_MESSAGE,
            UPDATE_MESSAGE,
        ):
            resource["message"] = self.out(message)
        return 200, {"interaction": payloads.interaction(i), "resource": resource}

    # -- webhooks --------------------------------------------------------------------------

    def _interaction(self, req: Req) -> FakeInteraction:
        if req.match["application_id"] != str(self.world.app_id):
            raise unknown_webhook()
        i = self.world.interactions_by_token.get(req.match["interaction_token"])
        if i is None or self.world.interaction_age(i) > self.config.token_lifetime:
            raise invalid_webhook_token()
        return i

    def _original(self, i: FakeInteraction) -> FakeMessage:
        m = self.world.messages_by_id.get(i.original_message_id or 0)
        if m is None or m.deleted:
            raise unknown_message()
        return m

    def _followup_message(self, req: Req, i: FakeInteraction) -> FakeMessage:
        message_id = req.int_param("message_id")
        if message_id != i.original_message_id and message_id not in i.followup_ids:
            raise unknown_message()
        m = self.world.messages_by_id.get(message_id)
        if m is None or m.deleted:
            raise unknown_message()
        return m

    def _edit(self, req: Req, m: FakeMessage) -> Resp:
        body = attachments_from_files(req, req.json, self.config.public_base)
        validate_message(body, existing=existing_message(m))
        self.world.edit_message(m, body)
        return 200, self.out(m)

    async def get_original(self, req: Req) -> Resp:
        return 200, self.out(self._original(self._interaction(req)))

    async def edit_original(self, req: Req) -> Resp:
        i = self._interaction(req)
        return self._edit(req, self._original(i))

    async def delete_original(self, req: Req) -> Resp:
        i = self._interaction(req)
        self.world.delete_message(self._original(i))
        return 204, None

    async def followup(self, req: Req) -> Resp:
        i = self._interaction(req)
        if not i.acknowledged:
            raise unknown_webhook()
        body = attachments_from_files(req, req.json, self.config.public_base)
        original = self.world.messages_by_id.get(i.original_message_id or 0)
        if (
            i.response_type == DEFERRED_CHANNEL_MESSAGE
            and original is not None
            and original.loading
        ):
            # Discord's backwards-compatible quirk: the first followup after a "thinking" defer
            # edits the loading message instead of creating a new one.
            validate_message(body, existing=existing_message(original))
            message = self.world.edit_message(original, body)
        else:
            validate_message(body)
            message = self.world.create_message(
                self._channel(i), self.world.bot, body, interaction=i
            )
            i.followup_ids.append(message.id)
            self.world.notify()
        if not req.flag("wait"):
            return 204, None
        return 200, self.out(message)

    async def get_followup(self, req: Req) -> Resp:
        i = self._interaction(req)
        return 200, self.out(self._followup_message(req, i))

    async def edit_followup(self, req: Req) -> Resp:
        i = self._interaction(req)
        return self._edit(req, self._followup_message(req, i))

    async def delete_followup(self, req: Req) -> Resp:
        i = self._interaction(req)
        self.world.delete_message(self._followup_message(req, i))
        return 204, None
