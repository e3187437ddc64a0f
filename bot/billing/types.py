"""Values billing hands back to the chat service."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CallCost:
    """What one settled call cost, and anything the member should be told about budgets."""

    cost_micros: int | None  # None: the model has no known price
    estimated: bool  # the provider reported no usage; tokens were counted by us
    warning: str | None = None  # e.g. "This server has used 80% of its monthly budget."
