"""The three ways money is written for people and files."""

from __future__ import annotations

import pytest

from bot.money import usd, usd_exact, usd_precise


@pytest.mark.parametrize(
    ("micros", "text"),
    [
        (0, "$0.00"),
        (42, "<$0.0001"),
        (1200, "$0.0012"),
        (123_456, "$0.1235"),
        (999_949, "$0.9999"),
        (999_999, "$1.00"),  # never "$1.0000"
        (1_000_000, "$1.00"),
        (12_345_678_900, "$12,345.68"),
    ],
)
def test_money_usd_at_a_glance(micros: int, text: str) -> None:
    assert usd(micros) == text


@pytest.mark.parametrize(
    ("micros", "text"),
    [
        (0, "$0.00"),
        (5_000_000, "$5.00"),
        (1_234_567, "$1.23"),
        (120_000, "$0.12"),
        (123, "$0.000123"),
        (1_500, "$0.0015"),
        (2_012, "$0.002012"),
        (-1_500, "-$0.0015"),
        (1_000_000_000_000, "$1,000,000.00"),
    ],
)
def test_money_usd_precise_keeps_every_significant_digit(micros: int, text: str) -> None:
    assert usd_precise(micros) == text


def test_money_usd_exact_is_integer_arithmetic() -> None:
    assert usd_exact(0) == "0.000000"
    assert usd_exact(1) == "0.000001"
    assert usd_exact(12_345_678_901) == "12345.678901"
    assert usd_exact(1_500_000, decimals=2) == "1.50"
    assert usd_exact(-1) == "-0.000001"
