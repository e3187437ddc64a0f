"""Money as people read it. Amounts are integer micro-dollars everywhere in the bot.

Three forms, for three uses:
- `usd`: at a glance (answer footers, report tables): `$0.0012` below a dollar, `$1.23` from a
  dollar up, `<$0.0001` for crumbs;
- `usd_precise`: every significant digit up to micro-dollars (budget messages, prices), so a
  member is never told "$0.00 left" while something is left;
- `usd_exact`: plain decimal digits without a sign, exact by integer arithmetic (CSV).
"""

from __future__ import annotations

MICROS_PER_DOLLAR = 1_000_000


def usd(micros: int) -> str:
    if micros <= 0:
        return "$0.00"
    if micros < 100:
        return "<$0.0001"
    if micros < 999_950:  # anything that would round to "$1.0000" reads better as cents
        return f"${micros / MICROS_PER_DOLLAR:.4f}"
    return f"${micros / MICROS_PER_DOLLAR:,.2f}"


def usd_precise(micros: int) -> str:
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    whole, fraction = divmod(micros, MICROS_PER_DOLLAR)
    if micros % 10_000 == 0 or micros >= MICROS_PER_DOLLAR:
        return f"{sign}${micros / MICROS_PER_DOLLAR:,.2f}"
    digits = f"{fraction:06d}".rstrip("0").ljust(2, "0")
    return f"{sign}${whole:,}.{digits}"


def usd_exact(micros: int, decimals: int = 6) -> str:
    sign = "-" if micros < 0 else ""
    whole, fraction = divmod(abs(micros), MICROS_PER_DOLLAR)
    text = f"{sign}{whole}.{fraction:06d}"
    return text[: len(text) - (6 - decimals)] if decimals < 6 else text
