"""The `protocols` group: our client against the official SDKs on the Anthropic Messages API
(`bench.anthropic_ingest`) and OpenAI's Responses API (`bench.responses_ingest`), each on the
same recorded 100,000-event stream (chat completions are in the `engine` group)."""

from __future__ import annotations

from bench import anthropic_ingest, responses_ingest
from bench.results import Result


async def run(quick: bool) -> list[Result]:
    results: list[Result] = []
    for part in (anthropic_ingest, responses_ingest):
        results += await part.run(quick)
    return results
