"""The worker groups (tests/worker_groups.py): every path they name exists, and a real
pytest-xdist run keeps a group on one worker while spreading the other tests.

A stale path would silently move its tests out of their group: a realtime test into the
loaded parallel phase, a costly module fixture onto every worker."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.worker_groups import WORKER_GROUPS, group_of

ROOT = Path(__file__).resolve().parents[1]

SCRATCH_CONFTEST = """
from tests.worker_groups import scheduler_for

def pytest_xdist_make_scheduler(config, log):
    return scheduler_for(config, log, {"test_together.py": "together", "slow/": "together"})
"""
# Each test takes a moment, so that a free worker is there to take the next free test.
SCRATCH_TESTS = """
import time
import pytest

@pytest.mark.parametrize("n", range(6))
def test_it(n):
    time.sleep(0.05)
"""


@pytest.mark.parametrize("path", sorted(WORKER_GROUPS))
def test_worker_group_path_exists(path: str) -> None:
    found = ROOT / path
    assert found.is_dir() if path.endswith("/") else found.is_file(), f"{path} is gone"


def test_group_of_reads_the_path_of_a_node_id() -> None:
    assert group_of("tests/ops/test_sigkill.py::test_x") == "realtime-sigkill"
    assert group_of("tests/discord_ui_pacer/test_close.py::test_y[1]") == "realtime-pacing"
    assert group_of("tests/test_money.py::test_z") is None


def test_a_real_xdist_run_keeps_a_group_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(SCRATCH_CONFTEST)
    (tmp_path / "slow").mkdir()
    for name in ("test_together.py", "slow/test_also_together.py", "test_free.py"):
        (tmp_path / name).write_text(SCRATCH_TESTS)

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "3", "--dist", "loadgroup", "-v",
         "-p", "no:cacheprovider", "--rootdir", str(tmp_path)],
        cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert run.returncode == 0, run.stdout + run.stderr
    workers: dict[str, set[str]] = {}
    for worker, path in re.findall(r"\[(gw\d)\] \[ *\d+%\] PASSED (\S+?)::", run.stdout):
        workers.setdefault(path, set()).add(worker)
    assert sum(1 for line in run.stdout.splitlines() if " PASSED " in line) == 18, run.stdout
    grouped = workers["test_together.py"] | workers["slow/test_also_together.py"]
    assert len(grouped) == 1, workers  # one group, one worker, both modules
    assert len(workers["test_free.py"]) > 1, workers  # the rest is spread as by `load`
