"""The package's boundaries: its imports, where its CPU work runs, where its limits come from."""

from __future__ import annotations

import ast
import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.attachments import AttachmentLimits, reader
from bot.settings import load_settings
from tests.attachments.conftest import Read
from tests.attachments.samples import image_bytes, make_pdf
from tests.fakes.discord.cdn import FakeFile

PACKAGE = Path(__file__).resolve().parents[2] / "bot" / "attachments"
FORBIDDEN = (
    "discord",
    "aiosqlite",
    "sqlite3",
    "bot.storage",
    "bot.services",
    "bot.discord_ui",
    "bot.client",
    "cogs",
)


def test_package_imports_nothing_beyond_its_layer() -> None:
    problems = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            imported = []
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported = [node.module]
            problems += [
                f"{path.name} imports {name}"
                for name in imported
                for banned in FORBIDDEN
                if name == banned or name.startswith(banned + ".")
            ]
    assert problems == []


async def test_package_cpu_work_runs_off_the_event_loop(
    read: Read, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.get_ident()
    threads: dict[str, int] = {}

    def recorded(name: str, work: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            threads[name] = threading.get_ident()
            return work(*args, **kwargs)

        return wrapper

    for name in ("decode", "extract_pdf", "prepare_image"):
        monkeypatch.setattr(reader, name, recorded(name, getattr(reader, name)))
    reading = await read(
        FakeFile("a.txt", b"text"),
        FakeFile("b.pdf", make_pdf(["pdf text"])),
        FakeFile("c.png", image_bytes(20, 20)),
    )
    assert reading.skipped == []
    assert set(threads) == {"decode", "extract_pdf", "prepare_image"}
    assert loop_thread not in threads.values()


def test_package_limits_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "token-" + "x" * 20)
    monkeypatch.setenv("LLM_MODEL", "m")
    defaults = AttachmentLimits.from_settings(load_settings())
    assert defaults == AttachmentLimits()
    monkeypatch.setenv("ATTACHMENT_MAX_BYTES", "1000000")
    monkeypatch.setenv("MESSAGE_ATTACHMENTS_MAX_TOKENS", "9000")
    monkeypatch.setenv("MESSAGE_ATTACHMENTS_MAX_COUNT", "3")
    monkeypatch.setenv("PDF_MAX_PAGES", "5")
    changed = AttachmentLimits.from_settings(load_settings())
    assert (
        dataclasses.replace(
            defaults,
            max_file_bytes=1_000_000,
            max_message_tokens=9_000,
            max_attachments=3,
            max_pdf_pages=5,
        )
        == changed
    )
