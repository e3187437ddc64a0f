"""`python -m bench [--only GROUP ...] [--quick] [--json PATH]`: run the benchmark groups.

A group is a module with `async def run(quick: bool) -> list[Result]`, registered in `GROUPS`
by name (imported only when it runs, so a group's optional dependencies stay optional).
`--quick` runs toy sizes (what the test suite does); its verdicts are not judged.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import platform
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, cast

from bench.results import Result
from bench.table import format_table

log = logging.getLogger(__name__)

GroupRunner = Callable[[bool], Awaitable[list[Result]]]

# name → (module, title). Later groups (Discord pacing, billing) plug in here.
GROUPS: dict[str, tuple[str, str]] = {
    "engine": ("bench.engine", "engine: SSE ingestion, history rebuild, tool-loop overhead"),
    "protocols": (
        "bench.protocols",
        "protocols: Anthropic and Responses stream ingestion vs. the official SDKs",
    ),
    "attachments": ("bench.attachments", "attachments: reading text, PDF and image attachments"),
    "stream-log": (
        "bench.stream_log",
        "stream-log: 200 streaming answers saved, one transaction per interval",
    ),
    "mcp": ("bench.mcp", "mcp: MCP tool-call overhead over stdio, start-up with twenty servers"),
    "billing-reports": ("bench.reports", "billing-reports: /usage-report on a 1M-row ledger"),
    "billing": ("bench.billing", "billing: reserve + settle per LLM call"),
    "discord": ("bench.discord", "discord: N concurrent streaming answers vs. rate limits"),
    "discord-shards": (
        "bench.discord_shards",
        "discord-shards: two shard processes at N=200 vs. one process at N=100",
    ),
    "postgresql": (
        "bench.postgres",
        "postgresql: reserve + settle from 4 processes, overspend, /usage-report on 1M rows",
    ),
}


def load_group(name: str) -> GroupRunner:
    module = importlib.import_module(GROUPS[name][0])
    return cast(GroupRunner, module.run)


async def run_groups(names: Sequence[str], quick: bool) -> dict[str, list[Result]]:
    """Run the groups one after another (never concurrently: they would skew each other)."""
    results: dict[str, list[Result]] = {}
    for name in names:
        results[name] = await load_group(name)(quick)
    return results


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", action="append", choices=sorted(GROUPS), help="run only this group (repeatable)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes; proves they run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    names = args.only or list(GROUPS)
    print(
        f"Switchboard benchmarks — Python {platform.python_version()}, {platform.machine()}"
        + (" (quick: toy sizes, targets not judged)" if args.quick else ""),
        flush=True,
    )
    results = asyncio.run(run_groups(names, args.quick))
    for name, group_results in results.items():
        print()
        print(format_table(GROUPS[name][1], group_results, judged=not args.quick), flush=True)
    if args.json is not None:
        document: dict[str, Any] = {
            "quick": args.quick,
            "python": platform.python_version(),
            "results": [r.to_json() for rs in results.values() for r in rs],
        }
        args.json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
