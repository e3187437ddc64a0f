"""Public API of the fake Discord server; the implementation lives in tests/fakes/discord/."""

from tests.fakes.discord.control import OptionValue
from tests.fakes.discord.gateway import GatewayRecord
from tests.fakes.discord.models import (
    FLAG_EPHEMERAL,
    FLAG_IS_COMPONENTS_V2,
    FLAG_LOADING,
    INTENT_MESSAGE_CONTENT,
    CallRecord,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    MessageRevision,
)
from tests.fakes.discord.ratelimit import BucketLimit, RateLimitConfig
from tests.fakes.discord.server import FakeDiscord

__all__ = [
    "FLAG_EPHEMERAL",
    "FLAG_IS_COMPONENTS_V2",
    "FLAG_LOADING",
    "INTENT_MESSAGE_CONTENT",
    "BucketLimit",
    "CallRecord",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeMessage",
    "FakeRole",
    "FakeUser",
    "GatewayRecord",
    "MessageRevision",
    "OptionValue",
    "RateLimitConfig",
]
