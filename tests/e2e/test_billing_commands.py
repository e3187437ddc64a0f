"""/budget, /price and /usage end to end, and what budgets and prices do to answers.

The bot runs with the default member (alice) as its only owner; admins are members with every
permission (the fake's default), members are narrowed to MEMBER permissions.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import discord
import pytest

from bot.discord_ui.checks import NOT_OWNER
from bot.llm.types import Usage
from tests.e2e.conftest import Running, make_settings, running_bot
from tests.fakes.discord import control
from tests.fakes.discord_server import FakeDiscord, FakeInteraction, FakeMessage, FakeUser
from tests.fakes.llm_scripts import text_reply
from tests.fakes.llm_server import FakeLLMServer

MEMBER = discord.Permissions.text() | discord.Permissions(view_channel=True)
MANAGE_SERVER = "You need the Manage Server permission to use this command."
_keys = itertools.count()


# --- helpers (test_billing_reports.py uses them too) ------------------------------------------


@pytest.fixture
async def billing(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> AsyncIterator[Running]:
    """The real bot, with the default member as its owner (for /price)."""
    fake, llm = fakes
    assert fake.user is not None
    settings = make_settings(tmp_path, fake, llm).model_copy(
        update={"owner_ids": frozenset({fake.user.id})}
    )
    async with running_bot(settings, fake, llm) as running:
        yield running


async def invoke(
    app: Running,
    name: str,
    options: Mapping[str, control.OptionValue] | None = None,
    *,
    subcommand: str | None = None,
    user: FakeUser | None = None,
    channel_id: int | None = None,
    permissions: int | None = None,
) -> FakeMessage:
    """Run a slash command and return the bot's finished reply (past a "thinking…" defer)."""
    interaction = await app.fake.invoke_slash_command(
        name,
        options,
        subcommand=subcommand,
        user=user,
        channel_id=channel_id,
        permissions=permissions,
    )
    return await finished_reply(app, interaction)


async def finished_reply(app: Running, interaction: FakeInteraction) -> FakeMessage:
    def find() -> FakeMessage | None:
        for message_id in (interaction.original_message_id, *interaction.followup_ids):
            if message_id is None:
                continue
            message = app.fake.message(message_id)
            if not message.loading and (message.content or message.embeds or message.attachments):
                return message
        return None

    return await app.fake.wait_for(find, timeout=10)


async def text_of(app: Running, name: str, *args: object, **kwargs: object) -> str:
    """The ephemeral reply's text."""
    message = await invoke(app, name, *args, **kwargs)  # type: ignore[arg-type]
    assert message.ephemeral, message.content
    return message.content


async def record(
    app: Running,
    *,
    guild_id: int,
    user_id: int,
    channel_id: int,
    model: str = "fake-model",
    prompt: int = 100,
    completion: int = 40,
    cached: int = 0,
    reasoning: int = 0,
) -> None:
    """One call in the ledger, written the way the bot writes every call it makes."""
    await app.bot.services.meter.record_call(
        key=f"test:{next(_keys)}",
        model=model,
        usage=Usage(prompt, completion, cached, reasoning),
        guild_id=guild_id,
        channel_id=channel_id,
        user_id=user_id,
        purpose="answer",
    )


async def set_price(app: Running, model: str = "fake-model", **prices: float) -> str:
    options: dict[str, control.OptionValue] = {"model": model, "input": 1000.0, "output": 2000.0}
    options.update(prices)
    return await text_of(app, "price", options, subcommand="set")


def guild_id(app: Running) -> int:
    assert app.fake.guild is not None
    return app.fake.guild.id


async def chat(app: Running, prompt: str = "hello") -> FakeMessage:
    """Start a conversation with /chat and return its finished answer."""
    await app.fake.invoke_slash_command("chat", {"prompt": prompt})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    return await app.final_answer(thread.id)


async def refused(app: Running, prompt: str = "hello") -> FakeMessage:
    """Start a conversation with /chat and return its answer once it shows an error."""
    await app.fake.invoke_slash_command("chat", {"prompt": prompt})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))

    def shown() -> FakeMessage | None:
        return next((m for m in app.bot_messages(thread.id) if "⚠️" in m.content), None)

    return await app.fake.wait_for(shown, timeout=10)


# --- /budget ---------------------------------------------------------------------------------


