"""The list of tests that judge real time (tests/conftest.py): a path that no longer exists
would silently move its tests into the parallel phase, where load decides whether they pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REALTIME_GROUPS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", sorted(REALTIME_GROUPS))
def test_realtime_path_exists(path: str) -> None:
    found = ROOT / path
    assert found.is_dir() if path.endswith("/") else found.is_file(), f"{path} is gone"
