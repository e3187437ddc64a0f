"""A process starting beside a live one leaves that one's work alone (a rolling deploy, or
a second shard process started late), on a SQLite file and on PostgreSQL.

Process 0 (shard 0) is mid-answer, its model call holding part of a server budget, when
process 1 (shard 1) starts and runs its start-up recovery. Before owners, that recovery
marked every streaming answer interrupted and dropped every hold: here process 0's answer
stays streaming, its hold stays until its call is settled, and the answer then finishes
normally, billed once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.storage.budgets import BudgetRepository
from bot.storage.database import Database
from bot.storage.owners import heartbeats
from bot.storage.prices import PriceRepository
from bot.storage.reservations import Reservation, ReservationRepository
from tests.fakes.llm_scripts import Scripted, stall, text_reply
from tests.polling import poll
from tests.sharding.test_processes import answer_in, env_for_shard, sharded_world, spawn_bot

WORDS = "answer from model-zero, taking its time"


async def seed_budget(target: Path | str, guild_id: int) -> None:
    """A server budget and a price, so every model call holds part of the budget."""
    async with Database.open(target) as db:
        await BudgetRepository(db).set(guild_id, None, "day", 10_000_000, updated_by=1)
        await PriceRepository(db).set("model-zero", 1_000_000, 2_000_000, None, updated_by=1)


async def answers_and_holds(target: Path | str) -> tuple[list[str], list[Reservation], int]:
    """Every answer's status, the open holds, and how many calls the ledger has."""
    async with Database.open(target) as db, db.reading() as conn:
        rows = await conn.execute_fetchall(
            "SELECT status FROM messages WHERE role = 'assistant' ORDER BY id"
        )
        calls = int(await conn.scalar("SELECT COUNT(*) FROM usage_ledger"))
    async with Database.open(target) as db:
        holds = await ReservationRepository(db).all()
    return [str(r[0]) for r in rows], holds, calls


async def owner_of_shard(target: Path | str, shards: str) -> str:
    async with Database.open(target) as db:
        [beat] = [b for b in await heartbeats(db) if b.shard_ids == shards]
    return beat.owner


async def test_a_starting_process_leaves_a_live_siblings_answer_and_hold_alone(
    tmp_path: Path, database_url: str
) -> None:
    database, url = tmp_path / "switchboard.db", database_url
    target: Path | str = url or database
    async with sharded_world() as (fake, llm):
        guild_zero = next(iter(fake.world.guilds.values()))
        await seed_budget(target, guild_zero.id)
        asked, release = asyncio.Event(), asyncio.Event()

        def respond(body: dict[str, Any]) -> Scripted:
            asked.set()
            # A few words, then nothing until the test says so: the answer streams on.
            return stall(text_reply(WORDS, chunk_size=6), after=3, until=release)

        llm.responder = respond
        zero = await spawn_bot(env_for_shard(fake, llm, database, 0, url), tmp_path)
        one = None
        try:
            alice = fake.user
            assert alice is not None
            question = await fake.send_user_message(
                guild_zero.channel_ids[0], alice, f"<@{fake.bot_user.id}> hello", mentions_bot=True
            )
            await asyncio.wait_for(asked.wait(), 15)
            statuses, holds, calls = await answers_and_holds(target)
            assert (statuses, len(holds), calls) == (["streaming"], 1, 0)
            zero_owner = await owner_of_shard(target, "0")
            assert holds[0].owner == zero_owner

            # Process 1 starts; its start-up recovery has run once it is connected.
            one = await spawn_bot(env_for_shard(fake, llm, database, 1, url), tmp_path)
            assert await answers_and_holds(target) == (statuses, holds, 0)
            assert not any("interrupted" in line for line in one.log), "".join(one.log)

            release.set()
            shown = await answer_in(fake, question.id)
            assert WORDS in shown.content
            assert "Interrupted" not in shown.content
            # The last edit can reach Discord just before the answer's row is closed.
            final, holds_after, calls_after = await poll(
                lambda: answers_and_holds(target),
                lambda found: found[0] != ["streaming"],
                within_s=10,
            )
            assert (final, holds_after, calls_after) == (["complete"], [], 1)
        finally:
            release.set()
            await asyncio.gather(zero.stop(), *([one.stop()] if one is not None else []))
