"""/usage-report end to end: the embed, the CSV (read back against the ledger), the PNG chart,
names resolved through Discord, and nothing of another server ever shown."""

from __future__ import annotations

import asyncio
import csv
import io
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass

import discord
import pytest

from bot.storage.database import Database
from tests.e2e.conftest import Running
from tests.e2e.test_billing_commands import (
    MEMBER,
    billing,
    guild_id,
    invoke,
    record,
    set_price,
    text_of,
)
from tests.fakes.discord_server import FakeChannel, FakeMessage, FakeUser

__all__ = ["billing"]  # the fixture, shared with test_billing_commands.py

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SECRET_MODEL = "secret-model-of-guild-b"


@dataclass
class World:
    app: Running
    alice: FakeUser
    bob: FakeUser
    gone: FakeUser  # no longer a member: named from their account
    general: FakeChannel
    random: FakeChannel
    other_guild: int
    other_channel: FakeChannel
    stranger: FakeUser  # only in the other guild


@pytest.fixture
async def world(billing: Running) -> AsyncIterator[World]:
    """Usage in two guilds: A (the default) and B, with some members shared."""
    app, fake = billing, billing.fake
    assert fake.user is not None and fake.channel is not None
    a = guild_id(app)
    bob = fake.add_member(a, "bob").user
    gone = fake.add_user("gone-member")
    random = fake.add_text_channel(a, "random")
    joined = asyncio.Event()

    async def arrived(guild: discord.Guild) -> None:
        joined.set()

    # A guild added after READY arrives as GUILD_CREATE with `unavailable: false`.
    app.bot.add_listener(arrived, "on_guild_join")
    app.bot.add_listener(arrived, "on_guild_available")
    other = fake.add_guild("Guild B")
    other_channel = fake.add_text_channel(other.id, "b-secret-channel")
    stranger = fake.add_member(other.id, "b-stranger").user
    fake.add_member(other.id, fake.user)
    await set_price(app)
    await set_price(app, SECRET_MODEL, input=5.0, output=5.0)
    calls = [
        (a, fake.user, fake.channel, "fake-model", 1000, 200, 100, 50),
        (a, fake.user, random, "fake-model", 3000, 100, 0, 0),
        (a, bob, fake.channel, "unpriced-model", 500, 500, 0, 100),
        (a, bob, fake.channel, "fake-model", 10, 10, 0, 0),
        (a, gone, random, "fake-model", 7, 3, 0, 0),
        (other.id, fake.user, other_channel, SECRET_MODEL, 99_999, 99_999, 0, 0),
        (other.id, stranger, other_channel, SECRET_MODEL, 77_777, 1, 0, 0),
    ]
    for guild, user, channel, model, prompt, completion, cached, reasoning in calls:
        await record(
            app, guild_id=guild, user_id=user.id, channel_id=channel.id, model=model,
            prompt=prompt, completion=completion, cached=cached, reasoning=reasoning,
        )  # fmt: skip
    # The bot must know guild B before anyone uses a command there.
    await asyncio.wait_for(joined.wait(), 5)
    yield World(app, fake.user, bob, gone, fake.channel, random, other.id, other_channel, stranger)


async def report(app: Running, **options: str) -> FakeMessage:
    message = await invoke(app, "usage-report", options or None)
    assert message.ephemeral
    return message


def csv_rows(message: FakeMessage) -> list[list[str]]:
    [attachment] = message.attachments
    data = message.files[attachment["filename"]]
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


async def ledger_groups(db: Database, guild: int, column: str) -> dict[str, list[str]]:
    """What the ledger itself says, per group, in the CSV's count columns."""
    sql = f"""
        SELECT {column} AS k, COUNT(*), SUM(prompt_tokens), SUM(cached_tokens),
               SUM(completion_tokens), SUM(reasoning_tokens), SUM(cost_micros)
        FROM usage_ledger WHERE guild_id = ? GROUP BY {column}
    """
    async with db.reading() as conn:
        rows = await conn.execute_fetchall(sql, (guild,))
    groups = {}
    for key, *counts, cost in rows:
        money = "" if cost is None else f"{cost // 1_000_000}.{cost % 1_000_000:06d}"
        groups[str(key)] = [str(c) for c in counts] + [money]
    return groups


async def test_usage_report_table_is_an_embed_of_this_guild(world: World) -> None:
    message = await report(world.app)
    [embed] = message.embeds
    assert embed["title"] == "Usage report — Test Guild"
    assert "Last 30 days" in embed["description"]
    names = [f["name"] for f in embed["fields"]]
    # alice's $1.40 + $3.20 ranks first; bob's priced call costs $0.03; gone's $0.013.
    assert names == ["1. alice", "2. bob", "3. gone-member"]
    assert "1 call without a price" in embed["fields"][1]["value"]
    assert embed["footer"]["text"].startswith("Total $4.64 · 5 calls")
    text = str(embed)
    assert SECRET_MODEL not in text and "b-stranger" not in text and "99,999" not in text


