"""Builders for what a test injects: INTERACTION_CREATE payloads for slash commands, user and
message commands (context menus) and component clicks, with every key discord.py's Interaction
parser reads (a missing one raises KeyError inside its gateway handler).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from tests.fakes.discord import payloads
from tests.fakes.discord.models import (
    COMMAND_CHAT_INPUT,
    COMMAND_MESSAGE,
    COMMAND_USER,
    INTERACTION_APPLICATION_COMMAND,
    INTERACTION_MESSAGE_COMPONENT,
    JSON,
    FakeChannel,
    FakeInteraction,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
)
from tests.fakes.discord.state import World

OptionValue = str | int | float | bool | FakeUser | FakeMember | FakeChannel | FakeRole

# Application command option types.
OPT_SUB_COMMAND = 1
OPT_SUB_COMMAND_GROUP = 2
OPT_STRING = 3
OPT_INTEGER = 4
OPT_BOOLEAN = 5
OPT_USER = 6
OPT_CHANNEL = 7
OPT_ROLE = 8
OPT_NUMBER = 10


def _option(
    world: World, guild_id: int | None, name: str, value: OptionValue, resolved: JSON
) -> JSON:
    """One option with Discord's type number; lookups go into `resolved` as Discord does."""
    if isinstance(value, FakeMember):
        value = value.user
    if isinstance(value, bool):
        return {"name": name, "type": OPT_BOOLEAN, "value": value}
    if isinstance(value, int):
        return {"name": name, "type": OPT_INTEGER, "value": value}
    if isinstance(value, float):
        return {"name": name, "type": OPT_NUMBER, "value": value}
    if isinstance(value, str):
        return {"name": name, "type": OPT_STRING, "value": value}
    if isinstance(value, FakeUser):
        resolved.setdefault("users", {})[str(value.id)] = payloads.user(value)
        member = world.member(guild_id, value.id)
        if member is not None:
            data = payloads.member(member, with_user=False)
            data["permissions"] = payloads.ALL_PERMISSIONS
            resolved.setdefault("members", {})[str(value.id)] = data
        return {"name": name, "type": OPT_USER, "value": str(value.id)}
    if isinstance(value, FakeChannel):
        channel = payloads.channel(value, world.users)
        channel["permissions"] = payloads.ALL_PERMISSIONS
        resolved.setdefault("channels", {})[str(value.id)] = channel
        return {"name": name, "type": OPT_CHANNEL, "value": str(value.id)}
    resolved.setdefault("roles", {})[str(value.id)] = payloads.role(value)
    return {"name": name, "type": OPT_ROLE, "value": str(value.id)}


def _base(
    world: World, kind: int, user: FakeUser, channel: FakeChannel, guild_id: int | None
) -> tuple[FakeInteraction, JSON]:
    interaction_id = world.ids.next()
    token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)
    d: JSON = {
        "id": str(interaction_id),
        "application_id": str(world.app_id),
        "type": kind,
        "token": token,
        "version": 1,
        "attachment_size_limit": payloads.ATTACHMENT_SIZE_LIMIT,
        "channel_id": str(channel.id),
        "channel": {
            **payloads.channel(channel, world.users),
            "permissions": payloads.ALL_PERMISSIONS,
        },
        "app_permissions": payloads.ALL_PERMISSIONS,
        "locale": "en-US",
        "entitlements": [],
        "entitlement_sku_ids": [],
    }
    member = world.member(guild_id, user.id)
    if guild_id is not None and member is not None:
        d["guild_id"] = str(guild_id)
        d["guild"] = {"id": str(guild_id), "locale": "en-US", "features": []}
        d["guild_locale"] = "en-US"
        d["member"] = {**payloads.member(member), "permissions": payloads.ALL_PERMISSIONS}
        d["authorizing_integration_owners"] = {"0": str(guild_id)}
        d["context"] = 0
    else:
        guild_id = None
        d["user"] = payloads.user(user)
        d["authorizing_integration_owners"] = {"0": str(user.id)}
        d["context"] = 1
    interaction = FakeInteraction(
        id=interaction_id,
        token=token,
        type=kind,
        user=user,
        channel_id=channel.id,
        guild_id=guild_id,
        payload=d,
    )
    return interaction, d


