"""Statements and connections, the same for SQLite and PostgreSQL.

Repositories write their SQL once, with `?` or `:name` parameters, and run it on a `Conn`
(inside `db.transaction()` or `db.reading()`) or on a `SyncConn` (the synchronous work of
`db.run_in_transaction`). SQLAlchemy Core compiles each statement once per dialect into the
driver's own parameter style (sqlite3's `?`, psycopg's `%(name)s`); the compiled text is
cached, so a hot statement costs one dictionary lookup before the driver runs it.

Results are read in full before they are handed back (`Outcome`): a SQLite statement runs
on the connection's thread, and nothing of it may be read from another.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import TracebackType
from typing import Any, Self, TypeAlias, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

__all__ = ["Conn", "DriverConn", "IntegrityError", "Outcome", "Params", "Row", "SyncConn"]

Params = Sequence[Any] | Mapping[str, Any] | None
IntegrityError = sa.exc.IntegrityError
# A result row: positional like a tuple, and by column name as an attribute (row.id).
Row: TypeAlias = sa.Row[*tuple[Any, ...]]


def positional_to_named(sql: str) -> tuple[str, int]:
    """`?` placeholders (outside quotes and comments) → `:_0`, `:_1`, …; returns the new
    text and how many there were."""
    out: list[str] = []
    count = 0
    i = 0
    quote: str | None = None
    while i < len(sql):
        ch = sql[i]
        if quote is not None:
            out.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = len(sql) if end < 0 else end
            out.append(sql[i:end])
            i = end
            continue
        elif ch == "?":
            out.append(f":_{count}")
            count += 1
        else:
            out.append(ch)
        i += 1
    return "".join(out), count


@dataclass(frozen=True, slots=True)
class Compiled:
    """A statement in one driver's parameter style."""

    text: str
    order: tuple[str, ...] | None  # names in positional order, for drivers taking tuples
    positional_count: int  # `?` in the source: tuple params are given in that order
    positional: bool  # the driver takes the `?` parameters in their own order

    def params(self, params: Params) -> Any:
        if self.positional and isinstance(params, tuple | list):
            return params  # `?` in, `?` out (SQLite): already in order
        if params is None:
            named: Mapping[str, Any] = {}
        elif isinstance(params, Mapping):
            named = params
        else:
            if len(params) != self.positional_count:
                raise ValueError(
                    f"{len(params)} parameters for {self.positional_count} placeholders"
                )
            named = {f"_{i}": value for i, value in enumerate(params)}
        if self.order is None:
            return dict(named)
        return tuple(named[name] for name in self.order)


@lru_cache(maxsize=4096)
def compile_for(dialect: Dialect, sql: str) -> Compiled:
    text, count = positional_to_named(sql)
    compiled = sa.text(text).compile(dialect=dialect)
    order = compiled.positiontup
    # psycopg runs a statement with no parameters as-is; with parameters, `%` is special.
    rendered = compiled.string
    if dialect.name == "postgresql" and not compiled.binds:
        rendered = rendered.replace("%%", "%")
    names = tuple(order) if order is not None else None
    same_order = count > 0 and names == tuple(f"_{i}" for i in range(count))
    return Compiled(rendered, names, count, same_order)


class Outcome:
    """A statement's rows (read in full), how many rows it changed, and its last row id."""

    __slots__ = ("lastrowid", "rowcount", "rows")

    def __init__(self, rows: list[Row], rowcount: int, lastrowid: int | None) -> None:
        self.rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> Row | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Row]:
        return self.rows

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


def run_on(conn: Connection, sql: str, params: Params = None) -> Outcome:
    """Run one statement on a synchronous SQLAlchemy connection (any dialect)."""
    compiled = compile_for(conn.dialect, sql)
    if conn.dialect.name == "sqlite":
        return _run_on_sqlite(conn, compiled, compiled.params(params))
    result = conn.exec_driver_sql(compiled.text, compiled.params(params))
    rows = list(result.all()) if result.returns_rows else []
    return Outcome(rows, result.rowcount, None)


def run_many_on(conn: Connection, sql: str, seq: Iterable[Params]) -> Outcome:
    compiled = compile_for(conn.dialect, sql)
    batch = [compiled.params(p) for p in seq]
    if not batch:
        return Outcome([], 0, None)
    if conn.dialect.name == "sqlite":
        return _run_on_sqlite(conn, compiled, batch, many=True)
    result = conn.exec_driver_sql(compiled.text, batch)
    return Outcome([], result.rowcount, None)


