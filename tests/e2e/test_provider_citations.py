"""A provider's own web search end to end: the model's `params` in CONFIG_FILE switch it on
(OpenRouter's web plugin, the Responses API's hosted `web_search`, Anthropic's server tool),
the sources it cites are listed under the answer like `web_search` results (links that do
not unfold into embeds), they survive a restart (an interrupted answer still lists them), and
no later request carries them back to the strict provider."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.settings import Settings
from tests.e2e.conftest import button_with, make_settings, running_bot
from tests.e2e.test_recovery import snapshot
from tests.fakes.anthropic_scripts import anthropic_reply, text, web_search
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.discord_server import FakeDiscord, FakeMessage
from tests.fakes.llm_scripts import cited_reply, stall, text_reply
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.responses_scripts import responses_text
from tests.fakes.responses_server import FakeResponsesServer

HITS = [
    ("Python 3.13 released", "https://python.example/3.13"),
    ("What's new", "https://docs.example/whatsnew"),
]
FOOTER = (
    "-# Sources: [Python 3.13 released](<https://python.example/3.13>) · "
    "[What's new](<https://docs.example/whatsnew>)"
)
OPENROUTER_MODEL = "openrouter/openai/gpt-5-mini"


def with_config(settings: Settings, tmp_path: Path, toml: str, model_ref: str) -> Settings:
    path = tmp_path / "switchboard.toml"
    path.write_text(toml, encoding="utf-8")
    return settings.model_copy(update={"config_file": path, "llm_model": model_ref})


def openrouter_toml(base_url: str) -> str:
    return (
        f'[providers.openrouter]\nbase_url = "{base_url}"\n\n'
        f'[models."{OPENROUTER_MODEL}"]\nparams = {{ plugins = [{{ id = "web" }}] }}\n'
    )


async def test_openrouter_web_plugin_citations_in_the_footer_and_never_sent_back(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, generic = fakes
    async with FakeLLMServer(flavour="openrouter") as openrouter:
        settings = with_config(
            make_settings(tmp_path, fake, generic),
            tmp_path,
            openrouter_toml(openrouter.base_url),
            OPENROUTER_MODEL,
        )
        # The cited round also calls a tool, so its stored state is replayed later.
        openrouter.enqueue(
            cited_reply("Searching done.", HITS, calls=[("current_time", {})]),
            text_reply("Python 3.13 is out."),
        )
        async with running_bot(settings, fake, generic) as app:
            await fake.invoke_slash_command("chat", {"prompt": "latest python?"})
            thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
            answer = await app.final_answer(thread.id)
        openrouter.enqueue(text_reply("Still 3.13."))
        async with running_bot(settings, fake, generic) as app:  # after a restart
            await fake.send_user_message(thread.id, content="and now?")
            later = await app.final_answer(thread.id, index=1)
    assert "Python 3.13 is out." in answer.content
    assert FOOTER in answer.content
    assert "Still 3.13." in later.content and "Sources" not in later.content
    requests = openrouter.chat_requests
    assert [r.rejected for r in requests] == [None, None, None]
    assert all(r.json["plugins"] == [{"id": "web"}] for r in requests)
    assert "python.example" not in json.dumps(requests[-1].json)  # cited, never sent back
    assert generic.chat_requests == []


async def test_responses_hosted_web_search_citations_in_the_footer(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, generic = fakes
    async with FakeResponsesServer() as openai:
        toml = (
            f'[providers.openai]\nbase_url = "{openai.base_url}"\nprotocol = "responses"\n\n'
            '[models."openai/gpt-4.1-mini"]\nparams = { tools = [{ type = "web_search" }] }\n'
        )
        settings = with_config(
            make_settings(tmp_path, fake, generic), tmp_path, toml, "openai/gpt-4.1-mini"
        )
        openai.enqueue(responses_text("Python 3.13 is out.", searched="python", cites=HITS))
        async with running_bot(settings, fake, generic) as app:
            await fake.invoke_slash_command("chat", {"prompt": "latest python?"})
            thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
            answer = await app.final_answer(thread.id)
    assert "Python 3.13 is out." in answer.content and FOOTER in answer.content
    sent = openai.responses_requests[0]
    assert sent.rejected is None
    tools = sent.json["tools"]
    assert {"type": "web_search"} in tools and any(t["type"] == "function" for t in tools)


async def test_anthropic_server_web_search_citations_in_the_footer(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, generic = fakes
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "sk-ant-test")
    async with FakeAnthropicServer(api_key="sk-ant-test") as claude:
        toml = (
            f'[providers.claude]\nbase_url = "{claude.base_url}"\n'
            'api_key_env = "TEST_ANTHROPIC_KEY"\nprotocol = "anthropic"\n\n'
            '[models."claude/claude-sonnet-4-5"]\n'
            'params = { tools = [{ type = "web_search_20250305", name = "web_search", '
            "max_uses = 3 }] }\n"
        )
        settings = with_config(
            make_settings(tmp_path, fake, generic), tmp_path, toml, "claude/claude-sonnet-4-5"
        )
        blocks = [*web_search("python", HITS), text("Python 3.13 is out.", cites=HITS[:1])]
        claude.enqueue(anthropic_reply(blocks))
        async with running_bot(settings, fake, generic) as app:
            await fake.invoke_slash_command("chat", {"prompt": "latest python?"})
            thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
            answer = await app.final_answer(thread.id)
    assert "Python 3.13 is out." in answer.content and FOOTER in answer.content
    sent = claude.messages_requests[0]
    assert sent.rejected is None
    assert [t["name"] for t in sent.json["tools"]][-1] == "web_search"


async def test_an_answer_cut_by_a_restart_still_lists_what_it_had_cited(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, generic = fakes
    crashed = tmp_path / "crashed.db"
    async with FakeLLMServer(flavour="openrouter") as openrouter:
        settings = with_config(
            make_settings(tmp_path, fake, generic),
            tmp_path,
            openrouter_toml(openrouter.base_url),
            OPENROUTER_MODEL,
        )
        openrouter.enqueue(
            cited_reply("Searching done.", HITS, calls=[("current_time", {})]),
            stall(text_reply("Partial words before the crash.", chunk_size=8), after=4),
        )
        async with running_bot(settings, fake, generic, grace_s=0.1) as app:
            await fake.invoke_slash_command("chat", {"prompt": "latest python?"})
            thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))

            def streaming() -> FakeMessage | None:
                mine = app.bot_messages(thread.id)
                shown = mine and "Partial" in mine[-1].content
                return mine[-1] if shown and button_with(mine[-1], "switchboard:stop:") else None

            message = await fake.wait_for(streaming)
            assert "Sources" not in message.content  # listed once the answer ends
            snapshot(settings.database_path, crashed)
            seen = (message.content, list(message.components))
        # A crash leaves the message as it was (this bot's orderly stop edited it since).
        message.content, message.components = seen
        restarted = settings.model_copy(update={"database_path": crashed})
        async with running_bot(restarted, fake, generic):
            await fake.wait_for(lambda: "Interrupted" in message.content or None)
    assert "Partial" in message.content
    assert FOOTER in message.content
