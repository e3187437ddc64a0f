"""Which modules a piece of code loads, seen from a fresh interpreter (this one has imported
everything already): for the tests that keep costly imports out of a start that does not
need them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence

from tests.fakes.bot_env import ROOT

# What a start imports: the entry point, the app, the CLI and every cog.
A_START = """
import importlib, pkgutil
import bot.__main__, bot.app, bot.cli, cogs
for module in pkgutil.iter_modules(cogs.__path__):
    importlib.import_module("cogs." + module.name)
"""


def loaded_after(code: str, prefixes: Sequence[str]) -> list[str]:
    """The modules named `prefix` or `prefix.…` for any of `prefixes` that are loaded once
    `code` has run in a fresh interpreter, sorted."""
    report = f"""
import sys
wanted = {tuple(prefixes)!r}
print(",".join(sorted(m for m in sys.modules if any(
    m == p or m.startswith(p + ".") for p in wanted))))
"""
    done = subprocess.run(
        [sys.executable, "-c", code + report],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    found = done.stdout.strip()
    return found.split(",") if found else []
