"""Plain-text tables of results: aligned columns, one table per group, notes underneath."""

from __future__ import annotations

from collections.abc import Sequence

from bench.results import Result, format_value

HEADERS = ("benchmark", "value", "unit", "target", "verdict")


def verdict(result: Result, judged: bool) -> str:
    if result.target is None:
        return ""
    if not judged:
        return "-"  # quick runs use toy sizes: a verdict would mean nothing
    return "✓" if result.met else "✗"


def format_table(title: str, results: Sequence[Result], *, judged: bool = True) -> str:
    """`title` underlined, then the rows; numbers right-aligned, text left-aligned."""
    rows = [
        (
            r.name,
            format_value(r.value),
            r.unit,
            "" if r.target is None else r.target.label(r.unit),
            verdict(r, judged),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [HEADERS, *rows]) for i in range(len(HEADERS))]

    def line(cells: Sequence[str]) -> str:
        name, value, unit, target, mark = cells
        parts = (
            name.ljust(widths[0]),
            value.rjust(widths[1]),
            unit.ljust(widths[2]),
            target.ljust(widths[3]),
            mark,
        )
        return "  ".join(parts).rstrip()

    out = [title, "=" * len(title), line(HEADERS), line(tuple("-" * w for w in widths))]
    out += [line(row) for row in rows]
    notes = [f"  {r.name}: {r.note}" for r in results if r.note]
    if notes:
        out += ["", "notes:", *notes]
    return "\n".join(out)
