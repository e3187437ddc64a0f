"""Owners and heartbeats, on both engines: two "processes" are two `Database` objects on the
same SQLite file or PostgreSQL database, each with its own owner. Recovery takes what a dead
owner left (stale heartbeat, or none) and never a live sibling's answers or holds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.storage.conversations import ConversationRepository
from bot.storage.database import Database
from bot.storage.jobs import run_if_due
from bot.storage.messages import MessageRepository, NewStep
from bot.storage.owners import (
    STALE_AFTER_MS,
    Heartbeats,
    ProcessOwner,
    forget_dead,
    heartbeats,
)
from bot.storage.reservations import ReservationRepository
from bot.storage.retention import retention_if_due
from bot.storage.sql import Conn
from tests.storage.helpers import new_thread


@dataclass
class Proc:
    """One process run: its database handle, owner and repositories."""

    db: Database
    owner: ProcessOwner
    beats: Heartbeats
    messages: MessageRepository
    holds: ReservationRepository


@asynccontextmanager
async def process(target: Path | str, shards: list[int] | None = None) -> AsyncIterator[Proc]:
    owner = ProcessOwner.new(shards)
    async with Database.open(target) as db:
        beats = Heartbeats(db, owner)
        await beats.register()
        yield Proc(
            db,
            owner,
            beats,
            MessageRepository(db, owner=owner.id),
            ReservationRepository(db, owner=owner.id),
        )


async def age_heartbeat(db: Database, owner: ProcessOwner, ms: int) -> None:
    """Make `owner`'s last beat `ms` older, as if it had stopped beating that long ago."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE process_heartbeats SET beat_at = beat_at - ? WHERE owner = ?", (ms, owner.id)
        )


async def owner_of(db: Database, table: str, row_id: int) -> str | None:
    async with db.reading() as conn:
        value = await conn.scalar(f"SELECT owner FROM {table} WHERE id = ?", (row_id,))
    return None if value is None else str(value)


async def test_answers_and_holds_carry_their_owner(db_target: Path | str) -> None:
    async with process(db_target, [0, 1]) as one:
        thread = await new_thread(ConversationRepository(one.db))
        question = await one.messages.add_user_message(thread.id, "hi", 5, "Ann", None)
        answer = await one.messages.start_answer(thread.id, "m", question.id)
        await one.holds.hold("call-1", 1, 5, 100, 0)

        assert await owner_of(one.db, "messages", answer.id) == one.owner.id
        assert await owner_of(one.db, "messages", question.id) is None  # not streamed
        [held] = await one.holds.all()
        assert held.owner == one.owner.id
        [beat] = await heartbeats(one.db)
        assert (beat.owner, beat.pid, beat.host) == (one.owner.id, one.owner.pid, one.owner.host)
        assert beat.shard_ids == "0,1"


async def test_a_starting_process_never_recovers_a_live_siblings_work(
    db_target: Path | str,
) -> None:
    async with process(db_target) as one:
        thread = await new_thread(ConversationRepository(one.db))
        streaming = await one.messages.start_answer(thread.id, "m", None)
        await one.holds.hold("one-call", 1, 5, 100, 0)
        async with process(db_target) as two:
            # Two's start-up: nothing of one's is taken, though it streams.
            assert await two.messages.interrupt_orphaned(unowned=True) == []
            assert await two.holds.release_orphaned(unowned=True) == 0
            # Still a live sibling a little before the threshold.
            await age_heartbeat(one.db, one.owner, STALE_AFTER_MS - 5_000)
            assert await two.messages.interrupt_orphaned(unowned=False) == []
            assert await two.holds.release_orphaned(unowned=False) == 0

        still = await one.messages.get(streaming.id)
        assert still is not None and still.status == "streaming"
        await one.messages.finish_answer(streaming.id, "complete", "all of it")
        assert [h.call_key for h in await one.holds.all()] == ["one-call"]


async def test_a_stale_owners_answers_and_holds_are_recovered_once(
    db_target: Path | str,
) -> None:
    async with process(db_target) as dead, process(db_target) as live:
        thread = await new_thread(ConversationRepository(dead.db))
        cut = await dead.messages.start_answer(thread.id, "m", None)
        await dead.messages.append_steps(cut.id, [NewStep(0, "text", "half an ans")])
        mine = await live.messages.start_answer(thread.id, "m", None)
        await dead.holds.hold("dead-call", 1, 5, 100, 0)
        await live.holds.hold("live-call", 1, 5, 100, 0)
        await age_heartbeat(dead.db, dead.owner, STALE_AFTER_MS + 1_000)

        # The periodic sweep (no owner-less rows) of the live process, twice at once.
        first, second = await asyncio.gather(
            live.messages.interrupt_orphaned(unowned=False),
            live.messages.interrupt_orphaned(unowned=False),
        )
        recovered = first + second
        assert [m.id for m in recovered] == [cut.id]
        assert recovered[0].status == "interrupted" and recovered[0].content == "half an ans"
        assert await live.holds.release_orphaned(unowned=False) == 1
        assert [h.call_key for h in await live.holds.all()] == ["live-call"]
        kept = await live.messages.get(mine.id)
        assert kept is not None and kept.status == "streaming"


