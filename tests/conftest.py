"""Shared fixtures. Nothing here reaches beyond 127.0.0.1."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

# Which tests share a worker (and the scheduler that keeps them together), the realtime ones
# among them: tests/worker_groups.py.
from tests.worker_groups import REALTIME_GROUPS, pytest_xdist_make_scheduler

# Both database engines: SQLite files and a throwaway PostgreSQL server.
pytest_plugins = ["tests.db_engines"]
__all__ = ["pytest_xdist_make_scheduler"]  # a hook of this conftest, defined beside its groups


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if path.startswith(tuple(REALTIME_GROUPS)):
            item.add_marker(pytest.mark.realtime)
