"""The `engine` group: what one answer costs us in CPU, apart from Discord.

SSE ingestion against the openai SDK (`bench.sse_ingest`), history load and rebuild
(`bench.history_rebuild`) and tool-loop overhead (`bench.loop_overhead`), run in that order.
"""

from __future__ import annotations

from bench import history_rebuild, loop_overhead, sse_ingest
from bench.results import Result


async def run(quick: bool) -> list[Result]:
    results: list[Result] = []
    for part in (sse_ingest, history_rebuild, loop_overhead):
        results += await part.run(quick)
    return results
