"""Fixtures shared with tests/discord_fake (the fake Discord with small windows) and tests/e2e
(the real bot on the fakes)."""

from tests.discord_fake.conftest import fake
from tests.e2e.conftest import app, fakes

__all__ = ["app", "fake", "fakes"]
