"""Regenerate and edit: the latest answer can be asked again; editing the latest message
gets a fresh answer; the replaced answer says so; the model sees only the newest answer to
each message, and the ledger keeps every call."""

from __future__ import annotations

from tests.billing.ledger_rows import LedgerReader
from tests.e2e.conftest import Running, button_with, click_as, ephemeral_reply
from tests.fakes.discord import control
from tests.fakes.discord_server import FakeMessage
from tests.fakes.llm_scripts import text_reply

REGENERATE = "switchboard:regenerate:"


async def start(app: Running, prompt: str, answer: str) -> tuple[int, FakeMessage]:
    app.llm.enqueue(text_reply(answer))
    await app.fake.invoke_slash_command("chat", {"prompt": prompt})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    return thread.id, await app.final_answer(thread.id)


async def test_regenerate_answers_the_same_question_again(app: Running) -> None:
    thread_id, first = await start(app, "name a colour", "Blue.")
    regenerate = button_with(first, REGENERATE)
    assert regenerate is not None and app.fake.user is not None

    app.llm.enqueue(text_reply("Green."))
    await click_as(app.fake, first.id, regenerate, app.fake.user)
    second = await app.final_answer(thread_id, index=1)
    assert "Green." in second.content
    await app.fake.wait_for(lambda: "Replaced by a newer answer" in first.content or None)
    assert button_with(first, REGENERATE) is None
    assert button_with(second, REGENERATE) is not None

    # The next turn sees the newest answer only; both calls stay in the ledger.
    app.llm.enqueue(text_reply("Green again."))
    await app.fake.send_user_message(thread_id, content="why that one?")
    await app.final_answer(thread_id, index=2)
    sent = app.llm.chat_requests[-1].json["messages"]
    assistant = [m["content"] for m in sent if m["role"] == "assistant"]
    assert assistant == ["Green."]
    assert await LedgerReader(app.bot.services.db).count() == 3


async def test_regenerate_refuses_an_answer_that_is_not_the_latest(app: Running) -> None:
    thread_id, first = await start(app, "name a colour", "Blue.")
    regenerate = button_with(first, REGENERATE)
    assert regenerate is not None and app.fake.user is not None
    # A member whose client still shows the first answer's button (the bot removes it when
    # the next answer starts, but a click can cross that edit): the click is made from the
    # message as it was, and reaches the bot once the next answer is the latest.
    stale = control.component_click(
        app.fake.world, first, regenerate, user=app.fake.user, values=None
    )
    app.llm.enqueue(text_reply("Red is warm."))
    await app.fake.send_user_message(thread_id, content="and a warm one?")
    await app.final_answer(thread_id, index=1)
    await app.fake.wait_for(lambda: button_with(first, REGENERATE) is None or None)

    clicked = app.fake._inject(stale)
    notice = await ephemeral_reply(app.fake, clicked)
    assert "Only the latest answer can be regenerated." in notice.content
    assert len(app.llm.chat_requests) == 2


async def test_edit_of_the_latest_message_gets_a_fresh_answer(app: Running) -> None:
    thread_id, _ = await start(app, "start", "Hello.")
    app.llm.enqueue(text_reply("Paris is in France."))
    question = await app.fake.send_user_message(thread_id, content="where is paris?")
    old = await app.final_answer(thread_id, index=1)

    app.llm.enqueue(text_reply("Berlin is in Germany."))
    await app.fake.edit_user_message(question.id, "where is berlin?")
    new = await app.final_answer(thread_id, index=2)
    assert "Berlin is in Germany." in new.content
    await app.fake.wait_for(lambda: "the question was edited" in old.content or None)

    sent = app.llm.chat_requests[-1].json["messages"]
    assert sent[-1] == {"role": "user", "content": "where is berlin?"}
    assert all("Paris" not in (m["content"] or "") for m in sent)


async def test_edit_of_an_older_message_changes_nothing(app: Running) -> None:
    thread_id, _ = await start(app, "start", "Hello.")
    app.llm.enqueue(text_reply("One."))
    older = await app.fake.send_user_message(thread_id, content="first question")
    await app.final_answer(thread_id, index=1)
    app.llm.enqueue(text_reply("Two."))
    await app.fake.send_user_message(thread_id, content="second question")
    await app.final_answer(thread_id, index=2)

    await app.fake.edit_user_message(older.id, "first question, edited")
    app.llm.enqueue(text_reply("Three."))
    await app.fake.send_user_message(thread_id, content="third question")
    await app.final_answer(thread_id, index=3)
    assert len(app.llm.chat_requests) == 4  # no answer for the edit of an older message
    sent = app.llm.chat_requests[-1].json["messages"]
    assert any(m["content"] == "first question" for m in sent)
