"""What a benchmark reports (`Result`, `Target`) and the timing helpers the groups share."""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Target:
    """A limit the measured value must stay under (or reach, with `higher_is_better`)."""

    limit: float
    higher_is_better: bool = False

    def met_by(self, value: float) -> bool:
        if math.isnan(value):
            return False
        return value >= self.limit if self.higher_is_better else value < self.limit

    def label(self, unit: str) -> str:
        sign = "≥" if self.higher_is_better else "<"
        return f"{sign} {self.limit:g} {unit}".rstrip()


@dataclass(frozen=True, slots=True)
class Result:
    """One measured number. `target` None: reported for information, not judged."""

    group: str
    name: str
    value: float
    unit: str
    target: Target | None = None
    note: str = ""

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met_by(self.value)

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "name": self.name,
            "value": None if math.isnan(self.value) else self.value,
            "unit": self.unit,
            "target": None if self.target is None else self.target.label(self.unit),
            "met": self.met,
            "note": self.note,
        }


def format_value(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.1f}"
    return f"{value:.2f}" if magnitude >= 1 or magnitude == 0 else f"{value:.3f}"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


async def time_async(run: Callable[[], Awaitable[object]]) -> float:
    """Seconds one call of `run` took, after a collection so earlier garbage is not billed."""
    gc.collect()
    started = time.perf_counter()
    await run()
    return time.perf_counter() - started


def time_sync(run: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    run()
    return time.perf_counter() - started
