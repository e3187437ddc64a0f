"""/settings end to end: each subcommand changes what `/settings show` says and the behaviour it
controls, per channel, with threads inheriting their parent's settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.e2e.conftest import Running
from tests.fakes.discord import control
from tests.fakes.discord_server import FakeInteraction, FakeMessage, FakeUser
from tests.fakes.llm_scripts import text_reply

# --- helpers (test_permissions.py uses them too) ---------------------------------------------


async def settings(
    app: Running,
    subcommand: str,
    options: Mapping[str, control.OptionValue] | None = None,
    *,
    channel_id: int | None = None,
    user: FakeUser | None = None,
    permissions: int | None = None,
) -> FakeInteraction:
    """Invoke `/settings <subcommand>`; with `permissions`, the member has only those here
    (the fake otherwise reports every permission in interactions)."""
    if permissions is None:
        return await app.fake.invoke_slash_command(
            "settings", options, subcommand=subcommand, channel_id=channel_id, user=user
        )
    fake = app.fake
    channel = fake.world.channels[channel_id or app.channel_id]
    member_user = user or fake.user
    assert member_user is not None and channel.guild_id is not None
    if fake.world.member(channel.guild_id, member_user.id) is None:
        fake.add_member(channel.guild_id, member_user)
    interaction = control.slash_command(
        fake.world,
        "settings",
        options,
        user=member_user,
        channel=channel,
        guild_id=channel.guild_id,
        subcommand=subcommand,
        subcommand_group=None,
    )
    interaction.payload["member"]["permissions"] = str(permissions)
    interaction.payload["channel"]["permissions"] = str(permissions)
    return fake._inject(interaction)


async def reply_to(app: Running, interaction: FakeInteraction) -> FakeMessage:
    """The bot's finished reply to an interaction (past a "thinking…" defer)."""

    def find() -> FakeMessage | None:
        for message_id in (interaction.original_message_id, *interaction.followup_ids):
            if message_id is None:
                continue
            message = app.fake.message(message_id)
            if not message.loading and message.content:
                return message
        return None

    return await app.fake.wait_for(find, timeout=5)


async def run(
    app: Running,
    subcommand: str,
    options: Mapping[str, control.OptionValue] | None = None,
    **kwargs: Any,
) -> str:
    """Run a /settings subcommand and return its (ephemeral) reply text."""
    message = await reply_to(app, await settings(app, subcommand, options, **kwargs))
    assert message.ephemeral, message.content
    return message.content


def line_of(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if label in line)


async def chat_thread(app: Running, prompt: str = "hello") -> int:
    """/chat in the channel; returns the new thread's id once its answer is final."""
    await app.fake.invoke_slash_command("chat", {"prompt": prompt})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    await app.final_answer(thread.id)
    return thread.id


# --- show ------------------------------------------------------------------------------------


async def test_settings_show_lists_defaults_ephemerally(app: Running) -> None:
    shown = await run(app, "show")
    assert "`fake-model`" in line_of(shown, "Model:")
    assert "You are Switchboard" in line_of(shown, "System prompt:")
    assert "show" in line_of(shown, "Reasoning:")
    assert "threads" in line_of(shown, "Mode:")
    assert "on" in line_of(shown, "Mentions:")
    assert "✅ on" in line_of(shown, "`calculator`")
    assert "⛔ off" in line_of(shown, "`fetch_url`")
    assert all("default" in line for line in shown.splitlines()[1:] if "·" in line)


# --- model -----------------------------------------------------------------------------------


async def test_settings_model_is_sent_to_the_endpoint(app: Running) -> None:
    text = await run(app, "model", {"model": "fake-model-large"})
    assert "`fake-model-large`" in text and "⚠️" not in text
    assert "set here" in line_of(await run(app, "show"), "Model:")

    app.llm.enqueue(text_reply("Big answer."))
    thread_id = await chat_thread(app)
    assert app.llm.chat_requests[0].json["model"] == "fake-model-large"
    # The thread inherits the channel's model.
    assert "fake-model-large" in line_of(await run(app, "show", channel_id=thread_id), "Model:")
    assert f"from <#{app.channel_id}>" in line_of(
        await run(app, "show", channel_id=thread_id), "Model:"
    )


