"""Tools from outside, end to end: a published MCP server (mcp-server-time) started by the
bot over stdio, its tools off until a channel switches them on, called by the model through
the tool loop; a destructive tool of the tests' own server asks for approval with buttons."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.e2e.conftest import (
    Running,
    click_as,
    ephemeral_reply,
    make_settings,
    running_bot,
)
from tests.fakes.discord_server import FakeDiscord, FakeMessage, FakeUser
from tests.fakes.llm_scripts import text_reply, tool_call_reply
from tests.fakes.llm_server import FakeLLMServer

ROOT = Path(__file__).resolve().parent.parent.parent
APPROVE = "switchboard:question:"


TIME = (
    "[mcp.time]\n"
    f'command = ["{sys.executable}", "-m", "mcp_server_time", "--local-timezone", "UTC"]\n'
)
LAB = (
    "[mcp.lab]\n"
    f'command = ["{sys.executable}", "-m", "tests.fakes.mcp_server"]\n'
    f'env = {{ PYTHONPATH = "{ROOT}" }}\n'
)


@asynccontextmanager
async def bot_with(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer], toml: str, tool: str
) -> AsyncIterator[Running]:
    """The bot with these MCP servers, once `tool` is offered."""
    fake, llm = fakes
    path = tmp_path / "switchboard.toml"
    path.write_text(toml, encoding="utf-8")
    settings = make_settings(tmp_path, fake, llm).model_copy(
        update={"config_file": path, "approval_timeout_seconds": 3.0}
    )
    async with running_bot(settings, fake, llm) as app:
        catalog = app.bot.services.catalog
        assert catalog.mcp is not None
        # The server starts in the background and nothing in Discord changes when it is
        # ready: wait on the manager's own change notifications.
        changed = asyncio.Event()
        catalog.mcp.add_listener(changed.set)
        async with asyncio.timeout(30):
            while True:
                changed.clear()
                if tool in catalog.names():
                    break
                await changed.wait()
        yield app


async def switch_on(app: Running, tool: str) -> None:
    interaction = await app.fake.invoke_slash_command(
        "settings", {"tool": tool, "enabled": True}, subcommand="tools"
    )
    reply = await ephemeral_reply(app.fake, interaction)
    assert f"`{tool}` is on" in reply.content


async def test_mcp_tool_is_off_until_switched_on_then_called(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    async with bot_with(tmp_path, fakes, TIME, "time__get_current_time") as app:
        await time_conversation(app)


async def time_conversation(app: Running) -> None:
    app.llm.enqueue(text_reply("I have no clock here."))
    await app.fake.invoke_slash_command("chat", {"prompt": "what time is it?"})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    await app.final_answer(thread.id)
    offered = {t["function"]["name"] for t in app.llm.chat_requests[0].json.get("tools", [])}
    assert "time__get_current_time" not in offered  # MCP tools are off by default

    await switch_on(app, "time__get_current_time")
    app.llm.enqueue(
        tool_call_reply([("time__get_current_time", {"timezone": "UTC"})]),
        text_reply("It is now."),
    )
    await app.fake.send_user_message(thread.id, content="and now?")
    answer = await app.final_answer(thread.id, index=1)
    assert "time\\_\\_get\\_current\\_time" in answer.content and "It is now." in answer.content
    result = next(m for m in app.llm.chat_requests[-1].json["messages"] if m["role"] == "tool")
    assert '"timezone": "UTC"' in result["content"] and "datetime" in result["content"]

    show = await app.fake.invoke_slash_command("settings", subcommand="show")
    listing = (await ephemeral_reply(app.fake, show)).content
    assert "MCP server `time`" in listing and "`time__get_current_time` ✅ on" in listing


async def prompt_in(app: Running, channel_id: int) -> FakeMessage:
    def found() -> FakeMessage | None:
        return next((m for m in app.bot_messages(channel_id) if "wants to run" in m.content), None)

    return await app.fake.wait_for(found, timeout=10)


async def test_mcp_destructive_tool_waits_for_approval(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    async with bot_with(tmp_path, fakes, LAB, "lab__delete_everything") as app:
        await switch_on(app, "lab__delete_everything")
        for decision in ("approve", "deny", None):
            await approval_round(app, decision)


async def approval_round(app: Running, decision: str | None) -> None:
    """One answer that calls the destructive tool: approved, denied, or left unanswered."""
    assert app.fake.user is not None
    app.llm.reset()
    app.llm.enqueue(
        tool_call_reply([("lab__delete_everything", {})]),
        text_reply("Done as you decided."),
    )
    before = {t.id for t in app.fake.threads(app.channel_id)}
    await app.fake.invoke_slash_command("chat", {"prompt": "clean up please"})
    thread = await app.fake.wait_for(
        lambda: next((t for t in app.fake.threads(app.channel_id) if t.id not in before), None)
    )
    prompt = await prompt_in(app, thread.id)
    assert "`lab__delete_everything`" in prompt.content
    if decision is None:
        await app.fake.wait_for(lambda: "No answer within" in prompt.content or None, timeout=10)
    else:
        stranger = FakeUser(id=4242, username="stranger")
        approve = next(
            c["custom_id"]
            for row in prompt.components
            for c in row["components"]
            if c["custom_id"].endswith(":yes")
        )
        refused = await click_as(app.fake, prompt.id, approve, stranger, permissions=0)
        notice = await ephemeral_reply(app.fake, refused)
        assert "Only the member who asked" in notice.content
        chosen = approve if decision == "approve" else approve.replace(":yes", ":no")
        await click_as(app.fake, prompt.id, chosen, app.fake.user)
    # The answer's own message (the prompt may come before or after its placeholder).
    await app.fake.wait_for(
        lambda: next(
            (
                m
                for m in app.bot_messages(thread.id)
                if "Done as you decided." in m.content and "-# " in m.content
            ),
            None,
        )
    )
    result = next(m for m in app.llm.chat_requests[-1].json["messages"] if m["role"] == "tool")
    if decision == "approve":
        assert "deleted nothing" in result["content"]
        assert "Approved by" in prompt.content
    elif decision == "deny":
        assert "declined" in result["content"]
        assert "Denied by" in prompt.content
    else:
        assert "declined" in result["content"]
    assert not prompt.components
