"""An MCP tool's image reaches a model that sees images as an image, where each provider takes
it: chat completions after the tool results as a user message (tool messages carry text
only), Anthropic inside the `tool_result`, the Responses API in the `function_call_output`.
A model without vision reads the tool's text, which names the image. The tests' own MCP
server returns a caption and a 1x1 PNG; the strict provider fakes check where images go."""

from __future__ import annotations

import asyncio
import base64
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Running, ephemeral_reply, make_settings, running_bot
from tests.fakes.anthropic_scripts import anthropic_text_reply, anthropic_tool_reply
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.llm_scripts import text_reply, tool_call_reply
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.mcp_server import PIXEL_PNG
from tests.fakes.responses_scripts import responses_text, responses_tool_calls
from tests.fakes.responses_server import FakeResponsesServer

ROOT = Path(__file__).resolve().parent.parent.parent
LAB = (
    "[mcp.lab]\n"
    f'command = ["{sys.executable}", "-m", "tests.fakes.mcp_server"]\n'
    f'env = {{ PYTHONPATH = "{ROOT}" }}\n'
)
PIXEL_URL = "data:image/png;base64," + base64.b64encode(PIXEL_PNG).decode()


@asynccontextmanager
async def lab_bot(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer], provider: str, model_ref: str
) -> AsyncIterator[Running]:
    """The bot answering with `model_ref` (configured by `provider`, a TOML fragment), with
    the lab server's image tool switched on in the channel."""
    fake, llm = fakes
    path = tmp_path / "switchboard.toml"
    path.write_text(provider + "\n" + LAB, encoding="utf-8")
    settings = make_settings(tmp_path, fake, llm).model_copy(
        update={"config_file": path, "llm_model": model_ref}
    )
    async with running_bot(settings, fake, llm) as app:
        catalog = app.bot.services.catalog
        assert catalog.mcp is not None
        changed = asyncio.Event()
        catalog.mcp.add_listener(changed.set)
        async with asyncio.timeout(60):
            while "lab__image" not in catalog.names():
                changed.clear()
                await changed.wait()
        switched = await fake.invoke_slash_command(
            "settings", {"tool": "lab__image", "enabled": True}, subcommand="tools"
        )
        assert "`lab__image` is on" in (await ephemeral_reply(fake, switched)).content
        yield app


async def ask_for_the_picture(app: Running) -> str:
    await app.fake.invoke_slash_command("chat", {"prompt": "show me the picture"})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    return (await app.final_answer(thread.id)).content


def chat_provider(base_url: str, model: str, vision: bool) -> str:
    return (
        f'[providers.main]\nbase_url = "{base_url}"\n\n'
        f'[models."main/{model}"]\nvision = {str(vision).lower()}\n'
    )


async def test_chat_completions_tool_image_follows_the_results_as_a_user_message(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    _, llm = fakes
    provider = chat_provider(llm.base_url, "gpt-4.1-mini", vision=True)
    async with lab_bot(tmp_path, fakes, provider, "main/gpt-4.1-mini") as app:
        llm.enqueue(tool_call_reply([("lab__image", {})]), text_reply("A red pixel."))
        shown = await ask_for_the_picture(app)
    assert "A red pixel." in shown
    last = llm.chat_requests[-1]
    assert last.rejected is None
    messages = last.json["messages"]
    tool = next(i for i, m in enumerate(messages) if m["role"] == "tool")
    assert isinstance(messages[tool]["content"], str)
    assert "a red pixel" in messages[tool]["content"]
    assert "[image 1: image/png, 1x1" in messages[tool]["content"]
    after = messages[tool + 1]
    assert after["role"] == "user"
    assert "lab__image image 1" in after["content"][0]["text"]
    assert after["content"][1] == {"type": "image_url", "image_url": {"url": PIXEL_URL}}


async def test_a_model_without_vision_reads_the_tools_note_instead(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    _, llm = fakes
    provider = chat_provider(llm.base_url, "deepseek-chat", vision=False)
    async with lab_bot(tmp_path, fakes, provider, "main/deepseek-chat") as app:
        llm.enqueue(tool_call_reply([("lab__image", {})]), text_reply("I can't see it."))
        await ask_for_the_picture(app)
    last = llm.chat_requests[-1]
    assert last.rejected is None
    assert "image_url" not in str(last.json["messages"])
    tool = next(m for m in last.json["messages"] if m["role"] == "tool")
    assert "[image 1: image/png, 1x1" in tool["content"]
    assert "can't see the images" in tool["content"]
    assert last.json["messages"][-1]["role"] == "tool"


async def test_anthropic_tool_result_holds_the_image(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "sk-ant-test")
    async with FakeAnthropicServer(api_key="sk-ant-test") as claude:
        provider = (
            f'[providers.claude]\nbase_url = "{claude.base_url}"\n'
            'api_key_env = "TEST_ANTHROPIC_KEY"\nprotocol = "anthropic"\n\n'
            '[models."claude/claude-sonnet-4-5"]\n'
        )
        async with lab_bot(tmp_path, fakes, provider, "claude/claude-sonnet-4-5") as app:
            claude.enqueue(
                anthropic_tool_reply([("lab__image", {})]), anthropic_text_reply("A red pixel.")
            )
            assert "A red pixel." in await ask_for_the_picture(app)
    last = claude.messages_requests[-1]
    assert last.rejected is None
    results = [
        block
        for message in last.json["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block["type"] == "tool_result"
    ]
    (result,) = results
    text, image = result["content"]
    assert text["type"] == "text" and "a red pixel" in text["text"]
    source: dict[str, Any] = image["source"]
    assert image["type"] == "image" and source["media_type"] == "image/png"
    assert base64.b64decode(source["data"]) == PIXEL_PNG


async def test_responses_function_call_output_holds_the_image(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    async with FakeResponsesServer() as openai:
        provider = (
            f'[providers.openai]\nbase_url = "{openai.base_url}"\nprotocol = "responses"\n\n'
            '[models."openai/gpt-4.1-mini"]\n'
        )
        async with lab_bot(tmp_path, fakes, provider, "openai/gpt-4.1-mini") as app:
            openai.enqueue(
                responses_tool_calls([("lab__image", {})], reasoning=None, model="gpt-4.1-mini"),
                responses_text("A red pixel."),
            )
            assert "A red pixel." in await ask_for_the_picture(app)
    last = openai.responses_requests[-1]
    assert last.rejected is None
    (output,) = [i for i in last.json["input"] if i.get("type") == "function_call_output"]
    text, image = output["output"]
    assert text["type"] == "input_text" and "a red pixel" in text["text"]
    assert image == {"type": "input_image", "image_url": PIXEL_URL}