async def test_budget_set_show_clear_round_trip(billing: Running) -> None:
    bob = billing.fake.add_member(guild_id(billing), "bob").user
    text = await text_of(
        billing, "budget", {"scope": "server", "amount": 10.0, "period": "month"}, subcommand="set"
    )
    assert text.startswith("✅ Server budget set: $10.00 per month")
    assert "Spent this month so far: $0.00" in text and "left: $10.00" in text
    assert "resets 20" in text and "UTC" in text
    options = {"scope": "member", "amount": 2.5, "period": "week", "user": bob}
    text = await text_of(billing, "budget", options, subcommand="set")
    assert f"Budget of <@{bob.id}> set: $2.50 per week" in text

    shown = await text_of(billing, "budget", subcommand="show")
    lines = shown.splitlines()
    assert lines[0] == "**Budgets in this server**"
    assert lines[1].startswith("**Server** — $10.00 monthly: $0.00 spent · **$10.00 left**")
    assert lines[2].startswith(f"**<@{bob.id}>** — $2.50 weekly: $0.00 spent · **$2.50 left**")
    assert all("resets" in line for line in lines[1:])

    cleared = await text_of(billing, "budget", {"scope": "member", "user": bob}, subcommand="clear")
    assert cleared.startswith(f"✅ The budget of <@{bob.id}> is removed")
    assert len((await text_of(billing, "budget", subcommand="show")).splitlines()) == 2
    again = await text_of(billing, "budget", {"scope": "member", "user": bob}, subcommand="clear")
    assert again.startswith("There was no budget")
    await text_of(billing, "budget", {"scope": "server"}, subcommand="clear")
    assert (await text_of(billing, "budget", subcommand="show")).startswith("No budgets")
    assert await billing.bot.services.meter.guild_budgets(guild_id(billing)) == []


async def test_budget_set_reports_spending_so_far(billing: Running) -> None:
    await set_price(billing)
    assert billing.fake.user is not None
    await record(
        billing, guild_id=guild_id(billing), user_id=billing.fake.user.id,
        channel_id=billing.channel_id, prompt=1000, completion=500,
    )  # fmt: skip
    # 1000 x $1000/M + 500 x $2000/M = $2.00
    text = await text_of(
        billing, "budget", {"scope": "server", "amount": 5.0, "period": "day"}, subcommand="set"
    )
    assert "Spent this day so far: $2.00 · left: $3.00" in text


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"amount": 0.0}, "more than $0"),
        ({"amount": -3.0}, "more than $0"),
        ({"amount": 1_000_000.01}, "at most $1,000,000"),
        ({"amount": 0.0000001}, "more than 6 decimal places"),
        ({"amount": float("inf")}, "must be a number"),
        ({"amount": float("nan")}, "must be a number"),
        ({"scope": "member"}, "Pick the member with the `user` option"),
        ({"user": "bob"}, "`user` is only for `scope:member`"),
    ],
)
async def test_budget_bad_values_get_a_clear_ephemeral_error(
    billing: Running, options: dict[str, object], expected: str
) -> None:
    values: dict[str, control.OptionValue] = {"scope": "server", "amount": 1.0, "period": "month"}
    for key, value in options.items():
        if value == "bob":
            values[key] = billing.fake.add_member(guild_id(billing), "bob").user
        else:
            assert isinstance(value, str | float)
            values[key] = value
    text = await text_of(billing, "budget", values, subcommand="set")
    assert expected in text
    assert not text.startswith("Sorry")
    assert await billing.bot.services.meter.guild_budgets(guild_id(billing)) == []


async def test_budget_and_usage_report_refuse_members_without_manage_server(
    billing: Running,
) -> None:
    eve = billing.fake.add_user("eve")
    options = {"scope": "server", "amount": 1.0, "period": "day"}
    for name, opts, sub in [
        ("budget", options, "set"),
        ("budget", None, "show"),
        ("budget", {"scope": "server"}, "clear"),
        ("usage-report", None, None),
        ("usage-report", {"format": "csv"}, None),
    ]:
        text = await text_of(
            billing, name, opts, subcommand=sub, user=eve, permissions=MEMBER.value
        )
        assert text == MANAGE_SERVER, (name, sub)
    assert await billing.bot.services.meter.guild_budgets(guild_id(billing)) == []


