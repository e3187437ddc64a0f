"""Gateway resilience: heartbeats, op 7 reconnect → RESUME, dropped connections, op 9."""

from __future__ import annotations

import discord

from tests.discord_fake.conftest import RecordingBot, running
from tests.fakes.discord.gateway import OP_HEARTBEAT, OP_HEARTBEAT_ACK, OP_IDENTIFY, OP_RESUME
from tests.fakes.discord_server import FakeDiscord


class EchoBot(RecordingBot):
    async def on_message(self, message: discord.Message) -> None:
        if not message.author.bot:
            self.note(message=message)


async def test_gateway_heartbeat_is_acked(fake: FakeDiscord) -> None:
    bot = EchoBot(fake)
    async with running(fake, bot):
        assert fake.gateway.received(OP_HEARTBEAT) >= 1
        acks = [r for r in fake.gateway_log if r.direction == "send" and r.op == OP_HEARTBEAT_ACK]
        assert acks


async def test_gateway_reconnect_resumes(fake: FakeDiscord) -> None:
    bot = EchoBot(fake)
    async with running(fake, bot):
        await fake.send_reconnect()
        await bot.until(lambda: "resumed" in bot.events)
        await fake.send_user_message(content="after resume")
        await bot.until(lambda: len(bot.seen) == 1)
    assert fake.gateway.received(OP_IDENTIFY) == 1
    assert fake.gateway.received(OP_RESUME) == 1
    assert fake.gateway.sent_events("RESUMED") == 1
    assert bot.seen[0].content == "after resume"


async def test_gateway_dropped_connection_replays_missed_events(fake: FakeDiscord) -> None:
    bot = EchoBot(fake)
    async with running(fake, bot):
        await fake.disconnect_gateway()
        # Dispatched while the client is away: delivered on RESUME, exactly once.
        await fake.send_user_message(content="while away")
        await bot.until(lambda: "resumed" in bot.events)
        await bot.until(lambda: len(bot.seen) == 1)
        await fake.send_user_message(content="back")
        await bot.until(lambda: len(bot.seen) == 2)
    assert [m.content for m in bot.seen] == ["while away", "back"]
    assert fake.gateway.received(OP_IDENTIFY) == 1


class QuickReidentifyBot(EchoBot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py sleeps 5 s before every non-initial IDENTIFY; this public hook exists to
        # change that, and skipping it keeps the test fast without touching the protocol.
        return None


async def test_gateway_resumable_invalid_session_resumes(fake: FakeDiscord) -> None:
    bot = EchoBot(fake)
    async with running(fake, bot):
        await fake.send_invalid_session(resumable=True)
        await bot.until(lambda: "resumed" in bot.events)
    assert fake.gateway.received(OP_IDENTIFY) == 1
    assert fake.gateway.received(OP_RESUME) == 1


async def test_gateway_invalid_session_reidentifies(fake: FakeDiscord) -> None:
    bot = QuickReidentifyBot(fake)
    async with running(fake, bot):
        await fake.send_invalid_session(resumable=False)
        await bot.until(lambda: bot.events.count("ready") == 2)
        await fake.send_user_message(content="new session")
        await bot.until(lambda: len(bot.seen) == 1)
    assert fake.gateway.received(OP_IDENTIFY) == 2
    assert fake.gateway.received(OP_RESUME) == 0