async def test_settings_model_unknown_to_the_endpoint_is_set_with_a_warning(app: Running) -> None:
    text = await run(app, "model", {"model": "my-local-model"})
    assert "`my-local-model`" in text and "doesn't list" in text
    assert "my-local-model" in line_of(await run(app, "show"), "Model:")


async def test_settings_model_with_spaces_is_refused(app: Running) -> None:
    text = await run(app, "model", {"model": "gpt 4"})
    assert "no spaces" in text
    assert "default" in line_of(await run(app, "show"), "Model:")


async def test_settings_model_autocomplete_offers_the_endpoint_models(app: Running) -> None:
    choices = await autocomplete(app, "large")
    assert choices == ["fake-model-large"]
    assert await autocomplete(app, "") == ["fake-model", "fake-model-large"]
    listed = [r for r in app.llm.requests if r.path.endswith("/models")]
    assert len(listed) == 1  # cached between keystrokes


async def test_settings_model_autocomplete_falls_back_to_the_default(app: Running) -> None:
    app.llm.api_key = "required-now"  # /models answers 401
    assert await autocomplete(app, "") == ["fake-model"]
    text = await run(app, "model", {"model": "anything"})
    assert "`anything`" in text and "doesn't list" not in text  # can't tell: no warning


async def autocomplete(app: Running, typed: str) -> list[str]:
    """Send an autocomplete interaction for `/settings model model:<typed>`; the choices."""
    fake = app.fake
    assert fake.user is not None and fake.channel is not None
    interaction = control.slash_command(
        fake.world,
        "settings",
        {"model": typed},
        user=fake.user,
        channel=fake.channel,
        guild_id=fake.channel.guild_id,
        subcommand="model",
        subcommand_group=None,
    )
    interaction.type = 4
    interaction.payload["type"] = 4
    interaction.payload["data"]["options"][0]["options"][0]["focused"] = True
    fake._inject(interaction)

    def answered() -> list[str] | None:
        for call in fake.calls_to("POST", "/callback"):
            if str(interaction.id) in call.path and call.json.get("type") == 8:
                return [c["value"] for c in call.json["data"]["choices"]]
        return None

    return await fake.wait_for(answered)


# --- system prompt ---------------------------------------------------------------------------


async def test_settings_system_prompt_is_sent_and_resets(app: Running) -> None:
    text = await run(app, "system-prompt", {"text": "Answer like a pirate."})
    assert "set" in text
    assert "Answer like a pirate." in line_of(await run(app, "show"), "System prompt:")
    app.llm.enqueue(text_reply("Arr."))
    await chat_thread(app)
    assert "Answer like a pirate." in app.llm.chat_requests[0].json["messages"][0]["content"]

    text = await run(app, "system-prompt")
    assert "reset" in text
    shown = line_of(await run(app, "show"), "System prompt:")
    assert "You are Switchboard" in shown and "default" in shown


async def test_settings_show_shortens_a_long_system_prompt(app: Running) -> None:
    await run(app, "system-prompt", {"text": "word " * 700})
    shown = line_of(await run(app, "show"), "System prompt:")
    assert "…" in shown and len(shown) < 300


# --- tools -----------------------------------------------------------------------------------


async def test_settings_tools_off_removes_it_from_the_request(app: Running) -> None:
    text = await run(app, "tools", {"tool": "calculator", "enabled": False})
    assert "`calculator` is off" in text
    assert "⛔ off · *set here*" in line_of(await run(app, "show"), "`calculator`")
    app.llm.enqueue(text_reply("No maths."))
    await chat_thread(app)
    sent = [t["function"]["name"] for t in app.llm.chat_requests[0].json.get("tools", [])]
    assert "calculator" not in sent and "current_time" in sent


