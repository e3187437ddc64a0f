"""Point the unmodified discord.py client at a FakeDiscord.

discord.py has no per-client option for its endpoints: `Route.BASE` (REST) and
`DiscordWebSocket.DEFAULT_GATEWAY` are class attributes, i.e. process-global.
`pointed_at` sets both and restores the previous values on exit, so tests do not leak them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import discord.gateway
import discord.http
import yarl


class _HasEndpoints(Protocol):
    @property
    def api_base(self) -> str: ...

    @property
    def gateway_url(self) -> str: ...


def env_for(fake: _HasEndpoints) -> dict[str, str]:
    """Settings environment for running the real bot against `fake`."""
    return {"DISCORD_API_BASE": fake.api_base, "DISCORD_GATEWAY_URL": fake.gateway_url}


@contextmanager
def pointed_at(fake: _HasEndpoints) -> Iterator[None]:
    """Route every discord.py REST call and gateway connection to `fake` while inside."""
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = fake.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