def _run_on_sqlite(
    conn: Connection, compiled: Compiled, params: Any, many: bool = False
) -> Outcome:
    """SQLite: the compiled statement straight on the connection's sqlite3 cursor.

    SQLAlchemy's result machinery costs more than the statements themselves on the hot path
    (budget reserve and settle around every model call ran 35 % slower through it); the SQL
    is still SQLAlchemy's compilation, and errors are raised as SQLAlchemy's exceptions, as
    on PostgreSQL."""
    raw = cast(sqlite3.Connection, conn.connection.dbapi_connection)
    try:
        cursor = (
            raw.executemany(compiled.text, params) if many else raw.execute(compiled.text, params)
        )
        if cursor.description is None:
            return Outcome([], cursor.rowcount, cursor.lastrowid)
        make = _row_type(tuple(d[0] for d in cursor.description))._make
        rows = [make(r) for r in cursor.fetchall()]
    except sqlite3.Error as exc:
        raise sa.exc.DBAPIError.instance(
            compiled.text, params, exc, sqlite3.Error, dialect=conn.dialect
        ) from exc
    return Outcome(rows, cursor.rowcount, cursor.lastrowid)


@lru_cache(maxsize=1024)
def _row_type(names: tuple[str, ...]) -> Any:
    """A named tuple for these columns: positional like a tuple, by name as an attribute,
    like SQLAlchemy's rows (names that aren't identifiers, e.g. count(*), get _0, _1, …)."""
    return namedtuple("Row", names, rename=True)


def run_on_driver(dbapi: Any, dialect: Dialect, sql: str, params: Params = None) -> Outcome:
    """One statement straight on a DBAPI connection (PostgreSQL's hot single statements; see
    `PostgresBackend.run_autocommit`): SQLAlchemy's compiled text, rows as named tuples and
    errors as SQLAlchemy's exceptions, without its per-statement result machinery."""
    compiled = compile_for(dialect, sql)
    args = compiled.params(params)
    cursor = dbapi.cursor()
    try:
        cursor.execute(compiled.text, args)
        if cursor.description is None:
            return Outcome([], cursor.rowcount, None)
        make = _row_type(tuple(d[0] for d in cursor.description))._make
        return Outcome([make(r) for r in cursor.fetchall()], cursor.rowcount, None)
    except dialect.loaded_dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(
            compiled.text,
            args,
            exc,
            dialect.loaded_dbapi.Error,
            dialect=dialect,
            connection_invalidated=dialect.is_disconnect(exc, dbapi, cursor),
        ) from exc
    finally:
        cursor.close()


class SyncConn:
    """A synchronous connection inside `Database.run_in_transaction`."""

    __slots__ = ("_conn", "dialect")

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.dialect: str = conn.dialect.name

    def execute(self, sql: str, params: Params = None) -> Outcome:
        return run_on(self._conn, sql, params)

    def executemany(self, sql: str, seq: Iterable[Params]) -> Outcome:
        return run_many_on(self._conn, sql, seq)


class DriverConn(SyncConn):
    """A `SyncConn` on the DBAPI connection under a pooled one (`run_on_driver`)."""

    __slots__ = ("_dbapi", "_dialect")

    def __init__(self, dbapi: Any, dialect: Dialect) -> None:
        self._dbapi = dbapi
        self._dialect = dialect
        self.dialect = dialect.name

    def execute(self, sql: str, params: Params = None) -> Outcome:
        return run_on_driver(self._dbapi, self._dialect, sql, params)

    def executemany(self, sql: str, seq: Iterable[Params]) -> Outcome:
        raise NotImplementedError("a statement of its own runs one statement")


Runner = Callable[[Callable[[Connection], Outcome]], Awaitable[Outcome]]


class _Pending:
    """What `Conn.execute` returns: await it, or `async with` it (aiosqlite's two styles)."""

    __slots__ = ("_coro", "_outcome")

    def __init__(self, coro: Awaitable[Outcome]) -> None:
        self._coro = coro
        self._outcome: Outcome | None = None

    def __await__(self) -> Generator[Any, None, Outcome]:
        return self._coro.__await__()

    async def __aenter__(self) -> Outcome:
        return await self._coro

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


class Conn:
    """The connection of one transaction (or read) of a `Database`; pass it on as `conn=`.

    `run` carries a synchronous step to wherever the engine's connection lives: the SQLite
    connection's own thread, or SQLAlchemy's greenlet bridge over psycopg's async driver.
    """

    __slots__ = ("_run", "dialect", "hold", "writable")

    def __init__(self, run: Runner, dialect: str, hold: object, *, writable: bool) -> None:
        self._run = run
        self.dialect = dialect
        self.hold = hold
        self.writable = writable

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    def execute(self, sql: str, params: Params = None) -> _Pending:
        return _Pending(self._run(lambda c: run_on(c, sql, params)))

    async def execute_fetchall(self, sql: str, params: Params = None) -> list[Row]:
        return (await self._run(lambda c: run_on(c, sql, params))).rows

    async def fetchone(self, sql: str, params: Params = None) -> Row | None:
        return (await self._run(lambda c: run_on(c, sql, params))).fetchone()

    async def scalar(self, sql: str, params: Params = None) -> Any:
        return (await self._run(lambda c: run_on(c, sql, params))).scalar()

    async def executemany(self, sql: str, seq: Iterable[Params]) -> Outcome:
        batch = list(seq)
        return await self._run(lambda c: run_many_on(c, sql, batch))
