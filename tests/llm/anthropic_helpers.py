"""Shared fixtures for the Anthropic protocol tests: the model both the request-body and the
stream-decoder tests name, and the signed thinking block each side expects to round-trip."""

from __future__ import annotations

from typing import Any

from tests.fakes.anthropic_scripts import signature_for

MODEL = "claude-sonnet-4-5-20250929"


def signed(thought: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": thought, "signature": signature_for(thought)}
