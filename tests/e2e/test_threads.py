"""Conversations in threads: /chat, follow-ups, mentions."""

from __future__ import annotations

import io

from PIL import Image

from tests.e2e.conftest import Running
from tests.fakes.discord.cdn import FakeFile
from tests.fakes.llm_scripts import text_reply

NO_MENTIONS = {"parse": []}


async def test_chat_command_starts_a_thread_and_streams_the_answer(app: Running) -> None:
    app.llm.enqueue(text_reply("Paris is the capital of France.", chunk_size=4, delay=0.01))
    interaction = await app.fake.invoke_slash_command(
        "chat", {"prompt": "What is the capital of France?"}
    )
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    assert thread.name == "What is the capital of France?"
    answer = await app.final_answer(thread.id)
    assert "Paris is the capital of France." in answer.content
    assert "fake-model" in answer.content  # footer
    assert interaction.acknowledged
    starter = app.fake.original_response(interaction)
    assert starter is not None and "What is the capital of France?" in starter.content
    assert starter.thread_id == thread.id  # the command's reply carries the thread
    for message in [*app.bot_messages(thread.id), starter]:
        assert message.allowed_mentions == NO_MENTIONS
    assert app.fake.total_429s == 0
    # The starter message comes with the callback's response: no extra GET for it.
    assert not [c for c in app.fake.calls if c.method == "GET" and c.path.endswith("@original")]


async def test_thread_follow_up_continues_without_a_mention(app: Running) -> None:
    app.llm.enqueue(text_reply("First answer."), text_reply("Second answer."))
    await app.fake.invoke_slash_command("chat", {"prompt": "hello"})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    await app.final_answer(thread.id)
    await app.fake.send_user_message(thread.id, content="and more?")
    second = await app.final_answer(thread.id, index=1)
    assert "Second answer." in second.content
    sent = app.llm.chat_requests[1].json["messages"]
    assert [m["content"] for m in sent[1:]] == ["hello", "First answer.", "and more?"]


async def test_mention_in_channel_threads_from_the_message(app: Running) -> None:
    app.llm.enqueue(text_reply("Hi Alice!"))
    bot_id = app.fake.bot_user.id
    message = await app.fake.send_user_message(
        app.channel_id, content=f"<@{bot_id}> say hi", mentions_bot=True
    )
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    assert thread.id == message.id
    answer = await app.final_answer(thread.id)
    assert "Hi Alice!" in answer.content
    assert app.llm.chat_requests[0].json["messages"][-1]["content"] == "say hi"


async def test_channel_messages_without_mention_are_ignored(app: Running) -> None:
    await app.fake.send_user_message(app.channel_id, content="just chatting")
    await app.fake.send_user_message(app.channel_id, content="still chatting")
    assert app.fake.threads(app.channel_id) == []
    assert app.llm.chat_requests == []


async def test_mention_with_an_image_gives_the_model_the_image_once(app: Running) -> None:
    app.llm.enqueue(text_reply("Nice picture."))
    bot_id = app.fake.bot_user.id
    picture = Image.new("RGB", (64, 48), (200, 120, 40))
    png = io.BytesIO()
    picture.save(png, format="PNG")
    await app.fake.send_user_message(
        app.channel_id,
        content=f"<@{bot_id}> look",
        mentions_bot=True,
        attachments=[FakeFile("cat.png", png.getvalue())],
    )
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    await app.final_answer(thread.id)
    asked = app.llm.chat_requests[0].json["messages"][-1]["content"]
    text, *images = asked
    assert text == {"type": "text", "text": "look\n\n[image: cat.png, 64x48]"}
    assert len(images) == 1
    assert images[0]["image_url"]["url"].startswith("data:image/png;base64,")
