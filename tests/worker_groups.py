"""Which tests one pytest-xdist worker runs together, named by path, and the scheduler that
keeps them together under `make test`'s `--dist loadgroup`.

pytest-xdist's own way, the `xdist_group` mark, groups nothing on pytest 9.2: it renames
each marked test's node id, which pytest 9.2 no longer lets a plugin do (pytest-xdist issue
1386), and nothing fails; the tests are simply spread as if unmarked. The controller that
hands tests out only ever sees node ids, never marks, so the groups are named here by path
and `PathGroupScheduling` reads them from the node id. Every other test is its own unit,
handed to whichever worker is free, as xdist's `load` does.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling

# Tests that judge real time (pacing against Discord's limits, a click answered within a
# second, a process killed mid-stream, stall detection), by group. `make test` runs the rest
# in parallel workers first, then these apart from them: the tests of a group one after
# another on one worker, the three groups side by side. Each group spends most of its time
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
# Not realtime: tests/sharding/test_processes.py starts bot processes and waits on events, with
# nothing timed (the identify turns it waits through are checked in test_identify.py), so its
# half minute of waiting overlaps other tests in the parallel phase.

# Modules whose module-scoped fixture is costly to repeat: on one worker, it runs once.
SHARED_FIXTURE_GROUPS = {
    "tests/test_packaging.py": "packaging",  # builds the wheel (pip, ~5 s of CPU)
    "tests/tools/mcp/test_mcp_calls.py": "mcp-calls",  # three MCP servers, ~1 s of CPU each
}

WORKER_GROUPS: Mapping[str, str] = {**REALTIME_GROUPS, **SHARED_FIXTURE_GROUPS}


def group_of(nodeid: str, groups: Mapping[str, str] = WORKER_GROUPS) -> str | None:
    """The group a test belongs to (by the path in its node id), or None."""
    path = nodeid.split("::", 1)[0]
    return next((group for prefix, group in groups.items() if path.startswith(prefix)), None)


class PathGroupScheduling(LoadScopeScheduling):
    """xdist's scope scheduling with a test's group as its scope, else the test itself."""

    def __init__(
        self, config: pytest.Config, log: Producer | None, groups: Mapping[str, str]
    ) -> None:
        super().__init__(config, log)
        self.groups = groups

    def _split_scope(self, nodeid: str) -> str:
        group = group_of(nodeid, self.groups)
        return f"group:{group}" if group is not None else nodeid


def scheduler_for(
    config: pytest.Config, log: Producer, groups: Mapping[str, str]
) -> PathGroupScheduling | None:
    """The scheduler for `--dist loadgroup`; None leaves any other mode to xdist."""
    if config.getvalue("dist") != "loadgroup":
        return None
    return PathGroupScheduling(config, log, groups)


@pytest.hookimpl(optionalhook=True)  # the hook exists only while xdist is loaded
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> object:
    return scheduler_for(config, log, WORKER_GROUPS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the realtime tests, which `make test` runs apart (`-m realtime`)."""
    for item in items:
        if group_of(item.nodeid, REALTIME_GROUPS) is not None:
            item.add_marker(pytest.mark.realtime)
