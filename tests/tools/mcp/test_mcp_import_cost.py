"""The MCP SDK takes most of a second to import, so a bot with no MCP servers configured (and
every `python -m bot` command that needs none) never loads it: checked in a fresh
interpreter, which imports everything a start without servers imports."""

from __future__ import annotations

import subprocess
import sys

from tests.fakes.bot_env import ROOT

PROBE = """
import importlib, pkgutil, sys
import bot.__main__, bot.app, bot.cli, cogs
for module in pkgutil.iter_modules(cogs.__path__):
    importlib.import_module("cogs." + module.name)
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in ("mcp", "mcp_types"))))
"""


def test_the_mcp_sdk_is_not_imported_without_servers() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""


def test_the_manager_still_brings_the_sdk_in() -> None:
    # The probe above can see the SDK: importing the manager loads it.
    probe = "import sys, bot.tools.mcp.manager; print('mcp' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "True"
