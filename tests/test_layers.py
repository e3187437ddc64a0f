"""The arrows of HOUSE_STYLE.md point one way: this test fails when an import crosses them."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# package → module prefixes it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "bot.llm": (
        "discord",
        "aiosqlite",
        "sqlite3",
        "bot.storage",
        "bot.services",
        "bot.discord_ui",
        "bot.billing",
        "bot.tools",
        "bot.client",
        "cogs",
    ),
    "bot.storage": (
        "discord",
        "aiohttp",
        "bot.llm",
        "bot.services",
        "bot.discord_ui",
        "bot.billing",
        "bot.tools",
        "bot.client",
        "cogs",
    ),
    "bot.tools": (
        "discord",
        "aiosqlite",
        "bot.storage",
        "bot.services",
        "bot.discord_ui",
        "bot.billing",
        "bot.client",
        "cogs",
    ),
    "bot.billing": ("discord", "bot.services", "bot.discord_ui", "bot.client", "cogs"),
    "bot.discord_ui": ("aiosqlite", "bot.storage", "bot.services", "bot.client", "cogs"),
    "bot": ("cogs",),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _violations() -> list[str]:
    problems = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        module = _module_name(path)
        for package, forbidden in FORBIDDEN.items():
            if module != package and not module.startswith(package + "."):
                continue
            for imported in _imports(path):
                for banned in forbidden:
                    if imported == banned or imported.startswith(banned + "."):
                        problems.append(f"{module} imports {imported} ({package} must not)")
    return problems


def test_layers_no_import_crosses_the_arrows() -> None:
    assert _violations() == []


def test_layers_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import discord\nfrom bot.storage import models\n")
    assert {"discord", "bot.storage"} <= _imports(bad)
