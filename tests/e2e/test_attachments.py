"""What members bring, end to end: files read into the conversation and kept after a restart
and after Discord's links expire, images for models that see them, plain notes for what
could not be read, and the rest of the message still answered."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from tests.e2e.conftest import Running, click_as, make_settings, running_bot
from tests.fakes.discord.cdn import FakeFile
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.llm_scripts import http_error, text_reply
from tests.fakes.llm_server import FakeLLMServer


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(out, format="PNG")
    return out.getvalue()


async def mention_with(app: Running, content: str, *files: FakeFile) -> int:
    """A member mentions the bot with attachments; the id of the thread it opens."""
    bot_id = app.fake.bot_user.id
    await app.fake.send_user_message(
        app.channel_id, content=f"<@{bot_id}> {content}", mentions_bot=True, attachments=files
    )
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    return thread.id


def sent_text(message: dict[str, object]) -> str:
    content = message["content"]
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


async def test_attachments_long_paste_is_read_and_kept_after_restart(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    settings = make_settings(tmp_path, fake, llm)
    log = "\n".join(f"2026-12-03 ERROR worker {n}: connection reset" for n in range(200))
    paste = FakeFile("message.txt", log.encode(), expires_in=60)
    llm.enqueue(text_reply("The worker keeps losing its connection."))
    async with running_bot(settings, fake, llm) as app:
        thread_id = await mention_with(app, "what is wrong here?", paste)
        await app.final_answer(thread_id)
    first = sent_text(llm.chat_requests[0].json["messages"][-1])
    assert "what is wrong here?" in first
    assert "worker 199: connection reset" in first
    assert 'origin="a long message Discord turned into a file"' in first

    fake.expire_attachments()  # Discord's links expire; the conversation must not need them
    llm.enqueue(text_reply("Worker 7 too."))
    async with running_bot(settings, fake, llm) as app:
        await fake.send_user_message(thread_id, content="and worker 7?")
        await app.final_answer(thread_id, index=1)
    history = llm.chat_requests[-1].json["messages"]
    assert "worker 199: connection reset" in sent_text(history[1])


async def test_attachments_what_cannot_be_read_is_said_and_the_rest_answered(app: Running) -> None:
    app.llm.enqueue(text_reply("Here is what I could read."))
    thread_id = await mention_with(
        app,
        "check these",
        FakeFile("notes.txt", b"remember the milk"),
        FakeFile("archive.zip", b"PK\x03\x04" + b"\x00" * 100),
        FakeFile("data.txt", bytes(range(256)) * 4),
        FakeFile("fake.png", b"this is not a png at all"),
        FakeFile("gone.txt", b"expired before we read it", expires_in=0),
    )
    answer = await app.final_answer(thread_id)
    assert "Here is what I could read." in answer.content
    assert "archive.zip" in answer.content and "data.txt" in answer.content
    assert "gone.txt" in answer.content and "fake.png" in answer.content
    asked = sent_text(app.llm.chat_requests[0].json["messages"][-1])
    assert "remember the milk" in asked
    assert "[attachment archive.zip was not read:" in asked
    assert "[attachment data.txt was not read:" in asked


async def test_attachments_image_goes_to_a_model_that_sees_and_is_named_to_one_that_does_not(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    toml = tmp_path / "switchboard.toml"
    toml.write_text('[models."blind-model"]\nvision = false\n', encoding="utf-8")
    settings = make_settings(tmp_path, fake, llm).model_copy(update={"config_file": toml})
    async with running_bot(settings, fake, llm) as app:
        llm.enqueue(text_reply("A green square."))
        thread_id = await mention_with(app, "what is this?", FakeFile("square.png", png()))
        await app.final_answer(thread_id)
        seen = llm.chat_requests[-1].json["messages"][-1]["content"]
        assert [p["type"] for p in seen] == ["text", "image_url"]

        llm.enqueue(text_reply("I can't see it."))
        await fake.invoke_slash_command(
            "settings", {"model": "blind-model"}, subcommand="model", channel_id=thread_id
        )
        await fake.send_user_message(thread_id, content="and now?")
        await app.final_answer(thread_id, index=2)
    blind = llm.chat_requests[-1].json["messages"]
    assert all(isinstance(m["content"], str | None) for m in blind)
    assert any("this model can't see images" in (m["content"] or "") for m in blind)


async def test_attachments_a_provider_refusing_images_gets_one_retry_without_them(
    app: Running,
) -> None:
    app.llm.enqueue(
        http_error(
            400, message="Invalid content type. image_url is only supported by vision models"
        ),
        text_reply("I only read text."),
    )
    thread_id = await mention_with(app, "look", FakeFile("dot.png", png()))
    answer = await app.final_answer(thread_id)
    assert "I only read text." in answer.content
    first, second = app.llm.chat_requests
    assert isinstance(first.json["messages"][-1]["content"], list)
    assert "can't see images" in second.json["messages"][-1]["content"]
    # Remembered: the next turn does not try images again.
    app.llm.enqueue(text_reply("Still text."))
    await app.fake.send_user_message(thread_id, content="again")
    await app.final_answer(thread_id, index=1)
    assert len(app.llm.chat_requests) == 3
    assert all(
        isinstance(m["content"], str | None) for m in app.llm.chat_requests[-1].json["messages"]
    )


async def test_attachments_costly_reading_is_confirmed_first(app: Running) -> None:
    """Over ATTACHMENT_CONFIRM_USD the member is asked with Continue / Cancel, shown the
    estimate, before the model is called; Cancel answers nothing."""
    await app.bot.services.prices.set_override("fake-model", "100", "100")  # $100 / M tokens
    big = "\n".join(f"line {n}: some log text that goes on" for n in range(4000))
    assert app.fake.user is not None
    for choice in ("yes", "no"):
        before = len(app.llm.chat_requests)
        app.llm.enqueue(text_reply("Read it."))
        bot_id = app.fake.bot_user.id
        sent = await app.fake.send_user_message(
            app.channel_id,
            content=f"<@{bot_id}> summarize",
            mentions_bot=True,
            attachments=[FakeFile(f"big-{choice}.log", big.encode())],
        )

        def asked(sent_id: int = sent.id) -> object:
            return next(
                (
                    m
                    for m in app.bot_messages(app.channel_id)
                    if "Reading these attachments costs about" in m.content
                    and (m.message_reference or {}).get("message_id") in (sent_id, str(sent_id))
                ),
                None,
            )

        question = await app.fake.wait_for(asked)
        assert "tokens for `fake-model`" in question.content
        assert len(app.llm.chat_requests) == before  # nothing sent to the model yet
        button = next(
            c["custom_id"]
            for row in question.components
            for c in row["components"]
            if c["custom_id"].endswith(f":{choice}")
        )
        await click_as(app.fake, question.id, button, app.fake.user)
        if choice == "yes":
            await app.llm.wait_for_requests(before + 1, "/chat/completions")
            assert "big-yes.log" in str(app.llm.chat_requests[-1].json["messages"][-1]["content"])
        else:
            await app.fake.wait_for(lambda q=question: "Cancelled" in q.content or None)
            assert len(app.llm.chat_requests) == before