async def test_budget_commands_are_declared_for_manage_server(billing: Running) -> None:
    synced = {c["name"]: c for c in billing.fake.synced_commands[guild_id(billing)]}
    manage = discord.Permissions(manage_guild=True).value
    for name in ("budget", "usage-report"):
        assert int(synced[name]["default_member_permissions"]) == manage
        assert synced[name]["contexts"] == [0]
    assert {o["name"] for o in synced["budget"]["options"]} == {"set", "show", "clear"}
    set_options = next(o for o in synced["budget"]["options"] if o["name"] == "set")["options"]
    assert [o["name"] for o in set_options] == ["scope", "amount", "period", "user"]
    assert set_options[1]["type"] == 10 and set_options[1]["max_value"] == 1_000_000
    report_options = [o["name"] for o in synced["usage-report"]["options"]]
    assert report_options == ["period", "group_by", "format"]
    assert synced["usage"].get("default_member_permissions") is None
    assert {o["name"] for o in synced["price"]["options"]} == {"set", "list"}


# --- /price ----------------------------------------------------------------------------------


async def test_price_set_then_the_answer_footer_shows_the_cost(billing: Running) -> None:
    text = await set_price(billing, cached=500.0)
    assert text.startswith("✅ Price of `fake-model` per million tokens: input $1,000.00")
    assert "cached $500.00" in text
    billing.llm.enqueue(text_reply("Priced answer."))
    answer = await chat(billing)
    # 12 prompt tokens at $1,000/M + 5 completion tokens at $2,000/M = $0.022
    assert "$0.0220" in answer.content.splitlines()[-1]


async def test_price_refuses_non_owners(billing: Running) -> None:
    mallory = billing.fake.add_user("mallory")
    options: dict[str, control.OptionValue] = {"model": "m", "input": 1.0, "output": 1.0}
    assert await text_of(billing, "price", options, subcommand="set", user=mallory) == NOT_OWNER
    assert await text_of(billing, "price", subcommand="list", user=mallory) == NOT_OWNER
    assert await billing.bot.services.prices.overrides() == []


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"input": -1.0}, "can't be negative"),
        ({"output": 10_000.5}, "over $10,000 per million tokens"),
        ({"cached": float("nan")}, "must be a number"),
        ({"model": "gpt 4"}, "no spaces"),
        ({"model": "m" * 101}, "at most 100 characters"),
        ({"input": 0.0000001}, "more than 6 decimal places"),
    ],
)
async def test_price_bad_values_get_a_clear_ephemeral_error(
    billing: Running, options: dict[str, control.OptionValue], expected: str
) -> None:
    text = await set_price(billing, **{"model": "fake-model", **options})  # type: ignore[arg-type]
    assert expected in text
    assert await billing.bot.services.prices.overrides() == []


async def test_price_list_shows_overrides_and_the_channel_model(billing: Running) -> None:
    text = await text_of(billing, "price", subcommand="list")
    assert "- none: the price table applies" in text
    assert "This channel's model `fake-model`" in text
    assert "price table: not listed" in text and "**unpriced**" in text
    await set_price(billing, "other-model", input=0.15, output=0.6)
    await set_price(billing)
    text = await text_of(billing, "price", subcommand="list")
    lines = text.splitlines()
    assert lines[-2].startswith("- `fake-model`: input $1,000.00 · output $2,000.00 · cached at")
    assert lines[-1].startswith("- `other-model`: input $0.15 · output $0.60")
    assert "- in use: your price" in text


async def test_price_list_shows_the_catalog_price_of_a_known_model(billing: Running) -> None:
    await text_of(billing, "settings", {"model": "gpt-4o-mini"}, subcommand="model")
    text = await text_of(billing, "price", subcommand="list")
    assert "This channel's model `gpt-4o-mini`" in text
    assert "- price table: input $0.15 · output $0.60" in text
    assert "- in use: the price table's" in text


async def test_price_list_works_in_a_dm(billing: Running) -> None:
    assert billing.fake.user is not None
    dm = billing.fake.add_dm_channel(billing.fake.user)
    text = await text_of(billing, "price", subcommand="list", channel_id=dm.id)
    assert "This channel's model `fake-model`" in text


