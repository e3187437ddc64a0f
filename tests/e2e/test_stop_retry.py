"""Stop and Retry: the buttons on answers and /stop."""

from __future__ import annotations

import time

from tests.e2e.conftest import (
    Running,
    answer_status,
    button_with,
    click_as,
    ephemeral_reply,
    stopping,
)
from tests.fakes.discord_server import FakeChannel, FakeMessage
from tests.fakes.llm_scripts import Scripted, cut_after, stall, text_reply

STOP = "switchboard:stop:"
RETRY = "switchboard:retry:"
PARTIAL = "The first part of a long answer"
# Send messages, read history, no Manage Messages (1 << 13).
PLAIN_MEMBER = (1 << 10) | (1 << 11) | (1 << 16) | (1 << 38)


def slow_reply() -> Scripted:
    """Text that streams a first part, then stalls until the bot hangs up."""
    return stall(text_reply(PARTIAL + " and then much more.", chunk_size=8), after=5, seconds=30)


async def streaming_answer(app: Running) -> tuple[FakeChannel, FakeMessage, str]:
    """Start /chat with a stalled reply; return the thread, the answer message, the Stop id."""
    app.llm.enqueue(slow_reply())
    await app.fake.invoke_slash_command("chat", {"prompt": "tell me a long story"})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))

    def showing_text() -> FakeMessage | None:
        mine = app.bot_messages(thread.id)
        if mine and "The first" in mine[-1].content and button_with(mine[-1], STOP):
            return mine[-1]
        return None

    message = await app.fake.wait_for(showing_text, timeout=5)
    stop_id = button_with(message, STOP)
    assert stop_id is not None
    return thread, message, stop_id


async def stopped(app: Running, message: FakeMessage) -> FakeMessage:
    return await app.fake.wait_for(
        lambda: message if "Stopped" in message.content and not stopping(message) else None,
        timeout=3,
    )


async def test_stop_button_ends_the_answer_and_keeps_the_partial_text(app: Running) -> None:
    thread, message, stop_id = await streaming_answer(app)
    clicked = time.monotonic()
    interaction = await app.fake.click_button(message.id, stop_id)
    await stopped(app, message)
    assert time.monotonic() - clicked < 1.0
    assert interaction.acknowledged
    assert "The first" in message.content
    answer_id = int(stop_id.removeprefix(STOP))
    assert await answer_status(app, answer_id) == "stopped"
    assert thread.id == message.channel_id


async def test_stop_command_ends_the_running_answer(app: Running) -> None:
    thread, message, stop_id = await streaming_answer(app)
    interaction = await app.fake.invoke_slash_command("stop", channel_id=thread.id)
    await stopped(app, message)
    assert interaction.acknowledged
    assert await answer_status(app, int(stop_id.removeprefix(STOP))) == "stopped"


async def test_stop_command_with_nothing_running_says_so(app: Running) -> None:
    interaction = await app.fake.invoke_slash_command("stop")
    notice = await ephemeral_reply(app.fake, interaction)
    assert interaction.ephemeral
    assert "Nothing is being answered" in notice.content


async def test_stop_by_another_member_without_manage_messages_is_refused(app: Running) -> None:
    assert app.fake.guild is not None
    bob = app.fake.add_member(app.fake.guild.id, "bob").user
    _, message, stop_id = await streaming_answer(app)
    interaction = await click_as(app.fake, message.id, stop_id, bob, permissions=PLAIN_MEMBER)
    await app.fake.wait_for(lambda: interaction.acknowledged, timeout=3)
    assert interaction.ephemeral
    refusal = await ephemeral_reply(app.fake, interaction)
    assert "alice" in refusal.content.lower() or "moderator" in refusal.content
    answer_id = int(stop_id.removeprefix(STOP))
    assert app.bot.services.chat.running_answer(await conversation_id(app, answer_id))
    assert await answer_status(app, answer_id) == "streaming"
    app.bot.services.chat.stop(await conversation_id(app, answer_id))
    await stopped(app, message)


async def conversation_id(app: Running, answer_id: int) -> int:
    stored = await app.bot.services.messages.get(answer_id)
    assert stored is not None
    return stored.conversation_id


async def test_retry_after_a_cut_stream_answers_the_same_question_again(app: Running) -> None:
    app.llm.enqueue(
        cut_after(4, text_reply("Half an answer that will be cut off.", chunk_size=6)),
        text_reply("A whole answer."),
    )
    await app.fake.invoke_slash_command("chat", {"prompt": "explain tides"})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))

    def failed() -> FakeMessage | None:
        mine = app.bot_messages(thread.id)
        return mine[-1] if mine and button_with(mine[-1], RETRY) else None

    failure = await app.fake.wait_for(failed, timeout=5)
    assert "⚠️" in failure.content
    assert "Traceback" not in failure.content
    assert "Half an" in failure.content  # what came is kept
    retry_id = button_with(failure, RETRY)
    assert retry_id is not None

    await app.fake.click_button(failure.id, retry_id)
    retried = await app.final_answer(thread.id, index=1)
    assert "A whole answer." in retried.content
    await app.fake.wait_for(lambda: not failure.components or None, timeout=3)
    assert button_with(failure, RETRY) is None
    retry_request = app.llm.chat_requests[1].json["messages"]
    assert [m["role"] for m in retry_request] == ["system", "user"]
    assert retry_request[-1]["content"] == "explain tides"


async def test_retry_clicked_twice_starts_one_retry(app: Running) -> None:
    app.llm.enqueue(
        cut_after(4, text_reply("Half an answer that will be cut off.", chunk_size=6)),
        text_reply("A whole answer."),
        text_reply("A second, unwanted answer."),
    )
    await app.fake.invoke_slash_command("chat", {"prompt": "explain tides"})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))

    def failed() -> FakeMessage | None:
        mine = app.bot_messages(thread.id)
        return mine[-1] if mine and button_with(mine[-1], RETRY) else None

    failure = await app.fake.wait_for(failed, timeout=5)
    retry_id = button_with(failure, RETRY)
    assert retry_id is not None
    first = await app.fake.click_button(failure.id, retry_id)
    second = await app.fake.click_button(failure.id, retry_id)  # before the button is gone
    await app.fake.wait_for_message(
        thread.id, lambda m: "A whole answer." in m.content and "-# " in m.content, timeout=10
    )
    await app.fake.wait_for(lambda: second.acknowledged or None, timeout=3)
    assert first.acknowledged
    refusal = app.fake.original_response(second)
    assert refusal is not None and "already being retried" in refusal.content
    assert len(app.llm.chat_requests) == 2  # the failed call and one retry
    assert [m.content for m in app.bot_messages(thread.id) if "unwanted" in m.content] == []