async def test_settings_tools_fetch_url_on_warns(app: Running) -> None:
    text = await run(app, "tools", {"tool": "fetch_url", "enabled": True})
    assert "`fetch_url` is on" in text and "⚠️" in text
    assert "✅ on" in line_of(await run(app, "show"), "`fetch_url`")
    app.llm.enqueue(text_reply("Can fetch."))
    await chat_thread(app)
    sent = [t["function"]["name"] for t in app.llm.chat_requests[0].json["tools"]]
    assert "fetch_url" in sent


# --- reasoning, mode, mentions ---------------------------------------------------------------


async def test_settings_reasoning_hide_hides_reasoning(app: Running) -> None:
    app.llm.enqueue(text_reply("Shown.", reasoning="Let me think about this."))
    first = await chat_thread(app, "one")
    assert "💭" in (await app.final_answer(first)).content

    assert "hide" in await run(app, "reasoning", {"mode": "hide"})
    assert "hide" in line_of(await run(app, "show"), "Reasoning:")
    app.llm.enqueue(text_reply("Hidden.", reasoning="Let me think about this."))
    await app.fake.invoke_slash_command("chat", {"prompt": "two"})
    second = await app.fake.wait_for(
        lambda: next((t for t in app.fake.threads(app.channel_id) if t.id != first), None)
    )
    answer = await app.final_answer(second.id)
    assert "Hidden." in answer.content and "💭" not in answer.content


async def test_settings_mode_inline_answers_member_messages_in_the_channel(app: Running) -> None:
    text = await run(app, "mode", {"mode": "inline"})
    assert "every message" in text
    assert "inline" in line_of(await run(app, "show"), "Mode:")
    app.llm.enqueue(text_reply("Inline answer."))
    await app.fake.send_user_message(app.channel_id, content="no mention here")
    answer = await app.final_answer(app.channel_id, index=len(app.bot_messages(app.channel_id)))
    assert "Inline answer." in answer.content
    assert app.fake.threads(app.channel_id) == []


async def test_settings_mentions_off_stops_mentions_starting_threads(app: Running) -> None:
    assert "ignored" in await run(app, "mentions", {"enabled": False})
    assert "off" in line_of(await run(app, "show"), "Mentions:")
    bot_id = app.fake.bot_user.id
    await app.fake.send_user_message(app.channel_id, content=f"<@{bot_id}> hi", mentions_bot=True)
    # Turned back on, the next mention starts a thread: only that one may exist.
    app.llm.enqueue(text_reply("Now I answer."))
    assert "start a conversation" in await run(app, "mentions", {"enabled": True})
    second = await app.fake.send_user_message(
        app.channel_id, content=f"<@{bot_id}> again", mentions_bot=True
    )
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    await app.final_answer(thread.id)
    assert [t.id for t in app.fake.threads(app.channel_id)] == [second.id]
    assert len(app.llm.chat_requests) == 1


# --- threads ---------------------------------------------------------------------------------


async def test_settings_in_a_thread_apply_to_the_thread_only(app: Running) -> None:
    app.llm.enqueue(text_reply("First."), text_reply("Second."))
    thread_id = await chat_thread(app)
    text = await run(app, "model", {"model": "fake-model-large"}, channel_id=thread_id)
    assert "this thread" in text
    assert "set in this thread" in line_of(await run(app, "show", channel_id=thread_id), "Model:")
    assert "default" in line_of(await run(app, "show"), "Model:")  # the channel is unchanged

    before = len(app.bot_messages(thread_id))  # the ephemeral replies are in the thread too
    await app.fake.send_user_message(thread_id, content="more")
    await app.final_answer(thread_id, index=before)
    assert app.llm.chat_requests[1].json["model"] == "fake-model-large"


async def test_settings_mode_in_a_thread_points_to_the_channel(app: Running) -> None:
    app.llm.enqueue(text_reply("Hi."))
    thread_id = await chat_thread(app)
    text = await run(app, "mode", {"mode": "inline"}, channel_id=thread_id)
    assert "channel setting" in text and f"<#{app.channel_id}>" in text
    assert "threads" in line_of(await run(app, "show"), "Mode:")
