"""After a crash: answers left streaming are marked interrupted and say so."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bot.frontend.recovery import sweep_orphans
from bot.storage.owners import STALE_AFTER_MS
from tests.e2e.conftest import button_with, make_settings, running_bot
from tests.fakes.discord_server import FakeDiscord, FakeMessage
from tests.fakes.llm_scripts import stall, text_reply, tool_call_reply
from tests.fakes.llm_server import FakeLLMServer
from tests.polling import poll

STOP = "switchboard:stop:"


def snapshot(source: Path, target: Path) -> None:
    """The database as a crash at this instant would leave it (committed state only)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def status_in(path: Path, answer_id: int) -> str:
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT status FROM messages WHERE id = ?", (answer_id,)).fetchone()
    db.close()
    return str(row[0])


async def test_restart_marks_a_crashed_answer_interrupted_and_the_thread_continues(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    settings = make_settings(tmp_path, fake, llm)
    crashed = tmp_path / "crashed.db"
    llm.enqueue(stall(text_reply("Partial words before the crash.", chunk_size=8), after=4))
    async with running_bot(settings, fake, llm, grace_s=0.1) as app:
        await fake.invoke_slash_command("chat", {"prompt": "a slow question"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))

        def streaming() -> FakeMessage | None:
            mine = app.bot_messages(thread.id)
            shown = mine and "Partial" in mine[-1].content and button_with(mine[-1], STOP)
            return mine[-1] if shown else None

        message = await fake.wait_for(streaming)
        stop_id = button_with(message, STOP)
        assert stop_id is not None
        answer_id = int(stop_id.removeprefix(STOP))
        refs = await app.bot.services.messages.discord_messages(answer_id)
        assert [r.discord_message_id for r in refs] == [message.id]
        snapshot(settings.database_path, crashed)
    assert status_in(crashed, answer_id) == "streaming"

    calls_before = len(fake.calls)
    llm.enqueue(text_reply("I am back."))
    restarted = settings.model_copy(update={"database_path": crashed})
    async with running_bot(restarted, fake, llm) as app:
        assert status_in(crashed, answer_id) == "interrupted"
        await fake.wait_for(lambda: "Interrupted" in message.content or None)
        edits = [
            c
            for c in fake.calls[calls_before:]
            if c.method == "PATCH" and str(message.id) in c.path
        ]
        assert edits and "Interrupted by a restart" in edits[-1].json["content"]
        assert not message.components  # no Stop button left on a dead answer
        assert "Partial" in message.content  # what the member saw stays

        await fake.send_user_message(thread.id, content="are you still there?")
        answer = await app.final_answer(thread.id, index=1)
        assert "I am back." in answer.content
    last = llm.chat_requests[-1]
    assert last.rejected is None
    sent = last.json["messages"]
    # The interrupted answer had no finished round, so both questions reach the model.
    assert sent[1]["content"].startswith("a slow question")
    assert sent[-1]["role"] == "user"
    assert sent[-1]["content"].endswith("are you still there?")


async def test_restart_after_a_tool_round_keeps_the_tool_line_and_a_valid_history(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    settings = make_settings(tmp_path, fake, llm)
    crashed = tmp_path / "crashed.db"
    llm.enqueue(
        tool_call_reply([("calculator", {"expression": "2*21"})]),
        stall(text_reply("So the result is forty-two, and", chunk_size=6), after=4),
    )
    async with running_bot(settings, fake, llm, grace_s=0.1) as app:
        await fake.invoke_slash_command("chat", {"prompt": "what is 2*21?"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))

        def streaming() -> FakeMessage | None:
            mine = app.bot_messages(thread.id)
            shown = mine and "So the result" in mine[-1].content and mine[-1].components
            return mine[-1] if shown else None

        message = await fake.wait_for(streaming)
        snapshot(settings.database_path, crashed)

    llm.enqueue(text_reply("Yes, 42."))
    restarted = settings.model_copy(update={"database_path": crashed})
    async with running_bot(restarted, fake, llm) as app:
        await fake.wait_for(lambda: "Interrupted by a restart" in message.content or None)
        assert "calculator" in message.content and "So the result" in message.content
        assert len(message.content) <= 2000
        await fake.send_user_message(thread.id, content="sure?")
        answer = await app.final_answer(thread.id, index=1)
        assert "Yes, 42." in answer.content
    last = llm.chat_requests[-1]
    assert last.rejected is None
    roles = [m["role"] for m in last.json["messages"]]
    assert roles[:4] == ["system", "user", "assistant", "tool"]
    assert roles[-1] == "user"


def _set_heartbeats(path: Path, sql: str, params: tuple[object, ...]) -> int:
    with sqlite3.connect(path) as db:
        changed = db.execute(sql, params).rowcount
    db.close()
    return changed


def heartbeat_shards(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT shard_ids FROM process_heartbeats ORDER BY shard_ids").fetchall()
    db.close()
    return [str(r[0]) for r in rows]


async def set_heartbeats(path: Path, sql: str, *params: object) -> int:
    """Write beside the running bot from a thread: blocking the event loop while the bot's
    own transaction (which needs the loop to finish) holds the write lock would deadlock."""
    return await asyncio.to_thread(_set_heartbeats, path, sql, params)


async def test_a_sibling_dead_while_this_process_runs_is_swept_and_its_answer_says_so(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    """The crashed run's heartbeat says it ran a shard this process does not claim: a live
    sibling for all this process can tell at start, so its answer stays streaming; once its
    heartbeat is stale, the sweep marks the answer interrupted and edits its message."""
    fake, llm = fakes
    settings = make_settings(tmp_path, fake, llm)
    crashed = tmp_path / "crashed.db"
    llm.enqueue(stall(text_reply("Words of a sibling that died.", chunk_size=8), after=4))
    async with running_bot(settings, fake, llm, grace_s=0.1) as app:
        await fake.invoke_slash_command("chat", {"prompt": "a slow question"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))

        def streaming() -> FakeMessage | None:
            mine = app.bot_messages(thread.id)
            shown = mine and "sibling" in mine[-1].content and button_with(mine[-1], STOP)
            return mine[-1] if shown else None

        message = await fake.wait_for(streaming)
        stop_id = button_with(message, STOP)
        assert stop_id is not None
        answer_id = int(stop_id.removeprefix(STOP))
        snapshot(settings.database_path, crashed)
    sibling = "UPDATE process_heartbeats SET shard_ids = '7'"
    assert await set_heartbeats(crashed, sibling) == 1

    restarted = settings.model_copy(update={"database_path": crashed})
    async with running_bot(restarted, fake, llm) as app:
        assert status_in(crashed, answer_id) == "streaming"  # a live sibling's: untouched
        sweeper = asyncio.ensure_future(sweep_orphans(app.bot, app.bot.services, every_s=0.05))
        try:
            await asyncio.sleep(0.3)
            assert status_in(crashed, answer_id) == "streaming"  # still beating (as it seems)
            aged = "UPDATE process_heartbeats SET beat_at = beat_at - ? WHERE shard_ids = '7'"
            calls_before = len(fake.calls)
            assert await set_heartbeats(crashed, aged, STALE_AFTER_MS + 1_000) == 1

            def edited() -> str | None:
                for call in fake.calls[calls_before:]:
                    if call.method == "PATCH" and str(message.id) in call.path:
                        return str(call.json["content"])
                return None

            content = await fake.wait_for(edited)
            # Then the dead run's heartbeat row is forgotten; this run's own stays.
            await poll(
                lambda: asyncio.to_thread(heartbeat_shards, crashed),
                lambda shards: shards == ["0"],
                within_s=5,
            )
        finally:
            sweeper.cancel()
        assert status_in(crashed, answer_id) == "interrupted"
        assert "sibling" in content and "Interrupted by a restart" in content
