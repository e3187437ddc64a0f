"""Seeding and reading the ledger in tests: the bot's only write is the settlement of a call
(`ReservationRepository.settle`); tests append rows with the same statement directly."""

from __future__ import annotations

from bot.storage.database import Database
from bot.storage.sql import Conn
from bot.storage.usage import ENTRY_BY_KEY, LedgerEntry, append_entry, entry_from_row


async def append_row(db: Database, entry: LedgerEntry) -> bool:
    """Append `entry` in a transaction of its own; False when its key was recorded."""
    return await db.run_in_transaction(lambda conn: append_entry(conn, entry))


class LedgerReader:
    """What tests read of the ledger (the bot itself only appends to it)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def by_key(self, key: str, *, conn: Conn | None = None) -> LedgerEntry | None:
        async with self._db.reading(conn) as c, c.execute(ENTRY_BY_KEY, (key,)) as cursor:
            row = cursor.fetchone()
        return None if row is None else entry_from_row(row)

    _COUNT = "SELECT count(*) FROM usage_ledger"

    async def count(self, *, conn: Conn | None = None) -> int:
        async with self._db.reading(conn) as c, c.execute(self._COUNT) as cursor:
            row = cursor.fetchone()
        assert row is not None
        return int(row[0])

    # budget_spend (migration 0003) holds one row per server and day (user_id 0) and one per
    # member and day: a period's sum reads at most 31 rows.
    _SPENT = """
        SELECT COALESCE(SUM(cost_micros), 0) FROM budget_spend
        WHERE guild_id = ? AND user_id = ? AND day >= ? AND day < ?
    """

    async def spent(
        self,
        guild_id: int,
        user_id: int | None,
        first_day: int,
        end_day: int,
        *,
        conn: Conn | None = None,
    ) -> int:
        """Priced spending in micro-dollars over days [first_day, end_day): the whole server
        when `user_id` is None, else that member's in the server."""
        params = (guild_id, user_id or 0, first_day, end_day)
        async with self._db.reading(conn) as c, c.execute(self._SPENT, params) as cursor:
            row = cursor.fetchone()
        assert row is not None
        return int(row[0])
