"""Every benchmark still runs: `python -m bench --quick` at toy sizes (no timing asserted)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.__main__ import GROUPS, main
from bench.results import Result, Target
from bench.table import format_table
from tests.pg_server import find_binaries


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
    for result in document["results"]:
        assert result["name"] in printed
        if "openai SDK" in result["name"] and result["value"] is None:
            continue  # the SDK is only in the `bench` extra
        assert result["value"] is not None and math.isfinite(result["value"]), result
        assert result["value"] >= 0, result


def test_bench_only_runs_the_named_group(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--quick", "--only", "engine"]) == 0

    printed = capsys.readouterr().out
    assert GROUPS["engine"][1] in printed and GROUPS["discord"][1] not in printed


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
