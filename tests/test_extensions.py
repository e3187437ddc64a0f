"""Every extension in `EXTENSIONS` loads on a bare bot, and the commands it registers are
well-formed: unique names, a description on every command and option."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from discord import app_commands

from bot.app import open_services
from bot.client import EXTENSIONS, SwitchboardBot
from bot.settings import Settings

Node = app_commands.Command[Any, ..., Any] | app_commands.Group


@pytest.fixture
async def bare_bot(tmp_path: Path) -> AsyncIterator[SwitchboardBot]:
    """A bot with real services (tmp SQLite) and every extension loaded; never connects."""
    settings = Settings(
        discord_token="not-a-real-token",  # type: ignore[arg-type]
        llm_model="test-model",
        llm_base_url="http://127.0.0.1:9/v1",  # never contacted: loading needs no network
        database_path=tmp_path / "switchboard.db",
    )
    async with open_services(settings) as services:
        bot = SwitchboardBot(services)
        for extension in EXTENSIONS:
            await bot.load_extension(extension)
        try:
            yield bot
        finally:
            for extension in reversed(EXTENSIONS):
                await bot.unload_extension(extension)
            await bot.close()


def walk(nodes: list[Node]) -> Iterator[Node]:
    for node in nodes:
        yield node
        if isinstance(node, app_commands.Group):
            yield from walk(list(node.commands))


async def test_extensions_all_load(bare_bot: SwitchboardBot) -> None:
    assert set(bare_bot.extensions) == set(EXTENSIONS)
    assert bare_bot.tree.get_commands(), "no slash commands registered"


async def test_extensions_no_two_commands_share_a_name(bare_bot: SwitchboardBot) -> None:
    top = [c.name for c in bare_bot.tree.get_commands()]
    assert len(top) == len(set(top)), top
    for node in walk(list(bare_bot.tree.get_commands())):  # type: ignore[arg-type]
        if isinstance(node, app_commands.Group):
            children = [c.name for c in node.commands]
            assert len(children) == len(set(children)), (node.name, children)


async def test_extensions_every_command_and_option_has_a_description(
    bare_bot: SwitchboardBot,
) -> None:
    slash = [c for c in bare_bot.tree.get_commands() if not isinstance(c, app_commands.ContextMenu)]
    for node in walk(slash):  # type: ignore[arg-type]
        assert 1 <= len(node.description) <= 100, node.qualified_name
        assert node.description != "…", f"/{node.qualified_name} has no description"
        if isinstance(node, app_commands.Command):
            for param in node.parameters:
                where = f"/{node.qualified_name} {param.name}"
                assert param.description and param.description != "…", where
                assert 1 <= len(param.description) <= 100, where
                for choice in param.choices:
                    assert 1 <= len(choice.name) <= 100, (where, choice.name)


async def test_extensions_payloads_are_within_discord_limits(bare_bot: SwitchboardBot) -> None:
    for command in bare_bot.tree.get_commands():
        payload = command.to_dict(bare_bot.tree)
        assert 1 <= len(payload["name"]) <= 32
        if isinstance(command, app_commands.ContextMenu):
            # Context menus are named as people read them (Discord allows capitals, spaces).
            assert payload["type"] == 3 and payload["name"] == "Ask Switchboard"
            continue
        assert payload["name"] == payload["name"].lower()
        assert len(payload.get("options", [])) <= 25
