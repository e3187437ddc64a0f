"""Fixtures shared with tests/discord_fake (the fake Discord with small windows)."""

from tests.discord_fake.conftest import fake

__all__ = ["fake"]
