"""Model prices and what a call costs.

Prices are integer micro-dollars per million tokens. The owner's overrides (table
`model_prices`, `/price set`) win over the maintained catalog of the `genai-prices` package,
which is read offline from the data bundled with it (its network updater is never used).

Cost of a call, with OpenAI's inclusive counts (cache reads and cache writes ⊂ prompt,
reasoning ⊂ completion):

    (prompt - cached - cache_write) * input + cached * cached_price
        + cache_write * cache_write_price + completion * output

Reasoning tokens are output tokens and are already inside `completion`; a model without a
cached (or cache-write) price bills those tokens at the input price. Costs are rounded up to
a whole micro-dollar so a budget is never under-charged.

Prices are per provider: a model reference (`deepseek/deepseek-v4-flash`) is looked up as
an owner override under that reference, then in the catalog with the provider's API URL
(so OpenRouter's price of a model is not DeepSeek's own).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

from bot.errors import InvalidInputError
from bot.llm.providers import ModelDirectory
from bot.llm.types import Usage
from bot.money import usd_precise
from bot.storage.prices import PriceOverride, PriceRepository

log = logging.getLogger(__name__)

PriceSource = Literal["override", "catalog"]

MICROS_PER_DOLLAR = 1_000_000
TOKENS_PER_PRICE_UNIT = 1_000_000  # prices are per million tokens
MAX_PRICE_USD = Decimal(10_000)  # per million tokens; far above any real model


@dataclass(frozen=True, slots=True)
class PriceTier:
    """Prices that apply to a whole call once its prompt exceeds `above_prompt_tokens`."""

    above_prompt_tokens: int
    input_price: int
    output_price: int
    cached_price: int | None
    cache_write_price: int | None = None


@dataclass(frozen=True, slots=True)
class Price:
    """Micro-dollars per million tokens. `cached_price` None: cached tokens cost `input_price`."""

    input_price: int
    output_price: int
    cached_price: int | None
    source: PriceSource
    tiers: tuple[PriceTier, ...] = ()  # long-context prices (Gemini, Claude), ascending
    cache_write_price: int | None = None  # None: cache writes cost the input price

    @property
    def effective_cached_price(self) -> int:
        return self.input_price if self.cached_price is None else self.cached_price

    @property
    def effective_cache_write_price(self) -> int:
        return self.input_price if self.cache_write_price is None else self.cache_write_price

    def for_prompt(self, prompt_tokens: int) -> Price:
        """The flat price of a call with this many prompt tokens (tiers resolved)."""
        chosen: PriceTier | None = None
        for tier in self.tiers:
            if prompt_tokens > tier.above_prompt_tokens:
                chosen = tier
        if chosen is None:
            return replace(self, tiers=()) if self.tiers else self
        return Price(
            chosen.input_price,
            chosen.output_price,
            chosen.cached_price,
            self.source,
            tiers=(),
            cache_write_price=chosen.cache_write_price,
        )


def cost_micros(usage: Usage, price: Price) -> int:
    """What `usage` costs at `price`, in micro-dollars (rounded up); each token billed once."""
    flat = price.for_prompt(usage.prompt_tokens)
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    written = min(usage.cache_write_tokens, usage.prompt_tokens - cached)
    numerator = (
        (usage.prompt_tokens - cached - written) * flat.input_price
        + cached * flat.effective_cached_price
        + written * flat.effective_cache_write_price
        + usage.completion_tokens * flat.output_price
    )
    return -(-numerator // TOKENS_PER_PRICE_UNIT)


def worst_case_micros(prompt_tokens: int, max_output_tokens: int, price: Price) -> int:
    """The most a call can cost: every prompt token at the dearer of the input and
    cache-write prices (a provider may write the whole prompt to its cache), every output
    token produced."""
    uncached = cost_micros(
        Usage(prompt_tokens=prompt_tokens, completion_tokens=max_output_tokens), price
    )
    written = cost_micros(
        Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=max_output_tokens,
            cache_write_tokens=prompt_tokens,
        ),
        price,
    )
    return max(uncached, written)


def usd_to_price(value: Decimal | float | str) -> int:
    """Dollars per million tokens → micro-dollars per million tokens (checked)."""
    try:
        dollars = Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidInputError(f"{value!r} is not a price in dollars.") from exc
    if not dollars.is_finite() or dollars < 0 or dollars > MAX_PRICE_USD:
        raise InvalidInputError(
            f"A price must be between $0 and ${MAX_PRICE_USD:,} per million tokens."
        )
    return int((dollars * MICROS_PER_DOLLAR).quantize(Decimal(1), rounding=ROUND_HALF_UP))


MAX_BUDGET_USD = Decimal(1_000_000)


def budget_amount_micros(value: Decimal | float | str) -> int:
    """A budget amount typed in dollars → micro-dollars: more than $0, at most $1,000,000."""
    try:
        dollars = Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidInputError(f"{value!r} is not an amount in dollars.") from exc
    micros = 0
    if dollars.is_finite() and 0 < dollars <= MAX_BUDGET_USD:
        micros = int((dollars * MICROS_PER_DOLLAR).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if micros <= 0:
        raise InvalidInputError("A budget must be more than $0 and at most $1,000,000.")
    return micros


def format_price(price_micros: int) -> str:
    """A per-million-tokens price in dollars, e.g. "$0.075"."""
    return usd_precise(price_micros)


def how_to_set_price(model: str) -> str:
    return (
        f"No price is known for the model `{model}`, and a usage budget applies here, so it "
        "can't be used until the bot owner sets one (dollars per million tokens): "
        f"`/price set model:{model} input:<dollars> output:<dollars>`."
    )


# --- the genai-prices catalog --------------------------------------------------------------


class PriceCatalog:
    """Prices from the `genai-prices` package data, looked up once per model name.

    Entries are looked up again after `ttl_s`: the package dates some prices (a change of
    price from a given day, off-peak discounts), and the bot runs for weeks.
    """

    def __init__(self, ttl_s: float = 900.0) -> None:
        self._ttl_s = ttl_s
        self._cache: dict[tuple[str, str | None], tuple[float, Price | None]] = {}

    def lookup(self, model: str, api_url: str | None = None) -> Price | None:
        """The catalog price of `model` at the provider serving `api_url` (the catalog
        matches known providers' URLs), then at any provider, then without an
        OpenRouter-style "vendor/" prefix; None when the catalog doesn't know it."""
        now = time.monotonic()
        key = (model, api_url)
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < self._ttl_s:
            return cached[1]
        price = None
        urls = [api_url, None] if api_url else [None]
        for url in urls:
            for candidate in _candidates(model):
                price = _catalog_price(candidate, url)
                if price is not None:
                    break
            if price is not None:
                break
        if price is None and cached is None:
            log.info("no catalog price for model %s", model)
        self._cache[key] = (now, price)
        return price


def _candidates(model: str) -> list[str]:
    names = [model]
    if "/" in model:
        bare = model.rsplit("/", 1)[1]
        if bare:
            names.append(bare)
    return names


def _catalog_price(model: str, api_url: str | None = None) -> Price | None:
    # Imported here: the package data takes ~0.2 s to load, needed only when a price is.
    from genai_prices import Usage as CatalogUsage
    from genai_prices import calc_price
    from genai_prices.types import TieredPrices

    try:
        found = calc_price(
            CatalogUsage(input_tokens=0, output_tokens=0), model, provider_api_url=api_url
        ).model_price
    except LookupError:
        return None
    except ValueError:  # a malformed entry in the package data: treat the model as unpriced
        log.warning("genai-prices has an unusable price for %s", model, exc_info=True)
        return None
    raw_input = getattr(found, "input_mtok", None)
    raw_output = getattr(found, "output_mtok", None)
    raw_cached = getattr(found, "cache_read_mtok", None)
    raw_write = getattr(found, "cache_write_mtok", None)
    if raw_input is None or raw_output is None:
        return None

    def base(value: object) -> int | None:
        if value is None:
            return None
        if isinstance(value, TieredPrices):
            return usd_to_price(value.base)
        if isinstance(value, Decimal | int | float):
            return usd_to_price(value)
        return None

    def at(value: object, start: int) -> int | None:
        if isinstance(value, TieredPrices):
            applicable = value.base
            for tier in value.tiers:
                if start >= tier.start:
                    applicable = tier.price
            return usd_to_price(applicable)
        return base(value)

    input_price, output_price = base(raw_input), base(raw_output)
    if input_price is None or output_price is None:
        return None
    starts = sorted(
        {
            tier.start
            for value in (raw_input, raw_output, raw_cached, raw_write)
            if isinstance(value, TieredPrices)
            for tier in value.tiers
        }
    )
    tiers: list[PriceTier] = []
    for start in starts:
        tier_input, tier_output = at(raw_input, start), at(raw_output, start)
        assert tier_input is not None and tier_output is not None
        tiers.append(
            PriceTier(start, tier_input, tier_output, at(raw_cached, start), at(raw_write, start))
        )
    return Price(
        input_price,
        output_price,
        base(raw_cached),
        "catalog",
        tuple(tiers),
        cache_write_price=base(raw_write),
    )


# --- overrides over the catalog ------------------------------------------------------------


class PriceBook:
    """Where the meter gets prices: owner overrides first, then the catalog.

    Overrides are loaded once and kept in memory; changes made through this object update
    the copy, so every change must go through it (the `/price` commands do).
    """

    def __init__(
        self,
        prices: PriceRepository,
        catalog: PriceCatalog | None = None,
        *,
        directory: ModelDirectory | None = None,
    ) -> None:
        self._prices = prices
        self._catalog = catalog or PriceCatalog()
        self._directory = directory
        self._overrides: dict[str, PriceOverride] | None = None

    def canonical(self, ref: str) -> str:
        return self._directory.canonical(ref) if self._directory is not None else ref.strip()

    def provider_of(self, ref: str) -> str:
        return self._directory.provider_of(ref) if self._directory is not None else "default"

    async def price_for(self, ref: str) -> Price | None:
        """The price of model reference `ref`: the owner's override, else the catalog's
        price at that reference's provider."""
        overrides = await self._load()
        override = overrides.get(self.canonical(ref))
        if override is not None:
            return Price(
                override.input_price,
                override.output_price,
                override.cached_price,
                "override",
            )
        return self.catalog_price(ref)

    def catalog_price(self, ref: str) -> Price | None:
        if self._directory is None:
            return self._catalog.lookup(ref)
        resolved = self._directory.resolve(ref)
        return self._catalog.lookup(resolved.model, resolved.provider.base_url)

    async def set_override(
        self,
        model: str,
        input_usd: Decimal | float | str,
        output_usd: Decimal | float | str,
        cached_usd: Decimal | float | str | None = None,
        *,
        updated_by: int | None = None,
    ) -> PriceOverride:
        """Set the owner's price of `model` (dollars per million tokens); it wins from now on."""
        model = self.canonical(model)
        if not model:
            raise InvalidInputError("The model name can't be empty.")
        cached = None if cached_usd is None else usd_to_price(cached_usd)
        saved = await self._prices.set(
            model, usd_to_price(input_usd), usd_to_price(output_usd), cached, updated_by
        )
        (await self._load())[model] = saved
        log.info("price override for %s set by %s", model, updated_by)
        return saved

    async def overrides(self) -> Sequence[PriceOverride]:
        return sorted((await self._load()).values(), key=lambda o: o.model)

    async def _load(self) -> dict[str, PriceOverride]:
        if self._overrides is None:
            self._overrides = {o.model: o for o in await self._prices.all()}
        return self._overrides
