"""Inline channels and DMs: the channel itself is one rolling conversation."""

from __future__ import annotations

from tests.e2e.conftest import Running, ephemeral_reply
from tests.fakes.llm_scripts import text_reply


async def make_inline(app: Running) -> None:
    assert app.fake.guild is not None
    await app.bot.services.channel_settings.update(app.channel_id, app.fake.guild.id, mode="inline")


async def test_inline_every_message_is_answered_as_a_reply_in_the_channel(app: Running) -> None:
    await make_inline(app)
    app.llm.enqueue(text_reply("One."), text_reply("Two."))
    first = await app.fake.send_user_message(app.channel_id, content="first question")
    answer = await app.final_answer(app.channel_id)
    second = await app.fake.send_user_message(app.channel_id, content="second question")
    answer_2 = await app.final_answer(app.channel_id, index=1)

    assert app.fake.threads(app.channel_id) == []
    assert "One." in answer.content and "Two." in answer_2.content
    assert answer.message_reference is not None
    assert int(answer.message_reference["message_id"]) == first.id
    assert answer_2.message_reference is not None
    assert int(answer_2.message_reference["message_id"]) == second.id
    for message in (answer, answer_2):
        assert message.allowed_mentions is not None
        assert message.allowed_mentions.get("parse") == []
        assert not message.allowed_mentions.get("replied_user")
        assert message.mention_ids == []
    sent = app.llm.chat_requests[1].json["messages"]
    assert [m["content"] for m in sent[1:]] == ["first question", "One.", "second question"]


async def test_inline_reply_is_sent_even_if_the_question_is_gone(app: Running) -> None:
    """Discord refuses a reply to a deleted message unless `fail_if_not_exists` is false
    (the fake does not check it, so the request itself is checked)."""
    await make_inline(app)
    app.llm.enqueue(text_reply("Answered anyway."))
    await app.fake.send_user_message(app.channel_id, content="quick question")
    await app.final_answer(app.channel_id)
    creates = app.fake.calls_to("POST", "/channels/{channel_id}/messages")
    references = [c.json["message_reference"] for c in creates if "message_reference" in c.json]
    assert references and all(r.get("fail_if_not_exists") is False for r in references)


async def test_inline_new_forgets_earlier_messages(app: Running) -> None:
    await make_inline(app)
    app.llm.enqueue(text_reply("Remembered."), text_reply("Fresh."))
    await app.fake.send_user_message(app.channel_id, content="my name is Alice")
    await app.final_answer(app.channel_id)

    interaction = await app.fake.invoke_slash_command("new")
    notice = await ephemeral_reply(app.fake, interaction)
    assert "fresh conversation" in notice.content
    await app.fake.send_user_message(app.channel_id, content="what is my name?")
    await app.final_answer(app.channel_id, index=2)  # after the /new notice

    sent = app.llm.chat_requests[1].json["messages"]
    assert [m["role"] for m in sent] == ["system", "user"]
    assert sent[1]["content"] == "what is my name?"


async def test_new_in_a_thread_explains_it_does_not_apply(app: Running) -> None:
    app.llm.enqueue(text_reply("Hello."))
    await app.fake.invoke_slash_command("chat", {"prompt": "hi"})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    await app.final_answer(thread.id)

    interaction = await app.fake.invoke_slash_command("new", channel_id=thread.id)
    notice = await ephemeral_reply(app.fake, interaction)
    assert interaction.ephemeral
    assert "/chat" in notice.content and "thread" in notice.content
    conversation = await app.bot.services.conversations.open_for_channel(thread.id)
    assert conversation is not None  # still open


async def test_dm_is_answered_in_the_dm_and_continues(app: Running) -> None:
    assert app.fake.user is not None
    dm = app.fake.add_dm_channel(app.fake.user)
    app.llm.enqueue(text_reply("Hi in private."), text_reply("Still here."))
    await app.fake.send_user_message(dm.id, content="hello bot")
    first = await app.final_answer(dm.id)
    await app.fake.send_user_message(dm.id, content="again")
    second = await app.final_answer(dm.id, index=1)

    assert "Hi in private." in first.content and "Still here." in second.content
    assert first.allowed_mentions is not None and first.allowed_mentions.get("parse") == []
    sent = app.llm.chat_requests[1].json["messages"]
    assert [m["content"] for m in sent[1:]] == ["hello bot", "Hi in private.", "again"]
    assert "direct message" in sent[0]["content"]
