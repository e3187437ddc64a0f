"""Slash commands synced only when they changed, asking Discord what it has.

Every start used to PUT the whole command list; with several processes (and rolling deploys)
that is one bulk overwrite per process per start, and Discord limits command creation per
day. Now the process that runs shard 0 reads the commands Discord has (one GET), compares
them with the tree's payload, and PUTs only when they differ. Nothing is stored on our side:
Discord's list is the truth, so a deploy that changes a command syncs it once, whichever
process starts first with shard 0.

Discord answers with every field filled in (ids, versions, defaults we never sent), so the
comparison looks at what we send: each field of our payload must match Discord's value, and
an empty value (None, False, "", [], {}) matches a missing one.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

log = logging.getLogger(__name__)


def tree_payload(tree: app_commands.CommandTree[Any], guild: discord.Object | None) -> list[Any]:
    """What `tree.sync(guild=guild)` would PUT."""
    return [command.to_dict(tree) for command in tree.get_commands(guild=guild)]


def matches(ours: Any, theirs: Any) -> bool:
    """Whether Discord's value `theirs` is what we sent as `ours` (see the module docstring)."""
    if _empty(ours) and _empty(theirs):
        return True
    if isinstance(ours, dict):
        if not isinstance(theirs, dict):
            return False
        return all(matches(value, theirs.get(key)) for key, value in ours.items())
    if isinstance(ours, list):
        if not isinstance(theirs, list) or len(ours) != len(theirs):
            return False
        return all(matches(a, b) for a, b in zip(ours, theirs, strict=True))
    if isinstance(ours, int) and isinstance(theirs, str) and not isinstance(ours, bool):
        return str(ours) == theirs  # permissions and ids travel as strings
    return bool(ours == theirs)


def _empty(value: Any) -> bool:
    # Not 0: a zero (a minimum value, say) is a value.
    return value is None or value is False or (isinstance(value, str | list | dict) and not value)


def _key(command: dict[str, Any]) -> tuple[str, int]:
    return str(command.get("name")), int(command.get("type") or 1)


def unchanged(ours: list[Any], theirs: list[Any]) -> bool:
    """The same commands (by name and type), each matching what we would send."""
    by_key = {_key(command): command for command in theirs}
    if len(by_key) != len(theirs) or {_key(c) for c in ours} != set(by_key):
        return False
    return all(matches(command, by_key[_key(command)]) for command in ours)


async def sync_if_changed(
    client: discord.Client, tree: app_commands.CommandTree[Any], guild: discord.Object | None
) -> bool:
    """PUT the tree's commands (globally, or to `guild`) unless Discord already has them.
    Returns True when it synced."""
    app_id = client.application_id
    assert app_id is not None, "called after login"
    if guild is None:
        theirs = await client.http.get_global_commands(app_id)
    else:
        theirs = await client.http.get_guild_commands(app_id, guild.id)
    where = "globally" if guild is None else f"to guild {guild.id}"
    if unchanged(tree_payload(tree, guild), list(theirs)):
        log.info("slash commands unchanged %s: not synced", where)
        return False
    synced = await tree.sync(guild=guild)
    late = " (may take up to an hour)" if guild is None else ""
    log.info("synced %d slash commands %s%s", len(synced), where, late)
    return True
