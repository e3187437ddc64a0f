"""The polling helper the tests use where no event announces a state (tests/polling.py)."""

from __future__ import annotations

import pytest

from tests.polling import poll, wait_until


async def test_poll_returns_the_first_value_that_passes() -> None:
    values = iter([["streaming"], ["streaming"], ["complete"], ["error"]])

    async def statuses() -> list[str]:
        return next(values)

    assert await poll(statuses, lambda found: found != ["streaming"], within_s=5) == ["complete"]


async def test_poll_that_never_passes_fails_with_what_it_last_read() -> None:
    async def statuses() -> list[str]:
        return ["streaming"]

    with pytest.raises(AssertionError, match=r"still \['streaming'\] after 0.05 s"):
        await poll(statuses, lambda found: found == ["complete"], within_s=0.05)


async def test_wait_until_takes_a_plain_predicate() -> None:
    reads = []

    def ready() -> bool:
        reads.append(1)
        return len(reads) == 3

    await wait_until(ready, within_s=5)

    assert len(reads) == 3
