"""The MCP SDK takes most of a second to import, so a bot with no MCP servers configured (and
every `python -m bot` command that needs none) never loads it: checked in a fresh
interpreter, which imports everything a start without servers imports."""

from __future__ import annotations

from tests.import_probe import A_START, loaded_after

SDK = ("mcp", "mcp_types")


def test_the_mcp_sdk_is_not_imported_without_servers() -> None:
    assert loaded_after(A_START, SDK) == []


def test_the_manager_still_brings_the_sdk_in() -> None:
    # The probe above can see the SDK: importing the manager loads it.
    assert "mcp" in loaded_after("import bot.tools.mcp.manager\n", SDK)
