"""What members bring besides files: the message they reply to, the channel's recent
messages before a mention, and `Ask Switchboard` on any message."""

from __future__ import annotations

from tests.e2e.conftest import Running
from tests.fakes.discord_server import FakeUser
from tests.fakes.llm_scripts import text_reply


def asked(app: Running) -> str:
    content = app.llm.chat_requests[-1].json["messages"][-1]["content"]
    return content if isinstance(content, str) else str(content)


async def test_reply_in_a_thread_gives_the_model_the_message_replied_to(app: Running) -> None:
    app.llm.enqueue(text_reply("Hello."))
    await app.fake.invoke_slash_command("chat", {"prompt": "start"})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    await app.final_answer(thread.id)
    bob = FakeUser(id=777, username="bob")
    said = await app.fake.send_user_message(
        thread.id, content="the deploy failed with exit code 137", author=bob
    )
    app.llm.enqueue(text_reply("Out of memory."), text_reply("Exit 137 means it was killed."))
    await app.final_answer(thread.id, index=1)
    await app.fake.send_user_message(thread.id, content="what does that mean?", reply_to=said.id)
    await app.final_answer(thread.id, index=2)
    text = asked(app)
    assert "[The member replies to this message]" in text
    assert "[bob]: the deploy failed with exit code 137" in text
    assert text.rstrip().endswith("what does that mean?")


async def test_reply_to_a_deleted_message_is_said_plainly(app: Running) -> None:
    assert app.fake.guild is not None
    await app.bot.services.channel_settings.update(app.channel_id, app.fake.guild.id, mode="inline")
    gone = await app.fake.send_user_message(app.channel_id, content="soon deleted")
    app.llm.enqueue(text_reply("First."), text_reply("Second."))
    await app.llm.wait_for_requests(1, "/chat/completions")
    await app.fake.delete_user_message(gone.id)
    await app.fake.send_user_message(app.channel_id, content="about that", reply_to=gone.id)
    await app.llm.wait_for_requests(2, "/chat/completions")
    assert "replies to a message that has been deleted" in asked(app)


async def test_mention_in_a_channel_gives_the_recent_messages_as_context(app: Running) -> None:
    alice, bob = FakeUser(id=501, username="alice"), FakeUser(id=502, username="bob")
    await app.fake.send_user_message(app.channel_id, content="shall we use postgres?", author=alice)
    await app.fake.send_user_message(app.channel_id, content="sqlite is enough for now", author=bob)
    app.llm.enqueue(text_reply("Both have a point."))
    bot_id = app.fake.bot_user.id
    await app.fake.send_user_message(
        app.channel_id, content=f"<@{bot_id}> who is right?", mentions_bot=True, author=alice
    )
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    await app.final_answer(thread.id)
    text = asked(app)
    assert "[Recent messages in this channel before the member asked" in text
    assert text.index("[alice]: shall we use postgres?") < text.index("[bob]: sqlite is enough")
    assert text.rstrip().endswith("who is right?")


async def test_ask_switchboard_opens_a_thread_about_the_message(app: Running) -> None:
    carol = FakeUser(id=601, username="carol")
    target = await app.fake.send_user_message(
        app.channel_id, content="Segmentation fault (core dumped)", author=carol
    )
    app.llm.enqueue(text_reply("The program read memory it doesn't own."))
    interaction = await app.fake.invoke_message_command("Ask Switchboard", target.id)
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    assert thread.id == target.id  # a thread on that very message
    answer = await app.final_answer(thread.id)
    assert "read memory it doesn't own" in answer.content
    text = asked(app)
    assert "[carol]: Segmentation fault (core dumped)" in text
    assert interaction is not None
    # Follow-ups continue there.
    app.llm.enqueue(text_reply("Check your pointers."))
    await app.fake.send_user_message(thread.id, content="how do I fix it?")
    assert "Check your pointers." in (await app.final_answer(thread.id, index=1)).content
