"""Money: prices, the usage ledger, budgets with atomic reservations, and reports.

Knows nothing of Discord. The chat service calls the meter around every LLM call:
reserve the worst case (refusing when a budget can't cover it) → settle to the real cost.
"""
