"""Models as members meet them: fallbacks named in the footer and billed to the model that
answered, unknown references refused plainly, every provider's models offered, thinking
written inline shown as thinking, refusals shown as the answer, garbage said plainly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.billing.ledger_rows import LedgerReader
from tests.e2e.conftest import Running, ephemeral_reply, make_settings, running_bot
from tests.e2e.test_settings import autocomplete
from tests.fakes.discord_server import FakeDiscord, FakeMessage
from tests.fakes.llm_scripts import Scripted, http_error, text_reply
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.provider_scripts import refusal_reply, think_tags_reply

PRIMARY = "deepseek/deepseek-v4-flash"
SPARE = "spare/spare-model"


@pytest.fixture
async def two(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> AsyncIterator[tuple[Running, FakeLLMServer, FakeLLMServer]]:
    """The bot with a DeepSeek-like primary (falling back to a spare provider) and the
    default endpoint."""
    fake, generic = fakes
    async with (
        FakeLLMServer(models=["deepseek-v4-flash", "deepseek-v4-pro"]) as primary,
        FakeLLMServer(models=["spare-model"]) as spare,
    ):
        toml = tmp_path / "switchboard.toml"
        toml.write_text(
            f'[providers.deepseek]\nbase_url = "{primary.base_url}"\n\n'
            f'[providers.spare]\nbase_url = "{spare.base_url}"\n\n'
            f'[models."{PRIMARY}"]\nfallback = ["{SPARE}"]\n',
            encoding="utf-8",
        )
        settings = make_settings(tmp_path, fake, generic).model_copy(
            update={"config_file": toml, "llm_model": PRIMARY, "llm_max_retries": 0}
        )
        async with running_bot(settings, fake, generic) as app:
            yield app, primary, spare


async def ask(app: Running, prompt: str, **options: str) -> FakeMessage:
    await app.fake.invoke_slash_command("chat", {"prompt": prompt, **options})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    return await app.final_answer(thread.id)


async def test_models_fallback_answers_is_named_and_billed(
    two: tuple[Running, FakeLLMServer, FakeLLMServer],
) -> None:
    app, primary, spare = two
    primary.enqueue(http_error(503, message="Server overloaded"))
    spare.enqueue(text_reply("The spare answers."))

    answer = await ask(app, "hello")

    assert "The spare answers." in answer.content
    assert f"↪ {SPARE} answered: {PRIMARY} failed" in answer.content
    footer = answer.content.splitlines()[-1]
    assert footer.startswith(f"-# {SPARE}")
    rows = await LedgerReader(app.bot.services.db).count()
    assert rows == 1
    async with app.bot.services.db.reading() as conn:
        found = await conn.execute_fetchall("SELECT provider, model, status FROM usage_ledger")
    assert [tuple(r) for r in found] == [("spare", SPARE, "completed")]


async def test_models_unknown_reference_is_refused_with_how_to_find_models(
    two: tuple[Running, FakeLLMServer, FakeLLMServer],
) -> None:
    app, primary, _ = two
    interaction = await app.fake.invoke_slash_command(
        "chat", {"prompt": "hi", "model": "deepseek/deepseek-v9"}
    )
    reply = await ephemeral_reply(app.fake, interaction)
    assert "I don't know the model `deepseek/deepseek-v9`" in reply.content
    assert "Start typing in the `model` option" in reply.content
    assert primary.chat_requests == [] and not app.fake.threads(app.channel_id)


async def test_models_chat_with_another_providers_model(
    two: tuple[Running, FakeLLMServer, FakeLLMServer],
) -> None:
    app, primary, spare = two
    spare.enqueue(text_reply("Spare here."))
    answer = await ask(app, "hi", model="spare/spare-model")
    assert "Spare here." in answer.content
    assert spare.chat_requests[0].json["model"] == "spare-model"
    assert primary.chat_requests == []


async def test_models_autocomplete_offers_every_providers_models(
    two: tuple[Running, FakeLLMServer, FakeLLMServer],
) -> None:
    app, _, _ = two
    offered = await autocomplete(app, "")
    assert offered[0] == PRIMARY
    assert set(offered) >= {
        "deepseek/deepseek-v4-pro",
        "spare/spare-model",
        "fake-model",  # the default endpoint's own list
        "fake-model-large",
    }
    assert await autocomplete(app, "spare") == ["spare/spare-model"]


async def test_models_settings_show_names_the_provider(
    two: tuple[Running, FakeLLMServer, FakeLLMServer],
) -> None:
    app, _, _ = two
    interaction = await app.fake.invoke_slash_command("settings", subcommand="show")
    reply = await ephemeral_reply(app.fake, interaction)
    assert f"`{PRIMARY}` (provider `deepseek`)" in reply.content


@pytest.mark.parametrize("style", ["inline", "r1"])
async def test_models_thinking_written_inline_is_shown_and_kept_as_thinking(
    app: Running, style: str
) -> None:
    app.llm.enqueue(
        think_tags_reply("The member greets me; greet back.", "Hello there!", style=style)  # type: ignore[arg-type]
    )
    answer = await ask(app, "hi")
    assert "Hello there!" in answer.content
    assert "greet back" not in answer.content and "think>" not in answer.content
    assert "💭 Thought for" in answer.content
    stored = await app.bot.services.messages.history(1)
    reply = stored[-1]
    assert reply.content == "Hello there!"
    assert [(s.kind, s.content) for s in reply.steps] == [
        ("reasoning", "The member greets me; greet back."),
        ("text", "Hello there!"),
    ]
    # The next turn replays the answer, never the thinking.
    app.llm.enqueue(text_reply("Fine."))
    await app.fake.send_user_message(answer.channel_id, content="how are you?")
    await app.final_answer(answer.channel_id, index=1)
    sent = app.llm.chat_requests[-1].json["messages"]
    assert sent[-2] == {"role": "assistant", "content": "Hello there!"}


async def test_models_refusal_is_the_answer(app: Running) -> None:
    app.llm.enqueue(refusal_reply("I'm sorry, but I can't help with that."))
    answer = await ask(app, "something bad")
    assert "I'm sorry, but I can't help with that." in answer.content
    assert "empty answer" not in answer.content
    stored = await app.bot.services.messages.history(1)
    assert stored[-1].content == "I'm sorry, but I can't help with that."


async def test_models_html_page_from_a_provider_is_said_plainly(app: Running) -> None:
    page = Scripted(body=b"<html><body>Welcome to nginx!</body></html>", content_type="text/html")
    app.llm.enqueue(page)
    answer = await app.fake.invoke_slash_command("chat", {"prompt": "hi"})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))

    def shown() -> str | None:
        mine = app.bot_messages(thread.id)
        text = mine[-1].content if mine else ""
        return text if "web page" in text else None

    text = await app.fake.wait_for(shown)
    assert "answered with a web page instead of a model response" in text
    assert answer is not None
    # The bot is still up: the next message is answered.
    app.llm.enqueue(text_reply("Back to normal."))
    await app.fake.send_user_message(thread.id, content="again")
    assert "Back to normal." in (await app.final_answer(thread.id, index=1)).content