def slash_command(
    world: World,
    name: str,
    options: Mapping[str, OptionValue] | None,
    *,
    user: FakeUser,
    channel: FakeChannel,
    guild_id: int | None,
    subcommand: str | None,
    subcommand_group: str | None,
) -> FakeInteraction:
    interaction, d = _base(world, INTERACTION_APPLICATION_COMMAND, user, channel, guild_id)
    interaction.command_type = COMMAND_CHAT_INPUT
    resolved: JSON = {}
    opts = [
        _option(world, interaction.guild_id, k, v, resolved) for k, v in (options or {}).items()
    ]
    if subcommand is not None:
        opts = [{"name": subcommand, "type": OPT_SUB_COMMAND, "options": opts}]
    if subcommand_group is not None:
        opts = [{"name": subcommand_group, "type": OPT_SUB_COMMAND_GROUP, "options": opts}]
    scope = _scope(world, name, COMMAND_CHAT_INPUT, interaction.guild_id)
    data: JSON = {
        "id": str(world.command_id(scope, name)),
        "name": name,
        "type": COMMAND_CHAT_INPUT,
        "options": opts,
    }
    if scope is not None:
        data["guild_id"] = str(scope)
    if resolved:
        data["resolved"] = resolved
    d["data"] = data
    return interaction


def _scope(world: World, name: str, kind: int, guild_id: int | None) -> int | None:
    """The guild a command was registered in, or None for a global one.

    Guild-registered commands carry data.guild_id; discord.py's tree looks them up by it. A name
    synced nowhere counts as a guild command (so unsynced test commands still route)."""

    def names(scope: int | None) -> set[str]:
        synced = world.synced_commands.get(scope, [])
        return {str(c.get("name")) for c in synced if int(c.get("type", 1)) == kind}

    if guild_id is not None and (name in names(guild_id) or name not in names(None)):
        return guild_id
    return None


def context_menu(
    world: World,
    name: str,
    target: FakeMessage | FakeUser,
    *,
    user: FakeUser,
    channel: FakeChannel,
    guild_id: int | None,
) -> FakeInteraction:
    """A user (type 2) or message (type 3) command used on `target`, shaped like Discord's:
    `data.target_id`, and the target in `data.resolved` (`messages`, or `users` + `members`)."""
    interaction, d = _base(world, INTERACTION_APPLICATION_COMMAND, user, channel, guild_id)
    resolved: JSON = {}
    if isinstance(target, FakeMessage):
        kind = COMMAND_MESSAGE
        # The target's content is sent even without the Message Content intent (Discord's
        # exemption), and like Discord's example it has no guild_id or member.
        message = world.message_json(target)
        message.pop("guild_id", None)
        message.pop("member", None)
        resolved["messages"] = {str(target.id): message}
    else:
        kind = COMMAND_USER
        _option(world, interaction.guild_id, "target", target, resolved)
    interaction.command_type = kind
    interaction.target_id = target.id
    scope = _scope(world, name, kind, interaction.guild_id)
    data: JSON = {
        "id": str(world.command_id(scope, name, kind)),
        "name": name,
        "type": kind,
        "target_id": str(target.id),
        "resolved": resolved,
    }
    if scope is not None:
        data["guild_id"] = str(scope)
    d["data"] = data
    return interaction


def _find_component(components: list[Any], custom_id: str) -> JSON | None:
    for comp in components:
        if not isinstance(comp, dict):
            continue
        if comp.get("custom_id") == custom_id:
            return comp
        for key in ("components",):
            found = _find_component(comp.get(key) or [], custom_id)
            if found is not None:
                return found
        accessory = comp.get("accessory")
        if isinstance(accessory, dict) and accessory.get("custom_id") == custom_id:
            return accessory
    return None


def component_click(
    world: World,
    message: FakeMessage,
    custom_id: str,
    *,
    user: FakeUser,
    values: list[str] | None,
) -> FakeInteraction:
    component = _find_component(message.components, custom_id)
    if component is None:
        raise LookupError(f"message {message.id} has no component with custom_id {custom_id!r}")
    channel = world.channels[message.channel_id]
    interaction, d = _base(world, INTERACTION_MESSAGE_COMPONENT, user, channel, message.guild_id)
    data: JSON = {"custom_id": custom_id, "component_type": int(component.get("type", 2))}
    if values is not None:
        data["values"] = values
    d["data"] = data
    d["message"] = world.message_json(message)
    interaction.source_message_id = message.id
    return interaction
