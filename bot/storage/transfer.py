"""Copying a whole database into another (`python -m bot migrate-to URL`: an existing SQLite
file into PostgreSQL), and checking the copy before it is kept.

Both databases are at the same schema version (both are migrated when opened), so every
table copies column for column. The copy is one transaction on the target: it is checked
(row counts of every table, the ledger's money and tokens, the roll-ups the target's own
triggers rebuilt from the copied ledger) before COMMIT, and a mismatch rolls it all back.
The roll-ups (`usage_daily`, `budget_spend`) are not copied: the ledger's triggers rebuild
them as its rows arrive, which is itself a check that the two engines' triggers agree.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.storage.database import Database
from bot.storage.sql import Conn

log = logging.getLogger(__name__)

# (table, the columns that order it): parents before children, so foreign keys hold.
COPIED: tuple[tuple[str, str], ...] = (
    ("conversations", "id"),
    ("messages", "id"),
    ("steps", "id"),
    ("answer_discord_messages", "message_id, position"),
    ("round_artefacts", "message_id, round"),
    ("message_attachments", "message_id, position"),
    ("channel_settings", "channel_id"),
    ("channel_tools", "channel_id, tool"),
    ("model_prices", "model"),
    ("budgets", "id"),
    ("reservations", "id"),
    ("usage_ledger", "id"),
)
DERIVED = ("usage_daily", "budget_spend")
# Not copied: `process_heartbeats` and `periodic_jobs` describe the processes running on the
# source, none of which runs on the target (copied answers and holds have owners with no
# heartbeat there, so they count as a dead process's), and retention simply runs again.
# Tables whose `id` the target numbers itself from now on (identity columns on PostgreSQL).
_NUMBERED = ("conversations", "messages", "steps", "budgets", "reservations", "usage_ledger")
_TOTALS = {
    "usage_ledger": "SELECT COUNT(*), COALESCE(SUM(cost_micros), 0),"
    " COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0) FROM usage_ledger",
    "usage_daily": "SELECT COALESCE(SUM(calls), 0), COALESCE(SUM(cost_micros), 0),"
    " COALESCE(SUM(unpriced_calls), 0) FROM usage_daily",
    "budget_spend": "SELECT COUNT(*), COALESCE(SUM(cost_micros), 0) FROM budget_spend",
}
PAGE = 2_000


class TransferError(Exception):
    """The copy was refused or didn't match its source; the target was left unchanged."""


@dataclass(frozen=True, slots=True)
class TransferReport:
    rows: dict[str, int]  # table → rows copied (derived tables: rows rebuilt)
    ledger_cost_micros: int

    def lines(self) -> list[str]:
        copied = ", ".join(f"{table} {count:,}" for table, count in self.rows.items())
        money = self.ledger_cost_micros / 1_000_000
        return [f"copied: {copied}", f"ledger total: ${money:,.6f}, checked on both sides"]


async def copy_database(source: Database, target: Database) -> TransferReport:
    """Copy every row of `source` into the empty `target` and check the copy."""
    if await source.schema_version() != await target.schema_version():
        raise TransferError("the two databases are at different schema versions")
    async with target.transaction() as into:
        for table, _ in COPIED:
            if await into.scalar(f"SELECT COUNT(*) FROM {table}"):
                raise TransferError(f"the target is not empty ({table} has rows)")
        for table, order in COPIED:
            copied = await _copy_table(source, into, table, order)
            log.info("migrate-to: %s: %d rows", table, copied)
        if target.is_postgresql:
            for table in _NUMBERED:
                await into.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                )
        return await _check(source, into)


async def _copy_table(source: Database, into: Conn, table: str, order: str) -> int:
    copied = 0
    offset = 0
    while True:
        # Pages by offset in a stable order: one short read at a time, so a SQLite source
        # (its one connection) is never held for the whole copy.
        async with source.reading() as conn:
            rows = await conn.execute_fetchall(
                f"SELECT * FROM {table} ORDER BY {order} LIMIT ? OFFSET ?", (PAGE, offset)
            )
        if not rows:
            return copied
        columns: Sequence[str] = list(rows[0]._fields)
        placeholders = ", ".join(f":{c}" for c in columns)
        await into.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
            [row._asdict() for row in rows],
        )
        copied += len(rows)
        offset += len(rows)


async def _check(source: Database, into: Conn) -> TransferReport:
    counts: dict[str, int] = {}
    for table in (*(t for t, _ in COPIED), *DERIVED):
        async with source.reading() as conn:
            expected = int(await conn.scalar(f"SELECT COUNT(*) FROM {table}"))
        got = int(await into.scalar(f"SELECT COUNT(*) FROM {table}"))
        if got != expected:
            raise TransferError(f"{table}: {got} rows copied, the source has {expected}")
        counts[table] = got
    ledger_cost = 0
    for table, sql in _TOTALS.items():
        async with source.reading() as conn:
            expected_row = await conn.fetchone(sql)
        got_row = await into.fetchone(sql)
        assert expected_row is not None and got_row is not None
        want, have = tuple(map(int, expected_row)), tuple(map(int, got_row))
        if have != want:
            raise TransferError(f"{table} totals differ: copy {have}, source {want}")
        if table == "usage_ledger":
            ledger_cost = have[1]
    return TransferReport(counts, ledger_cost)
