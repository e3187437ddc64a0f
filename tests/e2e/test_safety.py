"""Nobody gets pinged by the bot, and errors never leak internals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr

from tests.e2e.conftest import make_settings, running_bot, stopping
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.llm_scripts import http_error, text_reply
from tests.fakes.llm_server import FakeLLMServer

SECRET_KEY = "sk-test-secret-0123456789abcdef"


def bodies_sent(fake: FakeDiscord) -> list[dict[str, Any]]:
    """Every message body with content the bot sent: creates, edits, interaction replies."""
    found: list[dict[str, Any]] = []
    for call in fake.calls:
        if call.method not in ("POST", "PATCH") or not isinstance(call.json, dict):
            continue
        inner = call.json.get("data") if "type" in call.json else call.json
        if isinstance(inner, dict) and "content" in inner:
            found.append(inner)
    return found


async def test_model_output_with_mentions_never_pings(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    assert fake.guild is not None and fake.user is not None
    role = fake.add_role(fake.guild.id, "mods")
    nasty = f"Hey @everyone and @here, <@&{role.id}> and <@{fake.user.id}>!"
    llm.enqueue(text_reply(nasty, chunk_size=5, delay=0.005))
    async with running_bot(make_settings(tmp_path, fake, llm), fake, llm) as app:
        interaction = await fake.invoke_slash_command(
            "chat", {"prompt": f"say @everyone <@&{role.id}> please"}
        )
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
        answer = await app.final_answer(thread.id)
        assert "@everyone" in answer.content  # shown, not pinged
        starter = fake.original_response(interaction)
        assert starter is not None and "@everyone" in starter.content

        messages = [*app.bot_messages(thread.id), *app.bot_messages(app.channel_id)]
        for message in messages:
            assert not message.mention_everyone
            assert message.mention_ids == []
            for revision in message.revisions:
                assert revision.allowed_mentions is not None
                assert revision.allowed_mentions.get("parse") == []
                assert not revision.allowed_mentions.get("roles")
                assert not revision.allowed_mentions.get("users")
        sent = bodies_sent(fake)
        assert sent
        assert any("@everyone" in body["content"] for body in sent)
        for body in sent:
            assert body.get("allowed_mentions", {}).get("parse") == [], body


async def test_llm_401_says_check_the_key_and_never_shows_it(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    llm.enqueue(http_error(401, message=f"Incorrect API key provided: {SECRET_KEY}"))
    settings = make_settings(tmp_path, fake, llm).model_copy(
        update={"llm_api_key": SecretStr(SECRET_KEY)}
    )
    async with running_bot(settings, fake, llm) as app:
        await fake.invoke_slash_command("chat", {"prompt": "hello"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))

        def failed() -> str | None:
            mine = app.bot_messages(thread.id)
            text = mine[-1].content if mine else ""
            return text if "LLM_API_KEY" in text else None

        text = await fake.wait_for(failed, timeout=5)
        assert "Traceback" not in text
        assert llm.chat_requests[0].headers.get("Authorization") == f"Bearer {SECRET_KEY}"
    for message in fake.world.messages_by_id.values():
        for revision in message.revisions:
            assert SECRET_KEY not in revision.content
            assert "Traceback" not in revision.content
    for call in fake.calls:
        assert SECRET_KEY not in str(call.json)


async def test_mentions_at_a_message_split_and_in_a_thread_name_never_ping(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    assert fake.guild is not None and fake.user is not None
    role = fake.add_role(fake.guild.id, "mods")
    pings = f"@everyone @here <@&{role.id}> <@{fake.user.id}> <@!{fake.user.id}>"
    # Mentions on both sides of where a long answer must be split into two messages.
    long_answer = ("filler words " * 150) + pings + "\n\n" + ("more words " * 150) + pings
    llm.enqueue(text_reply(long_answer, chunk_size=7))
    async with running_bot(make_settings(tmp_path, fake, llm), fake, llm) as app:
        await fake.invoke_slash_command("chat", {"prompt": f"{pings} tell me a long story"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
        await fake.wait_for(
            lambda: (
                (
                    len(app.bot_messages(thread.id)) >= 2
                    and all(
                        "-# " in m.content or "words" in m.content
                        for m in app.bot_messages(thread.id)
                    )
                    and not stopping(app.bot_messages(thread.id)[-1])
                )
                or None
            )
        )
        assert thread.name.startswith("@everyone")  # named from the prompt, shown as text
        messages = [*app.bot_messages(thread.id), *app.bot_messages(app.channel_id)]
        assert len(app.bot_messages(thread.id)) >= 2
        for message in messages:
            assert not message.mention_everyone and message.mention_ids == []
            for revision in message.revisions:
                assert revision.allowed_mentions == {"parse": []} or (
                    revision.allowed_mentions is not None
                    and revision.allowed_mentions.get("parse") == []
                    and not revision.allowed_mentions.get("roles")
                    and not revision.allowed_mentions.get("users")
                )
