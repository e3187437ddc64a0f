"""First words fast under load: the model call starts without waiting for Discord.

The answer's first message only waits its turn in the pacer (here: behind a send that holds
the channel's message-create lane, as a queue of other answers would under load) while the
model streams; when its turn comes it shows everything streamed so far. If it can never be
shown, the model call is stopped, billed for what it used, and the answer closed as an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.discord_ui.render import PLACEHOLDER
from tests.billing.ledger_rows import LedgerReader
from tests.e2e.conftest import Running
from tests.fakes.discord_server import FakeMessage
from tests.fakes.llm_scripts import Scripted, text_reply
from tests.polling import poll


@asynccontextmanager
async def create_lane_held(app: Running) -> AsyncIterator[None]:
    """Occupy the channel's message-create lane until the block ends."""
    services = app.bot.services
    gate = asyncio.Event()
    holding = asyncio.ensure_future(
        services.pacer.call(services.create_lane(app.channel_id), gate.wait)
    )
    await asyncio.sleep(0)  # the pacer starts the holding call
    try:
        yield
    finally:
        gate.set()
        await holding


def answer_with(app: Running, script: Scripted) -> asyncio.Event:
    """The model's next answer; the event is set when the bot asks for it."""
    asked = asyncio.Event()

    def respond(body: dict[str, Any]) -> Scripted:
        asked.set()
        return script

    app.llm.responder = respond
    return asked


async def inline_channel(app: Running) -> None:
    assert app.fake.guild is not None
    await app.bot.services.channel_settings.update(app.channel_id, app.fake.guild.id, mode="inline")


async def answer_statuses(app: Running) -> list[str]:
    services = app.bot.services
    conversation = await services.conversations.open_for_channel(app.channel_id)
    if conversation is None:
        return []
    history = await services.messages.history(conversation.id)
    return [m.status for m in history if m.role == "assistant"]


async def statuses_once_settled(app: Running) -> list[str]:
    return await poll(
        lambda: answer_statuses(app), lambda found: found not in ([], ["streaming"]), within_s=5
    )


async def test_first_words_model_streams_before_the_first_message_exists(app: Running) -> None:
    await inline_channel(app)
    asked = answer_with(app, text_reply("Ready before Discord had a message for it."))
    async with create_lane_held(app):
        await app.fake.send_user_message(app.channel_id, content="quick question")
        # The model is asked, and answers completely, while no message of the answer exists.
        await asyncio.wait_for(asked.wait(), 5)
        assert await statuses_once_settled(app) == ["complete"]
        assert app.bot_messages(app.channel_id) == []

    def created() -> FakeMessage | None:
        mine = app.bot_messages(app.channel_id)
        return mine[0] if mine else None

    answer = await app.fake.wait_for(created)
    # Its first message, rendered when its turn came, already shows the whole answer.
    first = answer.revisions[0].content
    assert "Ready before Discord had a message for it." in first
    assert all(r.content != PLACEHOLDER for r in answer.revisions)
    final = await app.final_answer(app.channel_id)
    assert final.id == answer.id


async def test_first_words_answer_that_cannot_be_shown_stops_the_model_and_is_billed(
    app: Running,
) -> None:
    await inline_channel(app)
    # Ten seconds of words: the answer must end long before they are all written.
    asked = answer_with(app, text_reply("word " * 200, chunk_size=5, delay=0.05))
    async with create_lane_held(app):
        await app.fake.send_user_message(app.channel_id, content="are you there?")
        await asyncio.wait_for(asked.wait(), 5)
        app.fake.deny_channel(app.channel_id)  # e.g. the bot's permission was taken away
    # Its first message is refused (403): the model call is stopped, not streamed to its end.
    assert await statuses_once_settled(app) == ["error"]
    await asyncio.wait_for(app.llm.disconnected.wait(), 5)
    assert app.bot_messages(app.channel_id) == []
    # Billed for what the call used (an estimate: a stopped stream reports no usage); no
    # budget hold is left behind.
    services = app.bot.services
    assert await LedgerReader(services.db).count() == 1
    async with services.db.reading() as conn:
        held = await conn.execute_fetchall("SELECT COUNT(*) FROM reservations")
    assert next(iter(held))[0] == 0


async def test_first_words_answer_finished_before_its_message_failed_is_an_error(
    app: Running,
) -> None:
    await inline_channel(app)
    asked = answer_with(app, text_reply("Nobody will ever read this."))
    async with create_lane_held(app):
        await app.fake.send_user_message(app.channel_id, content="hello?")
        await asyncio.wait_for(asked.wait(), 5)
        assert await statuses_once_settled(app) == ["complete"]
        app.fake.deny_channel(app.channel_id)
    # Storage said complete before Discord refused its only message: nobody saw it, so it
    # is closed as an error, like an answer whose first message failed at once.
    await poll(lambda: answer_statuses(app), lambda found: found == ["error"], within_s=5)
    assert app.bot_messages(app.channel_id) == []
