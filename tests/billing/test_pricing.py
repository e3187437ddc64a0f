"""Prices (overrides over the genai-prices catalog) and each token billed exactly once."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

import pytest
from genai_prices import Usage as CatalogUsage
from genai_prices import calc_price

from bot.billing.meter import Meter
from bot.billing.pricing import (
    Price,
    PriceBook,
    PriceCatalog,
    budget_amount_micros,
    cost_micros,
    usd_to_price,
)
from bot.errors import InvalidInputError
from bot.llm.types import RoundStarted, Usage, UsageReported
from bot.llm.usage import parse_usage
from bot.storage.database import Database
from bot.storage.prices import PriceRepository
from tests.billing.conftest import request, turn
from tests.billing.ledger_rows import LedgerReader

# $3 input, $0.30 cached, $15 output per million tokens.
PRICE = Price(3_000_000, 15_000_000, 300_000, "override")

OPENAI = {
    "prompt_tokens": 2000,
    "completion_tokens": 500,
    "total_tokens": 2500,
    "prompt_tokens_details": {"cached_tokens": 1500},
    "completion_tokens_details": {"reasoning_tokens": 300},
}
DEEPSEEK = {
    "prompt_tokens": 1000,
    "completion_tokens": 200,
    "total_tokens": 1200,
    "prompt_cache_hit_tokens": 600,
    "prompt_cache_miss_tokens": 400,
    "completion_tokens_details": {"reasoning_tokens": 150},
}
OPENROUTER = {
    "prompt_tokens": 1200,
    "completion_tokens": 800,
    "total_tokens": 2000,
    "prompt_tokens_details": {"cached_tokens": 1000},
    "completion_tokens_details": {"reasoning_tokens": 700},
    "cost": 0.0123,
}


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        # (prompt - cached) * input + cached * cached + completion * output; reasoning is
        # inside completion and not added again.
        (OPENAI, 500 * 3 + 1500 * 0.3 + 500 * 15),
        (DEEPSEEK, 400 * 3 + 600 * 0.3 + 200 * 15),
        (OPENROUTER, 200 * 3 + 1000 * 0.3 + 800 * 15),
    ],
    ids=["openai", "deepseek", "openrouter"],
)
def test_cost_bills_cached_and_reasoning_tokens_once(
    shape: dict[str, object], expected: float
) -> None:
    assert cost_micros(parse_usage(shape), PRICE) == round(expected)


def test_cost_without_cached_price_bills_cached_tokens_as_input() -> None:
    price = Price(3_000_000, 15_000_000, None, "override")

    assert cost_micros(parse_usage(OPENAI), price) == 2000 * 3 + 500 * 15


def test_cost_rounds_up_to_a_whole_micro_dollar() -> None:
    price = Price(150_000, 600_000, 75_000, "catalog")  # gpt-4o-mini

    assert cost_micros(Usage(prompt_tokens=1), price) == 1
    assert cost_micros(Usage(), price) == 0


def test_catalog_matches_genai_prices_for_the_openai_shape() -> None:
    price = PriceCatalog().lookup("gpt-4o-mini")
    assert price is not None and price.source == "catalog"
    usage = parse_usage(OPENAI)
    reference = calc_price(
        CatalogUsage(input_tokens=2000, cache_read_tokens=1500, output_tokens=500), "gpt-4o-mini"
    ).total_price

    assert cost_micros(usage, price) == int(
        (reference * 1_000_000).to_integral_value(ROUND_CEILING)
    )


def test_catalog_strips_an_openrouter_provider_prefix() -> None:
    catalog = PriceCatalog()

    assert catalog.lookup("openai/gpt-4o-mini") == catalog.lookup("gpt-4o-mini")
    assert catalog.lookup("deepseek/deepseek-chat") == catalog.lookup("deepseek-chat")
    assert catalog.lookup("openai/gpt-4o-mini") is not None


def test_catalog_unknown_model_has_no_price() -> None:
    assert PriceCatalog().lookup("mystery-model-xyz") is None
    assert PriceCatalog().lookup("someone/mystery-model-xyz") is None


def test_catalog_long_context_tiers_follow_the_prompt_size() -> None:
    price = PriceCatalog().lookup("gemini-2.5-pro")
    assert price is not None and price.tiers
    long_call = Usage(prompt_tokens=250_000, completion_tokens=10)
    reference = calc_price(
        CatalogUsage(input_tokens=250_000, output_tokens=10), "gemini-2.5-pro"
    ).total_price

    assert cost_micros(long_call, price) == int(reference * 1_000_000)
    assert price.for_prompt(1000).input_price == price.input_price
    assert price.for_prompt(250_000).input_price > price.input_price


async def test_price_book_override_wins_over_the_catalog(db: Database) -> None:
    book = PriceBook(PriceRepository(db))
    catalog = await book.price_for("gpt-4o-mini")
    assert catalog is not None and catalog.source == "catalog"

    await book.set_override("gpt-4o-mini", "1.5", "6", updated_by=9)

    assert await book.price_for("gpt-4o-mini") == Price(1_500_000, 6_000_000, None, "override")
    # A fresh book (a restart) reads the stored override.
    assert (await PriceBook(PriceRepository(db)).price_for("gpt-4o-mini")) == Price(
        1_500_000, 6_000_000, None, "override"
    )
    # Without the override (removed from the table), a fresh book uses the catalog again.
    assert await PriceRepository(db).delete("gpt-4o-mini")
    assert await PriceBook(PriceRepository(db)).price_for("gpt-4o-mini") == catalog


async def test_price_book_override_prices_the_ledger_row(db: Database) -> None:
    book = PriceBook(PriceRepository(db))
    await book.set_override("gpt-4o-mini", Decimal("10"), Decimal("20"), Decimal("1"))
    meter = Meter(db, book)

    hold = await meter.before_call(
        turn(1, model="gpt-4o-mini"), RoundStarted(1, request("gpt-4o-mini"))
    )
    usage = parse_usage(OPENAI)
    cost = await meter.after_call(hold, UsageReported(1, "gpt-4o-mini", usage, "completed"))

    assert cost.cost_micros == 500 * 10 + 1500 * 1 + 500 * 20
    entry = await LedgerReader(db).by_key("answer:1:round:1")
    assert entry is not None
    assert (entry.input_price, entry.cached_price, entry.output_price) == (
        10_000_000,
        1_000_000,
        20_000_000,
    )
    assert (entry.cached_tokens, entry.reasoning_tokens) == (1500, 300)
    assert entry.price_source == "override"


async def test_price_book_lists_overrides(db: Database) -> None:
    book = PriceBook(PriceRepository(db))
    await book.set_override("b-model", 1, 2)
    await book.set_override("a-model", "0.25", "0.5", "0.1", updated_by=3)

    listed = await book.overrides()

    assert [(o.model, o.input_price, o.output_price, o.cached_price) for o in listed] == [
        ("a-model", 250_000, 500_000, 100_000),
        ("b-model", 1_000_000, 2_000_000, None),
    ]
    assert listed[0].updated_by == 3


@pytest.mark.parametrize("bad", ["-1", "abc", "NaN", "1e9"])
def test_usd_to_price_refuses_bad_values(bad: str) -> None:
    with pytest.raises(InvalidInputError):
        usd_to_price(bad)


def test_usd_to_price_converts_dollars_per_million() -> None:
    assert usd_to_price("0.075") == 75_000
    assert usd_to_price(2.5) == 2_500_000
    assert usd_to_price("0.0000004") == 0


def test_budget_amount_micros_checks_the_range() -> None:
    assert budget_amount_micros("5") == 5_000_000
    assert budget_amount_micros(0.25) == 250_000
    assert budget_amount_micros("1000000") == 1_000_000_000_000
    for bad in ("0", "-3", "1000000.01", "0.0000001", "inf", "five"):
        with pytest.raises(InvalidInputError):
            budget_amount_micros(bad)


def test_catalog_looks_a_model_up_again_after_its_ttl() -> None:
    catalog = PriceCatalog(ttl_s=0.0)

    first = catalog.lookup("gpt-4o-mini")

    assert first is not None and catalog.lookup("gpt-4o-mini") == first