async def test_budget_show_with_many_budgets_fits_one_message(billing: Running) -> None:
    guild = guild_id(billing)
    for n in range(40):
        member = billing.fake.add_member(guild, f"member-{n}").user
        options = {"scope": "member", "amount": 1.0, "period": "day", "user": member}
        await text_of(billing, "budget", options, subcommand="set")
    text = await text_of(billing, "budget", subcommand="show")
    assert len(text) <= 2000
    assert text.startswith("**Budgets in this server**")
    assert text.splitlines()[-1].startswith("…and ") and text.endswith(" more budgets.")


# --- budgets and prices in answers -----------------------------------------------------------


async def test_budget_refusal_says_which_budget_what_is_left_and_when(billing: Running) -> None:
    await set_price(billing)
    await text_of(
        billing,
        "budget",
        {"scope": "server", "amount": 0.000001, "period": "week"},
        subcommand="set",
    )
    billing.llm.enqueue(text_reply("never sent"))
    answer = await refused(billing)
    assert "This server's weekly budget has $0.000001 of $0.000001 left" in answer.content
    assert "It resets at " in answer.content and "UTC (in " in answer.content
    assert billing.llm.chat_requests == []


async def test_unpriced_model_is_refused_where_a_budget_applies(billing: Running) -> None:
    await text_of(
        billing, "budget", {"scope": "server", "amount": 50.0, "period": "month"}, subcommand="set"
    )
    billing.llm.enqueue(text_reply("never sent"))
    answer = await refused(billing)
    assert "No price is known for the model `fake-model`" in answer.content
    assert "`/price set model:fake-model input:<dollars> output:<dollars>`" in answer.content
    assert billing.llm.chat_requests == []


# --- /usage ----------------------------------------------------------------------------------


async def test_usage_without_usage_says_so(billing: Running) -> None:
    text = await text_of(billing, "usage")
    assert text.startswith("**Your usage in Test Guild** — this month (since ")
    assert "No usage yet in this period." in text
    assert "No budget applies to you here" in text


async def test_usage_shows_tokens_cost_and_remaining_budget(billing: Running) -> None:
    await set_price(billing)
    bob = billing.fake.add_member(guild_id(billing), "bob").user
    billing.llm.enqueue(text_reply("Answer."))
    await chat(billing)
    server = {"scope": "server", "amount": 5.0, "period": "month"}
    await text_of(billing, "budget", server, subcommand="set")
    mine = {"scope": "member", "amount": 1.0, "period": "day", "user": billing.fake.user}
    await text_of(billing, "budget", mine, subcommand="set")
    await record(
        billing, guild_id=guild_id(billing), user_id=bob.id, channel_id=billing.channel_id,
        prompt=1000, completion=0,
    )  # fmt: skip
    text = await text_of(billing, "usage")
    lines = text.splitlines()
    assert "this day (since " in lines[0] and "your budget's period" in lines[0]
    assert lines[1] == "**Tokens** 12 in (0 cached) · 5 out (0 reasoning) · 1 call"
    assert lines[2] == "**Cost** $0.022"
    assert lines[3] == "**Budgets that apply to you**"
    # The server budget counts bob's $1.00 too; alice's own counts only hers.
    assert lines[4].startswith(
        "- Server monthly budget (shared by everyone): **$3.98 left** of $5.00 ($1.02 spent)"
    )
    assert lines[5].startswith("- Your daily budget: **$0.978 left** of $1.00 ($0.022 spent)")
    assert "resets 20" in lines[4] and "resets 20" in lines[5]
    bob_text = await text_of(billing, "usage", user=bob, permissions=MEMBER.value)
    assert "the server budget's period" in bob_text and "**Cost** $1.00" in bob_text
    assert "Your daily budget" not in bob_text


async def test_usage_says_unpriced_honestly(billing: Running) -> None:
    billing.llm.enqueue(text_reply("Free answer."))
    await chat(billing)
    text = await text_of(billing, "usage")
    assert "**Tokens** 12 in (0 cached) · 5 out (0 reasoning) · 1 call" in text
    assert "**Cost** unpriced" in text


async def test_usage_only_works_in_a_server(billing: Running) -> None:
    assert billing.fake.user is not None
    dm = billing.fake.add_dm_channel(billing.fake.user)
    text = await text_of(billing, "usage", channel_id=dm.id)
    assert text == "This command only works in a server."
