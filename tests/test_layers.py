"""The layers' arrows point one way (docs/architecture.md): this test fails when an import
crosses them, and when a package has no row saying what it must not import."""

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
    # The service layer knows no Discord: the Discord side implements its ports.
    "bot.services": (
        "discord",
        "bot.discord_ui",
        "bot.frontend",
        "bot.deps",
        "bot.client",
        "bot.app",
        "cogs",
    ),
    # The Discord side of conversations: no SQL of its own, and nothing of the commands.
    "bot.frontend": ("aiosqlite", "sqlite3", "bot.client", "bot.app", "cogs"),
    # Reading what members bring: files and images in, text and image parts out.
    "bot.attachments": (
        "discord",
        "aiosqlite",
        "sqlite3",
        "bot.storage",
        "bot.services",
        "bot.discord_ui",
        "bot.frontend",
        "bot.billing",
        "bot.client",
        "cogs",
    ),
    # Running as some shards beside other processes: file locks and Discord, nothing of the
    # answers.
    "bot.sharding": (
        "aiosqlite",
        "sqlite3",
        "bot.storage",
        "bot.services",
        "bot.frontend",
        "bot.llm",
        "bot.client",
        "bot.app",
        "cogs",
    ),
    "bot": ("cogs",),
    # Cogs are thin: they parse, check and reply; no SQL and no HTTP of their own.
    "cogs": ("aiosqlite", "sqlite3", "aiohttp"),
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
    for path in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "cogs").rglob("*.py")]):
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


def test_layers_every_package_has_a_row() -> None:
    packages = {
        _module_name(init.parent / "x.py").removesuffix(".x")
        for root in ("bot", "cogs")
        for init in (ROOT / root).rglob("__init__.py")
    }

    def covered(package: str) -> bool:
        # Sub-packages follow their package's row; `bot`'s own row covers only top modules.
        return any(
            package == row or (package.startswith(row + ".") and row != "bot") for row in FORBIDDEN
        )

    assert sorted(p for p in packages if not covered(p)) == []
