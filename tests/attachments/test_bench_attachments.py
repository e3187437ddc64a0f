"""The attachments benchmark runs at toy sizes and reports every figure (no timing asserted)."""

from __future__ import annotations

import math

import pytest

from bench.attachments import GROUP, run


@pytest.mark.usefixtures("worker_heap_frozen")
async def test_bench_attachments_quick_reports_every_figure() -> None:
    results = await run(quick=True)

    assert [r.name for r in results] == [
        "1 MB UTF-8 text: download + decode + model text",
        "1 MB cp1252 text: the same, with charset detection",
        "5-page PDF: download + text of every page",
        "1.92 MP JPEG photo: download + downscale + re-encode",
        "peak memory above baseline, 1 MB text",
        "peak memory above baseline, 5-page PDF",
        "event loop blocked, longest stretch during the reads",
    ]
    for result in results:
        assert result.group == GROUP
        assert math.isfinite(result.value) and result.value >= 0, result
    text_memory = results[4].value
    assert text_memory >= 1.0  # the 1 MB file itself was held: tracemalloc saw the read
