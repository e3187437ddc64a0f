"""Wire JSON for the fake Discord, complete enough that discord.py 2.7.1's parsers never KeyError.

Shapes follow Discord's documented objects (user, member, role, channel, thread, guild, message);
a missing required key in a gateway dispatch kills the real client, so builders here always
emit the full set.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.fakes.discord.models import (
    CHANNEL_DM,
    COMMAND_MESSAGE,
    COMMAND_USER,
    JSON,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    iso,
)

ALL_PERMISSIONS = str((1 << 53) - 1)
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


def user(u: FakeUser) -> JSON:
    return {
        "id": str(u.id),
        "username": u.username,
        "discriminator": "0",
        "global_name": u.global_name,
        "avatar": None,
        "bot": u.bot,
        "public_flags": 0,
        "flags": 0,
        "verified": True,
        "mfa_enabled": False,
        "locale": "en-US",
    }


def member(m: FakeMember, *, with_user: bool = True) -> JSON:
    data: JSON = {
        "roles": [str(r) for r in m.role_ids],
        "nick": m.nick,
        "avatar": None,
        "joined_at": iso(m.joined_at),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "communication_disabled_until": None,
    }
    if with_user:
        data["user"] = user(m.user)
    return data


def role(r: FakeRole) -> JSON:
    return {
        "id": str(r.id),
        "name": r.name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": r.position,
        "permissions": str(r.permissions),
        "managed": False,
        "mentionable": r.mentionable,
        "flags": 0,
    }


def channel(c: FakeChannel, users: dict[int, FakeUser]) -> JSON:
    if c.type == CHANNEL_DM:
        return {
            "id": str(c.id),
            "type": CHANNEL_DM,
            "last_message_id": _opt_id(c.last_message_id),
            "recipients": [user(users[r]) for r in c.recipient_ids if r in users],
        }
    if c.is_thread:
        return thread(c)
    return {
        "id": str(c.id),
        "type": c.type,
        "guild_id": str(c.guild_id),
        "name": c.name,
        "position": c.position,
        "parent_id": _opt_id(c.parent_id),
        "topic": c.topic,
        "nsfw": False,
        "rate_limit_per_user": c.rate_limit_per_user,
        "permission_overwrites": [],
        "last_message_id": _opt_id(c.last_message_id),
        "default_auto_archive_duration": 1440,
        "flags": 0,
    }


def thread(c: FakeChannel, *, newly_created: bool = False) -> JSON:
    archive_at = c.created_at + timedelta(minutes=c.auto_archive_duration)
    data: JSON = {
        "id": str(c.id),
        "type": c.type,
        "guild_id": str(c.guild_id),
        "parent_id": str(c.parent_id),
        "owner_id": str(c.owner_id),
        "name": c.name,
        "last_message_id": _opt_id(c.last_message_id),
        "rate_limit_per_user": c.rate_limit_per_user,
        "message_count": c.message_count,
        "total_message_sent": c.message_count,
        "member_count": 1,
        "flags": 0,
        "thread_metadata": {
            "archived": c.archived,
            "auto_archive_duration": c.auto_archive_duration,
            "archive_timestamp": iso(archive_at),
            "locked": c.locked,
            "invitable": c.invitable,
            "create_timestamp": iso(c.created_at),
        },
        "member": {
            "id": str(c.id),
            "user_id": str(c.owner_id),
            "join_timestamp": iso(c.created_at),
            "flags": 1,
        },
    }
    if newly_created:
        data["newly_created"] = True
    return data


def guild(g: FakeGuild, channels: list[FakeChannel], users: dict[int, FakeUser]) -> JSON:
    text = [c for c in channels if not c.is_thread]
    threads = [c for c in channels if c.is_thread and not c.archived]
    return {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "owner_id": str(g.owner_id),
        "region": "us-east",
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "vanity_url_code": None,
        "description": None,
        "banner": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "max_members": 500000,
        "features": [],
        "emojis": [],
        "stickers": [],
        "roles": [role(r) for r in g.roles],
        "channels": [channel(c, users) for c in text],
        "threads": [thread(c) for c in threads],
        "members": [member(m) for m in g.members.values()],
        # Equal to len(members) so discord.py does not try to chunk the guild.
        "member_count": len(g.members),
        "large": False,
        "unavailable": False,
        "joined_at": iso(next(iter(g.members.values())).joined_at) if g.members else None,
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "application_id": None,
        "lazy": True,
    }


def message(
    m: FakeMessage,
    *,
    users: dict[int, FakeUser],
    member_of_author: FakeMember | None,
    thread_channel: FakeChannel | None = None,
    interaction: FakeInteraction | None = None,
    blank_content: bool = False,
) -> JSON:
    data: JSON = {
        "id": str(m.id),
        "type": m.type,
        "channel_id": str(m.channel_id),
        "author": user(m.author),
        "content": "" if blank_content else m.content,
        "timestamp": iso(m.created_at),
        "edited_timestamp": iso(m.edited_at) if m.edited_at else None,
        "tts": m.tts,
        "mention_everyone": m.mention_everyone,
        "mentions": [user(users[i]) for i in m.mention_ids if i in users],
        "mention_roles": [],
        "attachments": [] if blank_content else list(m.attachments),
        "embeds": [] if blank_content else [_embed_out(e) for e in m.embeds],
        "components": [] if blank_content else list(m.components),
        "reactions": _reactions(m.reactions),
        "pinned": False,
        "flags": m.flags,
        "nonce": m.nonce,
    }
    if m.guild_id is not None:
        data["guild_id"] = str(m.guild_id)
        if member_of_author is not None:
            data["member"] = member(member_of_author, with_user=False)
    if m.webhook_id is not None:
        data["webhook_id"] = str(m.webhook_id)
    if m.application_id is not None:
        data["application_id"] = str(m.application_id)
    if m.message_reference is not None:
        data["message_reference"] = m.message_reference
    if thread_channel is not None:
        data["thread"] = thread(thread_channel)
    if interaction is not None:
        data["interaction_metadata"] = _interaction_metadata(interaction, users)
    return data


def _interaction_metadata(i: FakeInteraction, users: dict[int, FakeUser]) -> JSON:
    meta: JSON = {
        "id": str(i.id),
        "type": i.type,
        "user": user(i.user),
        "authorizing_integration_owners": _owners(i),
    }
    # Context menus name what they were used on (the response also replies to a message).
    if i.command_type == COMMAND_MESSAGE and i.target_id is not None:
        meta["target_message_id"] = str(i.target_id)
    if i.command_type == COMMAND_USER and i.target_id in users:
        meta["target_user"] = user(users[i.target_id])
    return meta


def blank(data: JSON) -> JSON:
    """A message as a reader without the Message Content intent gets it: content fields empty."""
    out = dict(data)
    out.update(content="", embeds=[], attachments=[], components=[])
    out.pop("poll", None)
    return out


def interaction(i: FakeInteraction) -> JSON:
    """The `interaction` half of an interaction callback response."""
    data: JSON = {"id": str(i.id), "type": i.type}
    if i.original_message_id is not None and i.response_type in (4, 5):
        data["response_message_id"] = str(i.original_message_id)
        data["response_message_loading"] = i.response_type == 5
        data["response_message_ephemeral"] = i.ephemeral
    return data


def _owners(i: FakeInteraction) -> JSON:
    if i.guild_id is not None:
        return {"0": str(i.guild_id)}
    return {"1": str(i.user.id)}


def _embed_out(embed: JSON) -> JSON:
    out = dict(embed)
    out.setdefault("type", "rich")
    return out


def _reactions(emojis: list[str]) -> list[JSON]:
    counts: dict[str, int] = {}
    for e in emojis:
        counts[e] = counts.get(e, 0) + 1
    return [
        {
            "count": n,
            "count_details": {"burst": 0, "normal": n},
            "me": True,
            "me_burst": False,
            "burst_colors": [],
            "emoji": {"id": None, "name": e},
        }
        for e, n in counts.items()
    ]


def _opt_id(value: int | None) -> str | None:
    return None if value is None else str(value)


def application(app_id: int, bot: FakeUser, owner: FakeUser) -> JSON:
    return {
        "id": str(app_id),
        "name": bot.username,
        "icon": None,
        "description": "Fake application",
        "summary": "",
        "type": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": user(owner),
        "team": None,
        "verify_key": "0" * 64,
        "flags": 0,
        "hook": True,
        "interactions_endpoint_url": None,
        "tags": [],
        "redirect_uris": [],
        "rpc_origins": [],
        "bot": user(bot),
    }


def error(code: int, message: str, errors: Any = None) -> JSON:
    body: JSON = {"message": message, "code": code}
    if errors:
        body["errors"] = errors
    return body
