"""Every benchmark still runs: `python -m bench --quick` at toy sizes (no timing asserted)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import GROUPS, main
from bench.anthropic_ingest import sdk_available
from bench.results import Result, Target
from bench.table import format_table
from tests.pg_server import find_binaries
from tests.tools.mcp.conftest import children

JsonResult = dict[str, Any]


def check_protocols(results: list[JsonResult]) -> None:
    """The Anthropic rows (the run raises if our client and the SDK assembled different
    answers); the ratio is only measured where the SDK is installed (the `bench` extra)."""
    by_name = {r["name"]: r for r in results}
    assert by_name["Anthropic ingestion, ours (LLMClient.stream)"]["unit"] == "events/s"
    ratio = by_name["Anthropic ingestion ratio ours/SDK"]
    assert ratio["target"] is not None and ratio["target"].startswith("≥")  # higher is better
    assert (ratio["value"] is None) != sdk_available()
    assert by_name["Anthropic decode, no I/O"]["value"] > 0


def check_mcp(results: list[JsonResult]) -> None:
    """Thirteen rows in ms, four judged; servers become usable in order; no child outlives it."""
    assert [r["unit"] for r in results] == ["ms"] * 13
    assert [i for i, r in enumerate(results) if r["target"] is not None] == [0, 3, 5, 11]
    first, half, every = (r["value"] for r in results[3:6])
    assert first <= half <= every
    assert children() == []


# What a group's own rows must say, beyond what every group must.
GROUP_CHECKS: dict[str, Callable[[list[JsonResult]], None]] = {
    "protocols": check_protocols,
    "mcp": check_mcp,
}


@pytest.mark.usefixtures("worker_heap_frozen")
@pytest.mark.parametrize("group", sorted(GROUPS))
def test_bench_quick_runs_the_group(
    group: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One test per group, so parallel workers share the groups out."""
    if group == "postgresql" and find_binaries() is None:
        pytest.skip("PostgreSQL is not installed (no initdb): the postgresql group can't run")
    out = tmp_path / "results.json"

    assert main(["--quick", "--only", group, "--json", str(out)]) == 0

    printed = capsys.readouterr().out
    document = json.loads(out.read_text())
    assert document["quick"] is True
    assert {r["group"] for r in document["results"]} == {group}
    assert GROUPS[group][1] in printed
    others = [title for name, (_, title) in GROUPS.items() if name != group]
    assert not any(title in printed for title in others)  # --only ran this group alone
    for result in document["results"]:
        assert result["name"] in printed
        if "openai SDK" in result["name"] and result["value"] is None:
            continue  # the SDK is only in the `bench` extra
        assert result["value"] is not None and math.isfinite(result["value"]), result
        assert result["value"] >= 0, result
    GROUP_CHECKS.get(group, lambda _: None)(document["results"])


def test_table_aligns_columns_and_marks_verdicts() -> None:
    results = [
        Result("g", "fast thing", 12.5, "ms", Target(50.0)),
        Result("g", "a much longer benchmark name", 75_000.0, "ms", Target(50.0)),
        Result("g", "informational", 3.0, "x", note="said below"),
    ]

    table = format_table("group", results).splitlines()

    header, _rule, fast, slow, info = table[2:7]
    assert header.split() == ["benchmark", "value", "unit", "target", "verdict"]
    assert fast.endswith("✓") and slow.endswith("✗")
    assert "< 50 ms" in fast
    # Values are right-aligned in one column.
    assert fast.index("12.50") + len("12.50") == slow.index("75,000") + len("75,000")
    assert info.rstrip().endswith("x")
    assert "  informational: said below" in table


def test_table_quick_runs_are_not_judged() -> None:
    table = format_table("g", [Result("g", "b", 1.0, "ms", Target(50.0))], judged=False)

    assert "✓" not in table and "✗" not in table


def test_target_higher_is_better() -> None:
    target = Target(1.0, higher_is_better=True)

    assert target.met_by(1.0) and not target.met_by(0.99) and not target.met_by(math.nan)
