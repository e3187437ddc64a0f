"""The owner's model price overrides (table `model_prices`).

Prices are integer micro-dollars per million tokens; `bot.billing.pricing` converts from the
dollars people type and merges these over the maintained catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.database import Database
from bot.storage.sql import Conn, Row
from bot.storage.timeutil import from_ms, now_ms


@dataclass(frozen=True, slots=True)
class PriceOverride:
    model: str
    input_price: int  # micro-dollars per million tokens
    output_price: int
    cached_price: int | None  # None: cached tokens cost the input price
    updated_by: int | None
    updated_at: datetime


_COLUMNS = "model, input_price, output_price, cached_price, updated_by, updated_at"


def _override(row: Row) -> PriceOverride:
    return PriceOverride(
        model=row.model,
        input_price=row.input_price,
        output_price=row.output_price,
        cached_price=row.cached_price,
        updated_by=row.updated_by,
        updated_at=from_ms(row.updated_at),
    )


class PriceRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    _ALL = f"SELECT {_COLUMNS} FROM model_prices ORDER BY model"

    async def all(self, *, conn: Conn | None = None) -> list[PriceOverride]:
        async with self._db.reading(conn) as c:
            rows = await c.execute_fetchall(self._ALL)
        return [_override(r) for r in rows]

    _GET = f"SELECT {_COLUMNS} FROM model_prices WHERE model = ?"

    async def get(self, model: str, *, conn: Conn | None = None) -> PriceOverride | None:
        async with self._db.reading(conn) as c, c.execute(self._GET, (model,)) as cursor:
            row = cursor.fetchone()
        return None if row is None else _override(row)

    _SET = f"""
        INSERT INTO model_prices ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (model) DO UPDATE SET
            input_price = excluded.input_price, output_price = excluded.output_price,
            cached_price = excluded.cached_price, updated_by = excluded.updated_by,
            updated_at = excluded.updated_at
        RETURNING {_COLUMNS}
    """

    async def set(
        self,
        model: str,
        input_price: int,
        output_price: int,
        cached_price: int | None,
        updated_by: int | None,
        *,
        conn: Conn | None = None,
    ) -> PriceOverride:
        """Insert or replace the override of `model`; returns what was stored."""
        params = (model, input_price, output_price, cached_price, updated_by, now_ms())
        async with (
            self._db.maybe_transaction(conn) as c,
            c.execute(self._SET, params) as cursor,
        ):
            row = cursor.fetchone()
        assert row is not None
        return _override(row)

    _DELETE = "DELETE FROM model_prices WHERE model = ?"

    async def delete(self, model: str, *, conn: Conn | None = None) -> bool:
        async with self._db.maybe_transaction(conn) as c:
            cursor = await c.execute(self._DELETE, (model,))
            return cursor.rowcount > 0
