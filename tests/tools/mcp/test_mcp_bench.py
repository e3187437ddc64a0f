"""`bench.mcp` runs at toy size (its group is registered in bench/__main__.py separately);
no timing is asserted."""

from __future__ import annotations

import math

from bench.mcp import GROUP, run
from tests.tools.mcp.conftest import children


async def test_mcp_bench_quick_run_reports_every_row() -> None:
    results = await run(quick=True)

    assert {r.group for r in results} == {GROUP}
    assert [r.unit for r in results] == ["ms"] * 10
    assert all(math.isfinite(r.value) and r.value >= 0 for r in results)
    assert [i for i, r in enumerate(results) if r.target is not None] == [0, 3, 5]
    first, half, every = (r.value for r in results[3:6])
    assert first <= half <= every
    assert children() == []
