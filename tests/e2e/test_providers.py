"""Every provider, faithfully: a tool conversation per provider through the fake Discord,
with the bot restarted between turns, and the provider's strict check passing at every
request (what thinking models need back survives in the database, not in memory)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import make_settings, running_bot
from tests.fakes.anthropic_scripts import anthropic_text_reply, anthropic_tool_reply
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.llm_scripts import Scripted
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.provider_scripts import deepseek_responder, gemini_responder, openrouter_responder
from tests.fakes.responses_scripts import responses_text, responses_tool_calls
from tests.fakes.responses_server import FakeResponsesServer

Responder = Callable[[dict[str, Any]], Scripted]

# provider flavour → (model reference, extra TOML for the model, responder)
CASES: dict[str, tuple[str, str, Responder]] = {
    "deepseek": (
        "deepseek/deepseek-v4-flash",
        'params = { reasoning_effort = "high" }',
        deepseek_responder(rounds=1, tool="current_time", arguments={}, text="It is late."),
    ),
    "gemini": (
        "gemini/gemini-3-pro-preview",
        "",
        gemini_responder(rounds=2, tool="current_time", arguments={}, text="It is late."),
    ),
    "openrouter": (
        "openrouter/anthropic/claude-sonnet-4.5",
        "params = { reasoning = { enabled = true } }",
        openrouter_responder(rounds=1, tool="current_time", arguments={}, text="It is late."),
    ),
}


def config_file(tmp_path: Path, flavour: str, base_url: str, model_ref: str, extra: str) -> Path:
    path = tmp_path / "switchboard.toml"
    path.write_text(
        f'[providers.{flavour}]\nbase_url = "{base_url}"\n\n[models."{model_ref}"]\n{extra}\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("flavour", sorted(CASES))
async def test_providers_tool_conversation_survives_restarts(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer], flavour: str
) -> None:
    fake, generic = fakes
    model_ref, extra, responder = CASES[flavour]
    async with FakeLLMServer(flavour=flavour, responder=responder) as provider:  # type: ignore[arg-type]
        settings = make_settings(tmp_path, fake, generic).model_copy(
            update={
                "config_file": config_file(tmp_path, flavour, provider.base_url, model_ref, extra),
                "llm_model": model_ref,
            }
        )
        async with running_bot(settings, fake, generic) as app:
            await fake.invoke_slash_command("chat", {"prompt": "what time is it?"})
            thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
            first = await app.final_answer(thread.id)
            assert "It is late." in first.content
            assert "current\\_time" in first.content  # the tool line (markdown-escaped)
        for turn in (1, 2):  # a restart before every later turn
            async with running_bot(settings, fake, generic) as app:
                await fake.send_user_message(thread.id, content=f"and now? ({turn})")
                answer = await app.final_answer(thread.id, index=turn)
                assert "It is late." in answer.content

    requests = provider.chat_requests
    assert [r.rejected for r in requests if r.rejected] == []
    assert generic.chat_requests == []  # nothing went to the default endpoint
    tool_rounds = 2 if flavour == "gemini" else 1
    assert len(requests) == 3 * (tool_rounds + 1)
    # The last request carries every earlier tool round with what the provider needs back.
    sent = requests[-1].json["messages"]
    calls = [m for m in sent if m["role"] == "assistant" and m.get("tool_calls")]
    assert len(calls) == 3 * tool_rounds
    for message in calls:
        if flavour == "deepseek":
            assert message["reasoning_content"].startswith("Step ")
        elif flavour == "gemini":
            assert "thought_signature" in message["tool_calls"][0]["extra_content"]["google"]
        else:
            assert message["reasoning_details"]
    assert not any("Step " in (m.get("content") or "") for m in sent)  # never as text


def anthropic_responder(body: dict[str, Any]) -> Scripted:
    """A thinking Claude: a tool round on every member message, then an answer."""
    last = body["messages"][-1]
    content = last["content"] if isinstance(last["content"], list) else []
    if any(block.get("type") == "tool_result" for block in content):
        return anthropic_text_reply("It is late.", thinking_text="The tool answered.")
    return anthropic_tool_reply([("current_time", {})], thinking_text="I need the clock.")


def responses_responder(body: dict[str, Any]) -> Scripted:
    """A reasoning model on the Responses API: a function call, then an answer."""
    if body["input"][-1].get("type") == "function_call_output":
        return responses_text("It is late.", reasoning="The tool answered.", model=body["model"])
    return responses_tool_calls([("current_time", {})], model=body["model"])


async def converse_across_restarts(
    tmp_path: Path,
    fake: FakeDiscord,
    generic: FakeLLMServer,
    toml: str,
    model_ref: str,
) -> None:
    """/chat, then two more turns in the thread, each after a restart of the bot."""
    path = tmp_path / "switchboard.toml"
    path.write_text(toml, encoding="utf-8")
    settings = make_settings(tmp_path, fake, generic).model_copy(
        update={"config_file": path, "llm_model": model_ref}
    )
    async with running_bot(settings, fake, generic) as app:
        await fake.invoke_slash_command("chat", {"prompt": "what time is it?"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
        first = await app.final_answer(thread.id)
        assert "It is late." in first.content and "current\\_time" in first.content
        assert "Thought for" in first.content  # the thinking was shown, then collapsed
    for turn in (1, 2):
        async with running_bot(settings, fake, generic) as app:
            await fake.send_user_message(thread.id, content=f"and now? ({turn})")
            answer = await app.final_answer(thread.id, index=turn)
            assert "It is late." in answer.content
    assert generic.chat_requests == []


async def test_providers_anthropic_thinking_blocks_survive_restarts(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, generic = fakes
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "sk-ant-test")
    async with FakeAnthropicServer(responder=anthropic_responder, api_key="sk-ant-test") as claude:
        toml = (
            f'[providers.claude]\nbase_url = "{claude.base_url}"\n'
            'api_key_env = "TEST_ANTHROPIC_KEY"\nprotocol = "anthropic"\n\n'
            '[models."claude/claude-sonnet-4-5-20250929"]\n'
            'params = { thinking = { type = "enabled", budget_tokens = 1024 }, '
            "max_tokens = 4096 }\n"
        )
        await converse_across_restarts(
            tmp_path, fake, generic, toml, "claude/claude-sonnet-4-5-20250929"
        )
    requests = claude.messages_requests
    assert [r.rejected for r in requests if r.rejected] == []
    assert len(requests) == 6
    sent = requests[-1].json
    assert isinstance(sent["system"], str) and "Switchboard" in sent["system"]
    tool_turns = [
        m
        for m in sent["messages"]
        if m["role"] == "assistant" and any(b["type"] == "tool_use" for b in m["content"])
    ]
    assert len(tool_turns) == 3
    for message in tool_turns:
        first = message["content"][0]
        assert first["type"] == "thinking" and first["signature"]


async def test_providers_responses_reasoning_items_survive_restarts(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, generic = fakes
    async with FakeResponsesServer(responder=responses_responder) as openai:
        toml = (
            f'[providers.openai]\nbase_url = "{openai.base_url}"\nprotocol = "responses"\n\n'
            '[models."openai/gpt-5-mini"]\n'
            'params = { reasoning = { effort = "low", summary = "auto" } }\n'
        )
        await converse_across_restarts(tmp_path, fake, generic, toml, "openai/gpt-5-mini")
    requests = openai.responses_requests
    assert [r.rejected for r in requests if r.rejected] == []
    assert len(requests) == 6
    sent = requests[-1].json
    assert sent["store"] is False and "Switchboard" in sent["instructions"]
    kinds = [item.get("type", "message") for item in sent["input"]]
    # Every earlier function call is preceded by its encrypted reasoning item.
    assert kinds.count("reasoning") == 3 and kinds.count("function_call") == 3
    for i, kind in enumerate(kinds):
        if kind == "function_call":
            assert kinds[i - 1] == "reasoning"
            assert sent["input"][i - 1]["encrypted_content"]


async def test_providers_model_switch_in_a_thread_retells_other_models_rounds(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    """DeepSeek, then Gemini, then DeepSeek again in one thread, each using a tool: each
    provider gets its own rounds with their state and the other's rounds as text, and no
    strict check fails (DeepSeek would refuse a Gemini tool round without reasoning)."""
    fake, generic = fakes
    tools = {"tool": "current_time", "arguments": {}, "text": "It is late."}
    async with (
        FakeLLMServer(flavour="deepseek", responder=deepseek_responder(**tools)) as deepseek,  # type: ignore[arg-type]
        FakeLLMServer(flavour="gemini", responder=gemini_responder(**tools)) as gemini,
    ):
        toml = tmp_path / "switchboard.toml"
        toml.write_text(
            f'[providers.deepseek]\nbase_url = "{deepseek.base_url}"\n\n'
            f'[providers.gemini]\nbase_url = "{gemini.base_url}"\n',
            encoding="utf-8",
        )
        settings = make_settings(tmp_path, fake, generic).model_copy(
            update={"config_file": toml, "llm_model": "deepseek/deepseek-v4-flash"}
        )
        async with running_bot(settings, fake, generic) as app:
            await fake.invoke_slash_command("chat", {"prompt": "what time is it?"})
            thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
            await app.final_answer(thread.id)
            for index, model in enumerate(
                ("gemini/gemini-3-pro-preview", "deepseek/deepseek-v4-flash"), start=1
            ):
                await fake.invoke_slash_command(
                    "settings", {"model": model}, subcommand="model", channel_id=thread.id
                )
                await fake.send_user_message(thread.id, content=f"and now? ({index})")
                # The /settings reply is a message of the thread too.
                answer = await app.final_answer(thread.id, index=2 * index)
                assert "It is late." in answer.content
                assert model in answer.content  # the footer names the model
    assert [r.rejected for r in deepseek.chat_requests + gemini.chat_requests if r.rejected] == []
    assert (len(deepseek.chat_requests), len(gemini.chat_requests)) == (4, 2)
    last = deepseek.chat_requests[-1].json["messages"]
    structured = [m for m in last if m.get("tool_calls")]
    assert len(structured) == 2 and all(m["reasoning_content"] for m in structured)
    retold = [
        m for m in last if m["role"] == "assistant" and "I used the tool" in (m["content"] or "")
    ]
    assert len(retold) == 1 and "thought_signature" not in str(last)
