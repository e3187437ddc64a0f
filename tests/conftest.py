"""Shared fixtures. Nothing here reaches beyond 127.0.0.1."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Tests never read the developer's real .env or settings from the shell."""
    for name in (
        "DISCORD_TOKEN",
        "LLM_BASE_URL",
        "LLM_API_KEY",
        "LLM_MODEL",
        "DATABASE_PATH",
        "DISCORD_API_BASE",
        "DISCORD_GATEWAY_URL",
        "DEV_GUILD_ID",
        "OWNER_IDS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
