"""Fixtures for service tests: pure builders, no I/O."""

from __future__ import annotations

import pytest

from tests.services.builders import HistoryBuilder


@pytest.fixture
def history() -> HistoryBuilder:
    return HistoryBuilder()
