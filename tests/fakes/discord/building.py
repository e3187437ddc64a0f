"""World-building half of the control API: users, guilds, roles, text channels, members, DMs.

Changes made after a client connected reach it as the gateway events Discord would send.
"""

from __future__ import annotations

from tests.fakes.discord import payloads
from tests.fakes.discord.models import (
    CHANNEL_GUILD_TEXT,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
)
from tests.fakes.discord.state import World

# Permissions of @everyone in a new guild: everything but administrator.
_EVERYONE_PERMISSIONS = ((1 << 53) - 1) & ~(1 << 3)


class WorldBuilder:
    world: World

    def add_user(self, username: str, *, bot: bool = False) -> FakeUser:
        return self.world.add_user(username, bot=bot)

    def add_guild(
        self, name: str, *, owner: FakeUser | None = None, shard: tuple[int, int] | None = None
    ) -> FakeGuild:
        """A new guild; `shard` (id, count) picks an id whose events go to that shard."""
        w = self.world
        guild_id = w.ids.next() if shard is None else w.ids.next_on_shard(*shard)
        everyone = FakeRole(guild_id, "@everyone", permissions=_EVERYONE_PERMISSIONS)
        guild = FakeGuild(guild_id, name, owner_id=(owner or w.owner).id, roles=[everyone])
        guild.members[w.bot.id] = FakeMember(w.bot)
        w.guilds[guild_id] = guild
        if owner is not None:
            guild.members[owner.id] = FakeMember(owner)
        self._guild_changed(guild)
        return guild

    def _guild_changed(self, guild: FakeGuild) -> None:
        # A guild added after READY reaches connected clients as GUILD_CREATE (a join).
        channels = self.world.guild_channels(guild.id)
        self.world.dispatch(
            "GUILD_CREATE", payloads.guild(guild, channels, self.world.users), False
        )

    def add_role(self, guild_id: int, name: str, *, permissions: int = 0) -> FakeRole:
        guild = self.world.guilds[guild_id]
        role = FakeRole(
            self.world.ids.next(), name, permissions=permissions, position=len(guild.roles)
        )
        guild.roles.append(role)
        self._guild_changed(guild)
        return role

    def add_text_channel(
        self, guild_id: int, name: str, *, topic: str | None = None
    ) -> FakeChannel:
        guild = self.world.guilds[guild_id]
        position = len(guild.channel_ids)
        channel = FakeChannel(
            self.world.ids.next(),
            CHANNEL_GUILD_TEXT,
            name,
            guild_id,
            position=position,
            topic=topic,
        )
        self.world.channels[channel.id] = channel
        guild.channel_ids.append(channel.id)
        self.world.dispatch("CHANNEL_CREATE", payloads.channel(channel, self.world.users), False)
        return channel

    def add_member(
        self, guild_id: int, user: FakeUser | str, *, roles: list[FakeRole] | None = None
    ) -> FakeMember:
        if isinstance(user, str):
            user = self.world.add_user(user)
        self.world.users[user.id] = user
        member = FakeMember(user, role_ids=[r.id for r in roles or []])
        self.world.guilds[guild_id].members[user.id] = member
        data = {**payloads.member(member), "guild_id": str(guild_id)}
        self.world.dispatch("GUILD_MEMBER_ADD", data, False)
        return member

    def add_dm_channel(self, user: FakeUser) -> FakeChannel:
        """The DM channel between the bot and `user` (created on first use)."""
        return self.world.dm_channel(user.id)
