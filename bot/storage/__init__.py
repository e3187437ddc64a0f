"""SQLite persistence: one connection owner, migrations, one repository per table family.

Knows nothing of Discord or the LLM; speaks in the dataclasses of `bot.storage.models`.
"""
