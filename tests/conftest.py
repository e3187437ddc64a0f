"""Shared fixtures. Nothing here reaches beyond 127.0.0.1."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

# Both database engines: SQLite files and a throwaway PostgreSQL server.
pytest_plugins = ["tests.db_engines"]


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


# Tests that judge real time (pacing against Discord's limits, a click answered within a
# second, a process killed mid-stream, stall detection), by the group one worker runs. `make
# test` runs the rest in parallel workers first, then these apart from them: the tests of a
# group one after another, the three groups side by side. Each group spends most of its time
# waiting on real clocks (about 17 s of CPU in 70 s), so the other two don't decide whether
# its tests pass the way the parallel half's load would; the longest group (the SIGKILL test)
# sets the phase's time.
REALTIME_GROUPS = {
    "tests/ops/test_sigkill.py": "realtime-sigkill",
    "tests/ops/test_shutdown.py": "realtime-processes",
    "tests/sharding/test_identify.py": "realtime-processes",
    "tests/e2e/test_silent_model.py": "realtime-processes",
    "tests/discord_ui_pacer/": "realtime-pacing",
    "tests/e2e/test_stop_retry.py": "realtime-pacing",
}
REALTIME_TESTS = tuple(REALTIME_GROUPS)
# Not here: tests/sharding/test_processes.py starts bot processes and waits on events, with
# nothing timed (the identify turns it waits through are checked in test_identify.py), so
# its half minute of waiting overlaps other tests in the parallel phase.


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        for prefix, group in REALTIME_GROUPS.items():
            if path.startswith(prefix):
                item.add_marker(pytest.mark.realtime)
                item.add_marker(pytest.mark.xdist_group(group))