async def test_an_owner_without_a_heartbeat_row_is_dead(db_target: Path | str) -> None:
    async with process(db_target) as gone, process(db_target) as live:
        thread = await new_thread(ConversationRepository(gone.db))
        cut = await gone.messages.start_answer(thread.id, "m", None)
        await gone.holds.hold("gone-call", 1, 5, 100, 0)
        await gone.beats.deregister()

        assert [m.id for m in await live.messages.interrupt_orphaned(unowned=False)] == [cut.id]
        assert await live.holds.release_orphaned(unowned=False) == 1


async def test_rows_without_owner_are_recovered_at_start_only(db_target: Path | str) -> None:
    async with process(db_target) as live:
        # Written before owners existed (or by a repository given no owner).
        unowned = MessageRepository(live.db)
        thread = await new_thread(ConversationRepository(live.db))
        old = await unowned.start_answer(thread.id, "m", None)
        await ReservationRepository(live.db).hold("old-call", 1, 5, 100, 0)

        assert await live.messages.interrupt_orphaned(unowned=False) == []
        assert await live.holds.release_orphaned(unowned=False) == 0
        assert [m.id for m in await live.messages.interrupt_orphaned(unowned=True)] == [old.id]
        assert await live.holds.release_orphaned(unowned=True) == 1


async def test_heartbeat_beats_in_the_background_and_deregisters(db_target: Path | str) -> None:
    owner = ProcessOwner.new()
    async with Database.open(db_target) as db:
        async with Heartbeats.running(db, owner, every_s=0.05):
            [first] = await heartbeats(db)
            await age_heartbeat(db, owner, 60_000)
            await asyncio.sleep(0.3)
            [later] = await heartbeats(db)
            # Beaten again since it was aged: fresh by the database's clock.
            assert later.beat_at_ms > first.beat_at_ms - 60_000 + 100
            assert later.started_at_ms == first.started_at_ms
        assert await heartbeats(db) == []


async def test_a_beat_after_being_taken_for_dead_registers_again(db_target: Path | str) -> None:
    async with process(db_target) as paused, process(db_target) as sibling:
        assert await paused.beats.beat()
        await age_heartbeat(paused.db, paused.owner, STALE_AFTER_MS + 1_000)
        assert await forget_dead(sibling.db) == 1
        assert [b.owner for b in await heartbeats(sibling.db)] == [sibling.owner.id]

        assert not await paused.beats.beat()  # the row was gone: registered again
        assert await paused.beats.beat()
        owners = {b.owner for b in await heartbeats(sibling.db)}
        assert owners == {paused.owner.id, sibling.owner.id}


async def test_retention_runs_once_across_processes(db_target: Path | str) -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    async with AsyncExitStack() as stack:
        one = await stack.enter_async_context(process(db_target))
        two = await stack.enter_async_context(process(db_target))
        ran = await asyncio.gather(
            retention_if_due(one.db, 30, now, owner=one.owner.id),
            retention_if_due(two.db, 30, now, owner=two.owner.id),
        )
        assert sum(result is not None for result in ran) == 1
        # Asked again by either, within the interval: not run.
        assert await retention_if_due(one.db, 30, now, owner=one.owner.id) is None
        assert await retention_if_due(two.db, 30, now, owner=two.owner.id) is None
        async with one.db.reading() as conn:
            row = await conn.fetchone("SELECT run_by FROM periodic_jobs WHERE name = 'retention'")
        assert row is not None
        assert row[0] == (one.owner.id if ran[0] is not None else two.owner.id)
        # Once the interval has passed, it runs again (here: an interval of 0).
        assert await retention_if_due(two.db, 30, now, every_ms=0) is not None


async def test_a_failed_job_run_gives_its_turn_back(db_target: Path | str) -> None:
    async with Database.open(db_target) as db:

        async def fail(conn: Conn) -> None:
            await conn.execute("DELETE FROM messages")
            raise RuntimeError("the job broke")

        async def succeed(conn: Conn) -> str:
            return "done"

        with pytest.raises(RuntimeError):
            await run_if_due(db, "job", 3_600_000, fail)
        assert await run_if_due(db, "job", 3_600_000, succeed) == (True, "done")
        assert await run_if_due(db, "job", 3_600_000, succeed) == (False, None)


async def test_taking_over_a_shard_retires_the_run_that_held_it(
    db_target: Path | str,
) -> None:
    async with (
        process(db_target, [0]) as crashed,
        process(db_target, [1]) as sibling,
        process(db_target) as restarted,
    ):
        thread = await new_thread(ConversationRepository(crashed.db))
        cut = await crashed.messages.start_answer(thread.id, "m", None)
        other = await sibling.messages.start_answer(thread.id, "m", None)
        # Crashed a second ago: its heartbeat is fresh, but the restarted run now holds the
        # claim of shard 0, which no live process could have let go of.
        assert await restarted.beats.take_over([0]) == [crashed.owner.id]
        assert [m.id for m in await restarted.messages.interrupt_orphaned(unowned=True)] == [cut.id]
        kept = await sibling.messages.get(other.id)
        assert kept is not None and kept.status == "streaming"
        shards = {b.owner: b.shard_ids for b in await heartbeats(restarted.db)}
        assert shards == {sibling.owner.id: "1", restarted.owner.id: "0"}


async def test_live_owners_leave_out_the_stale(db_target: Path | str) -> None:
    async with process(db_target, [0]) as stale, process(db_target, [1]) as live:
        await age_heartbeat(stale.db, stale.owner, STALE_AFTER_MS + 1_000)
        assert [b.owner for b in await live.beats.live()] == [live.owner.id]
        assert len(await heartbeats(live.db)) == 2
