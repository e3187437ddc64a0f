"""Prices and ledger rows per provider: the catalog asked with the provider's API URL,
owner overrides under model references, cache writes billed once at their own price."""

from __future__ import annotations

from bot.billing.meter import Meter
from bot.billing.pricing import PriceBook, PriceCatalog, cost_micros, worst_case_micros
from bot.llm.providers import DEFAULT_PROVIDER, ModelDirectory, ProviderConfig
from bot.llm.types import RoundStarted, Usage, UsageReported
from bot.llm.usage import parse_usage
from bot.storage.database import Database
from bot.storage.prices import PriceRepository
from tests.billing.conftest import request, turn
from tests.billing.ledger_rows import LedgerReader

DIRECTORY = ModelDirectory(
    {
        DEFAULT_PROVIDER: ProviderConfig(DEFAULT_PROVIDER, "https://api.openai.com/v1"),
        "deepseek": ProviderConfig("deepseek", "https://api.deepseek.com/v1"),
        "openrouter": ProviderConfig("openrouter", "https://openrouter.ai/api/v1"),
        "claude": ProviderConfig("claude", "https://api.anthropic.com/v1", protocol="anthropic"),
    }
)


def test_catalog_prices_a_model_at_its_provider() -> None:
    catalog = PriceCatalog()
    direct = catalog.lookup("deepseek-chat", "https://api.deepseek.com/v1")
    routed = catalog.lookup("deepseek/deepseek-chat", "https://openrouter.ai/api/v1")
    assert direct is not None and routed is not None
    assert direct != routed  # OpenRouter's price of the model is not DeepSeek's own


def test_catalog_knows_anthropic_cache_write_prices() -> None:
    price = PriceCatalog().lookup("claude-sonnet-4-5", "https://api.anthropic.com/v1")
    assert price is not None and price.cache_write_price is not None
    assert price.cache_write_price > price.input_price > price.effective_cached_price


def test_cost_bills_cache_reads_and_writes_once_each() -> None:
    price = PriceCatalog().lookup("claude-sonnet-4-5", "https://api.anthropic.com/v1")
    assert price is not None
    # Anthropic's usage: 100 fresh input, 2,000 read from cache, 500 written to it.
    usage = parse_usage(
        {
            "input_tokens": 100,
            "cache_read_input_tokens": 2000,
            "cache_creation_input_tokens": 500,
            "output_tokens": 40,
        }
    )
    flat = price.for_prompt(usage.prompt_tokens)
    expected = 100 * flat.input_price + 2000 * flat.effective_cached_price
    expected += 500 * flat.effective_cache_write_price + 40 * flat.output_price
    assert cost_micros(usage, price) == -(-expected // 1_000_000)
    # The worst case assumes every prompt token may be written to the cache.
    assert worst_case_micros(2600, 40, price) >= cost_micros(usage, price)


async def test_price_book_resolves_references_to_their_provider(db: Database) -> None:
    book = PriceBook(PriceRepository(db), directory=DIRECTORY)
    await book.set_override("deepseek/deepseek-chat", "1", "2", updated_by=1)
    assert (await book.price_for("deepseek/deepseek-chat")).source == "override"  # type: ignore[union-attr]
    # The same model through another provider is another price.
    routed = await book.price_for("openrouter/deepseek/deepseek-chat")
    assert routed is not None and routed.source == "catalog"
    # `default/x` and `x` are one reference.
    await book.set_override("default/gpt-4o-mini", "3", "4", updated_by=1)
    assert [o.model for o in await book.overrides()] == ["deepseek/deepseek-chat", "gpt-4o-mini"]


async def test_ledger_row_records_provider_and_cache_writes(db: Database) -> None:
    book = PriceBook(PriceRepository(db), directory=DIRECTORY)
    await book.set_override("claude/claude-x", "3", "15", "0.3", updated_by=1)
    meter = Meter(db, book)
    hold = await meter.before_call(
        turn(7, model="claude/claude-x"), RoundStarted(1, request("claude/claude-x"))
    )
    usage = Usage(
        prompt_tokens=1000, completion_tokens=10, cached_tokens=600, cache_write_tokens=300
    )
    cost = await meter.after_call(hold, UsageReported(1, "claude/claude-x", usage, "completed"))

    entry = await LedgerReader(db).by_key("answer:7:round:1")
    assert entry is not None
    assert (entry.provider, entry.model) == ("claude", "claude/claude-x")
    assert (entry.prompt_tokens, entry.cached_tokens, entry.cache_write_tokens) == (1000, 600, 300)
    # An override has no cache-write price: writes are billed at the input price.
    assert entry.cache_write_price == 3_000_000
    assert cost.cost_micros == -(
        -(100 * 3_000_000 + 600 * 300_000 + 300 * 3_000_000 + 10 * 15_000_000) // 1_000_000
    )


async def test_ledger_row_of_a_fallback_names_the_model_that_answered(db: Database) -> None:
    book = PriceBook(PriceRepository(db), directory=DIRECTORY)
    await book.set_override("deepseek/deepseek-chat", "1", "2", updated_by=1)
    await book.set_override("openrouter/deepseek/deepseek-chat", "10", "20", updated_by=1)
    meter = Meter(db, book)
    hold = await meter.before_call(
        turn(8, model="deepseek/deepseek-chat"), RoundStarted(1, request("deepseek/deepseek-chat"))
    )
    usage = Usage(prompt_tokens=100, completion_tokens=10)
    event = UsageReported(1, "openrouter/deepseek/deepseek-chat", usage, "completed")
    cost = await meter.after_call(hold, event)

    entry = await LedgerReader(db).by_key("answer:8:round:1")
    assert entry is not None
    assert (entry.provider, entry.model) == ("openrouter", "openrouter/deepseek/deepseek-chat")
    assert cost.cost_micros == 100 * 10 + 10 * 20
