"""What /usage, /budget show and /price list say (bot/billing/report_text.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.billing.periods import period_of
from bot.billing.pricing import Price
from bot.billing.report_text import (
    MemberUsage,
    PriceListing,
    budget_status_line,
    price_list_lines,
    usage_text,
)
from bot.discord_ui.replies import fit_lines
from bot.storage.budgets import Budget, BudgetStatus
from bot.storage.usage_reports import UsageTotals

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


def status(user_id: int | None, amount: int, spent: int, held: int = 0) -> BudgetStatus:
    budget = Budget(1, 7, user_id, "week", amount, None, NOW)
    return BudgetStatus(budget, spent, held)


def test_usage_text_without_usage_or_budget_says_so() -> None:
    view = MemberUsage(UsageTotals(), period_of("month", NOW), "month", (), NOW)
    text = usage_text(view, "Guild")
    assert text.splitlines() == [
        "**Your usage in Guild** — this month (since 2026-11-01 UTC)",
        "No usage yet in this period.",
        "No budget applies to you here: your usage is not limited.",
    ]


def test_usage_text_counts_tokens_cost_and_budgets() -> None:
    totals = UsageTotals(
        calls=3,
        prompt_tokens=1200,
        cached_tokens=200,
        completion_tokens=300,
        reasoning_tokens=50,
        cost_micros=1234,
        unpriced_calls=1,
    )
    budgets = (status(None, 5_000_000, 1_000_000), status(42, 1_000_000, 250_000, 50_000))
    view = MemberUsage(totals, period_of("week", NOW), "member", budgets, NOW)
    lines = usage_text(view, "Guild").splitlines()
    assert lines[0].endswith("this week (since 2026-11-16 UTC, your budget's period)")
    assert lines[1] == ("**Tokens** 1,200 in (200 cached) · 300 out (50 reasoning) · 3 calls")
    assert lines[2] == "**Cost** $0.001234 — plus 1 unpriced call whose cost is unknown"
    assert lines[4].startswith("- Server weekly budget (shared by everyone): **$4.00 left**")
    assert "+ $0.05 in progress" in lines[5] and lines[5].startswith("- Your weekly budget")


def test_usage_text_all_unpriced_shows_no_cost() -> None:
    totals = UsageTotals(calls=2, prompt_tokens=10, completion_tokens=5, unpriced_calls=2)
    view = MemberUsage(totals, period_of("month", NOW), "month", (), NOW)
    assert "**Cost** unpriced" in usage_text(view, "Guild")


def test_budget_status_line_names_the_member_and_the_reset() -> None:
    line = budget_status_line(status(42, 1_000_000, 250_000, 50_000), NOW)
    assert line.startswith("**<@42>** — $1.00 weekly: $0.25 spent · $0.05 held · **$0.70 left**")
    assert "resets 2026-11-23 00:00 UTC" in line


def test_price_list_unpriced_model_says_how_to_set_a_price() -> None:
    lines = price_list_lines(PriceListing((), "local/llama", None, None))
    assert lines[1] == "- price table: not listed"
    assert "`/price set model:local/llama input:<$> output:<$>`" in lines[2]
    assert lines[-1] == "- none: the price table applies"


def test_price_list_catalog_price_in_use() -> None:
    price = Price(150_000, 600_000, None, "catalog")
    lines = price_list_lines(PriceListing((), "gpt-4o-mini", price, price))
    assert lines[2] == "- in use: the price table's"
    assert "cached at the input price" in lines[1]


def test_fit_lines_cuts_the_tail_and_says_how_many() -> None:
    lines = ["header", *(f"line {i:03}" for i in range(500))]
    text = fit_lines(lines, "budgets", limit=100)
    assert len(text) <= 100
    assert text.startswith("header\nline 000")
    assert text.endswith("more budgets.")