async def test_usage_report_csv_reads_back_as_the_ledger(world: World) -> None:
    db = world.app.bot.services.db
    for group_by, column in [("user", "user_id"), ("model", "model"), ("channel", "channel_id")]:
        message = await report(world.app, group_by=group_by, format="csv")
        [attachment] = message.attachments
        assert attachment["filename"] == f"usage-{guild_id(world.app)}-30d-{group_by}.csv"
        rows = csv_rows(message)
        header, body = rows[0], rows[1:]
        assert header[-6:] == [
            "calls",
            "prompt_tokens",
            "cached_tokens",
            "completion_tokens",
            "reasoning_tokens",
            "cost_usd",
        ]
        keys = len(header) - 6
        got = {row[0]: row[keys:] for row in body}
        expected = await ledger_groups(db, guild_id(world.app), column)
        if group_by == "model":
            # unpriced-model has no price: empty cost; fake-model's bob call is priced.
            assert got["unpriced-model"][-1] == ""
        assert got == expected, group_by


async def test_usage_report_csv_names_members_and_channels(world: World) -> None:
    users = csv_rows(await report(world.app, format="csv"))
    assert users[0][:2] == ["user_id", "user_name"]
    named = {row[0]: row[1] for row in users[1:]}
    assert named == {
        str(world.alice.id): "alice",
        str(world.bob.id): "bob",
        str(world.gone.id): "gone-member",
    }
    channels = csv_rows(await report(world.app, group_by="channel", format="csv"))
    assert channels[0][:2] == ["channel_id", "channel_name"]
    assert {row[1] for row in channels[1:]} == {"general", "random"}
    days = csv_rows(await report(world.app, group_by="day", format="csv"))
    assert days[0][0] == "day" and len(days) == 2 and len(days[1][0]) == len("2026-11-21")


async def test_usage_report_chart_is_a_png(world: World) -> None:
    message = await report(world.app, format="chart", period="7d")
    [attachment] = message.attachments
    assert attachment["filename"] == f"usage-{guild_id(world.app)}-7d-user.png"
    png = message.files[attachment["filename"]]
    assert png.startswith(PNG_SIGNATURE)
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert width > 100 and height > 100
    assert png.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82")


async def test_usage_report_never_shows_another_guild(world: World) -> None:
    app = world.app
    for group_by in ("user", "model", "channel", "day"):
        for period in ("today", "all"):
            message = await report(app, group_by=group_by, period=period, format="csv")
            data = message.files[message.attachments[0]["filename"]].decode()
            for leak in (SECRET_MODEL, "b-secret-channel", "b-stranger", str(world.stranger.id)):
                assert leak not in data, (group_by, period, leak)
            # Guild B's token counts: no cell holds them (a substring check would also hit
            # a snowflake id that happens to contain the digits).
            cells = {cell for row in csv.reader(io.StringIO(data)) for cell in row}
            assert not cells & {"99999", "77777"}
            table = str((await report(app, group_by=group_by, period=period)).embeds)
            assert SECRET_MODEL not in table and "b-stranger" not in table
            assert "b-secret-channel" not in table and "99,999" not in table
    # Guild B's own report sees only guild B.
    b = await invoke(app, "usage-report", {"format": "csv"}, channel_id=world.other_channel.id)
    rows = csv_rows(b)
    assert {row[0] for row in rows[1:]} == {str(world.alice.id), str(world.stranger.id)}
    assert {row[1] for row in rows[1:]} == {"alice", "b-stranger"}


async def test_usage_counts_only_this_guild(world: World) -> None:
    text = await text_of(world.app, "usage")
    # alice in guild A: 1000 + 3000 prompt tokens (100 cached), 300 completion (50 reasoning).
    assert "**Tokens** 4,000 in (100 cached) · 300 out (50 reasoning) · 2 calls" in text
    assert "**Cost** $4.60" in text  # 4000 x $1,000/M + 300 x $2,000/M
    other = await text_of(world.app, "usage", channel_id=world.other_channel.id)
    assert "**Tokens** 99,999 in (0 cached) · 99,999 out (0 reasoning) · 1 call" in other
    assert "Your usage in Guild B" in other


async def test_usage_report_member_sees_only_refusal(world: World) -> None:
    message = await invoke(
        world.app, "usage-report", {"format": "csv"}, user=world.bob, permissions=MEMBER.value
    )
    assert message.ephemeral and not message.attachments and not message.embeds
    assert "Manage Server" in message.content
