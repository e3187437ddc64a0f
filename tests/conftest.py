"""Shared fixtures. Nothing here reaches beyond 127.0.0.1."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

pytest_plugins = [
    "tests.db_engines",  # both database engines: SQLite files and a throwaway PostgreSQL
    "tests.worker_groups",  # which tests share a worker, and the scheduler that keeps them so
]


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
        "DATABASE_URL",
        "DISCORD_API_BASE",
        "DISCORD_GATEWAY_URL",
        "DEV_GUILD_ID",
        "OWNER_IDS",
        "SHARD_COUNT",
        "SHARD_IDS",
        "DISCORD_GLOBAL_RATE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def worker_heap_frozen() -> Iterator[None]:
    """The benchmarks collect garbage before each timing (bench/results.py); in a test worker
    that means walking every object the tests before it left, several seconds of CPU per
    group. Frozen objects are skipped by the collector, and the bench's own are still
    collected."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
