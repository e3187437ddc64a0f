"""The Anthropic ingestion benchmark runs at toy size, and both clients agree on the answer."""

from __future__ import annotations

import math

from bench.anthropic_ingest import run, sdk_available


async def test_anthropic_bench_quick_run_reports_every_number() -> None:
    results = await run(quick=True)  # raises if the clients assembled different answers
    by_name = {r.name: r for r in results}
    assert {r.group for r in results} == {"protocols"}
    ours = by_name["Anthropic ingestion, ours (LLMClient.stream)"]
    assert ours.value > 0 and ours.unit == "events/s"
    ratio = by_name["Anthropic ingestion ratio ours/SDK"]
    assert ratio.target is not None and ratio.target.higher_is_better
    assert math.isnan(ratio.value) != sdk_available()
    assert by_name["Anthropic decode, no I/O"].value > 0
