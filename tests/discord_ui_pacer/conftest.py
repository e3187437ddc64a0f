"""Fixtures for pacer tests: a started pacer with scaled-down budgets, and a simulated Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.discord_ui.pacer import EditPacer
from tests.discord_ui_pacer.sim import SimDiscord

# 40 per 0.1 s: the default 45/s against Discord's 50/s, time divided by 10 (a little lower,
# so a busy test machine's event-loop lag cannot push the sliding-window audit over 50).
GLOBAL_PER_SECOND = 400.0


@pytest.fixture
def sim() -> SimDiscord:
    return SimDiscord()


@pytest.fixture
async def pacer() -> AsyncIterator[EditPacer]:
    pacer = EditPacer(
        global_per_second=GLOBAL_PER_SECOND,
        promote_after_s=1.0,
        retry_base_s=0.02,
        retry_max_s=0.1,
    )
    await pacer.start()
    yield pacer
    await pacer.close(flush_timeout=1.0)
