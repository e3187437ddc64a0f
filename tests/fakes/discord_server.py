"""Public API of the fake Discord server; the implementation lives in tests/fakes/discord/."""

from tests.fakes.discord.cdn import FakeFile
from tests.fakes.discord.control import OptionValue
from tests.fakes.discord.faults import Fault
from tests.fakes.discord.gateway import GatewayRecord
from tests.fakes.discord.models import (
    COMMAND_CHAT_INPUT,
    COMMAND_MESSAGE,
    COMMAND_USER,
    FLAG_EPHEMERAL,
    FLAG_IS_COMPONENTS_V2,
    FLAG_LOADING,
    INTENT_MESSAGE_CONTENT,
    MESSAGE_CHAT_INPUT_COMMAND,
    MESSAGE_CONTEXT_MENU_COMMAND,
    MESSAGE_DEFAULT,
    MESSAGE_REPLY,
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
from tests.fakes.discord.shards import IdentifyRecord, ShardPlan, shard_of

__all__ = [
    "COMMAND_CHAT_INPUT",
    "COMMAND_MESSAGE",
    "COMMAND_USER",
    "FLAG_EPHEMERAL",
    "FLAG_IS_COMPONENTS_V2",
    "FLAG_LOADING",
    "INTENT_MESSAGE_CONTENT",
    "MESSAGE_CHAT_INPUT_COMMAND",
    "MESSAGE_CONTEXT_MENU_COMMAND",
    "MESSAGE_DEFAULT",
    "MESSAGE_REPLY",
    "BucketLimit",
    "CallRecord",
    "FakeChannel",
    "FakeDiscord",
    "FakeFile",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeMessage",
    "FakeRole",
    "FakeUser",
    "Fault",
    "GatewayRecord",
    "IdentifyRecord",
    "MessageRevision",
    "OptionValue",
    "RateLimitConfig",
    "ShardPlan",
    "shard_of",
]
