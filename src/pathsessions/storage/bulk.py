"""Writing many rows of one table at once: inserts, updates and deletes, a batch at a time.

The fixture loader writes hundreds of thousands of rows in one transaction. Statement by
statement that is a round trip per row (tens of microseconds on SQLite, more on PostgreSQL),
and what a row costs must not depend on how many there are. So rows go by batches. Plain
inserts go through the engine's own bulk path (`Database.bulk_insert`: `executemany` on
SQLite, one prepared statement stepped in C; binary COPY on PostgreSQL), which snapshot
restores use too. Inserts with an `ON CONFLICT` clause and updates go on PostgreSQL as one
statement per batch whose rows travel as typed arrays (`unnest`), so a batch is one round
trip. Measured on 100,000 sessions: `executemany` on PostgreSQL sends a message per row and
took several times longer.

Call these inside a transaction: a batch is not atomic alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from itertools import islice
from typing import Any

from ..core.model import NewSession
from .database import Database
from .sessions import _WRITTEN, _written

# Rows per statement (PostgreSQL) or per `executemany` call (SQLite): large enough that the
# per-statement cost vanishes, small enough that a batch's JSON stays a few megabytes.
BATCH = 5_000

Rows = Iterable[Sequence[Any]]

# SQLite's page cache while a bulk write runs, in KiB (a negative cache_size), instead of its
# default 2 MiB. Rows inserted in key order of none of a table's indexes land all over each
# index: once an index outgrows the cache, every row reads pages back. Measured, inserting
# 300,000 enrollments into a table of six indexes: about half the time with 500 MiB. Pages
# are taken as they are used, so a small load does not grow the process.
SQLITE_CACHE_KIB = 262_144


@asynccontextmanager
async def roomy(db: Database) -> AsyncIterator[None]:
    """On SQLite, a larger page cache for the duration (`SQLITE_CACHE_KIB`), then the one the
    connection had; nothing on PostgreSQL, whose buffers are the server's."""
    if db.dialect != "sqlite":
        yield
        return
    row = await db.fetchone("PRAGMA cache_size")
    await db.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        await db.execute(f"PRAGMA cache_size = {int(row[0]) if row else -2000}")


def _batches(rows: Rows, size: int = BATCH) -> Iterator[list[Sequence[Any]]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


# Table -> column -> its SQL type, as PostgreSQL names it: the schema is the program's, the
# same in every database it opens.
_types: dict[str, dict[str, str]] = {}


async def _unnest(db: Database, table: str, columns: Sequence[str]) -> str:
    """`unnest(?::type[], ...) AS v(columns)`: rows given column by column (`_arrays`),
    each array typed as its column is."""
    types = _types.get(table)
    if types is None:
        rows = await db.fetchall(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
            " WHERE a.attrelid = CAST(? AS regclass) AND a.attnum > 0 AND NOT a.attisdropped",
            table,
        )
        types = _types[table] = {row[0]: row[1] for row in rows}
    arrays = ", ".join(f"?::{types[c]}[]" for c in columns)
    return f"unnest({arrays}) AS v({', '.join(columns)})"


def _arrays(batch: list[Sequence[Any]]) -> list[list[Any]]:
    return [list(column) for column in zip(*batch, strict=True)]


async def insert_rows(
    db: Database, table: str, columns: Sequence[str], rows: Rows, *, conflict: str = ""
) -> None:
    """Insert `rows` (values in the order of `columns`); `conflict` is an optional
    `ON CONFLICT ...` clause."""
    if not conflict:
        for batch in _batches(rows):
            await db.bulk_insert(table, columns, batch)
        return
    names = ", ".join(columns)
    if db.dialect == "sqlite":
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks}) {conflict}"
        for batch in _batches(rows):
            await db.executemany(sql, batch)
        return
    sql = f"INSERT INTO {table} ({names}) SELECT * FROM {await _unnest(db, table, columns)}"
    for batch in _batches(rows):
        await db.execute(f"{sql} {conflict}", *_arrays(batch))


async def update_rows(
    db: Database, table: str, keys: Sequence[str], columns: Sequence[str], rows: Rows
) -> None:
    """Set `columns` of the rows found by `keys`; each row holds the key values, then the
    column values."""
    if db.dialect == "sqlite":
        sets = ", ".join(f"{c} = ?" for c in columns)
        where = " AND ".join(f"{k} = ?" for k in keys)
        sql = f"UPDATE {table} SET {sets} WHERE {where}"
        width = len(keys)
        for batch in _batches(rows):
            await db.executemany(sql, [(*row[width:], *row[:width]) for row in batch])
        return
    sets = ", ".join(f"{c} = v.{c}" for c in columns)
    where = " AND ".join(f"t.{k} = v.{k}" for k in keys)
    values = await _unnest(db, table, [*keys, *columns])
    sql = f"UPDATE {table} t SET {sets} FROM {values} WHERE {where}"
    for batch in _batches(rows):
        await db.execute(sql, *_arrays(batch))


async def delete_rows(db: Database, table: str, keys: Sequence[str], rows: Rows) -> None:
    """Delete every row matching one of `rows` (values of `keys`)."""
    if db.dialect == "sqlite":
        where = " AND ".join(f"{k} = ?" for k in keys)
        for batch in _batches(rows):
            await db.executemany(f"DELETE FROM {table} WHERE {where}", batch)
        return
    where = " AND ".join(f"t.{k} = v.{k}" for k in keys)
    sql = f"DELETE FROM {table} t USING {await _unnest(db, table, keys)} WHERE {where}"
    for batch in _batches(rows):
        await db.execute(sql, *_arrays(batch))


# --- Path sessions, as the fixture loader writes them -------------------------------------------

SESSION_COLUMNS = ("id", "company_id", *(c.strip() for c in _WRITTEN.split(",")))


def session_row(s: NewSession) -> tuple[Any, ...]:
    """The values of `SESSION_COLUMNS` for `s`."""
    return (s.id, s.company_id, *_written(s))


async def insert_sessions(db: Database, rows: Rows) -> None:
    """New sessions: `session_row` values, then created_at and modified_at."""
    await insert_rows(db, "path_sessions", (*SESSION_COLUMNS, "created_at", "modified_at"), rows)


async def replace_sessions(db: Database, rows: Rows) -> None:
    """Stored sessions overwritten (the loader's update): `session_row` values, then
    modified_at, then created_at (None keeps the stored one)."""
    columns = (*SESSION_COLUMNS[1:], "modified_at", "created_at")
    if db.dialect == "sqlite":
        sets = ", ".join(f"{c} = ?" for c in columns[:-1])
        sql = f"UPDATE path_sessions SET {sets}, created_at = COALESCE(?, created_at) WHERE id = ?"
        for batch in _batches(rows):
            await db.executemany(sql, [(*row[1:], row[0]) for row in batch])
        return
    sets = ", ".join(f"{c} = v.{c}" for c in columns[:-1])
    values = await _unnest(db, "path_sessions", ("id", *columns))
    sql = (
        f"UPDATE path_sessions t SET {sets}, created_at = COALESCE(v.created_at, t.created_at)"
        f" FROM {values} WHERE t.id = v.id"
    )
    for batch in _batches(rows):
        await db.execute(sql, *_arrays(batch))


async def rows_of(
    db: Database, sql: str, values: Sequence[str], *, batch: int = 20_000
) -> list[tuple[Any, ...]]:
    """The rows of `sql`, which holds one `db.any_of(...)` placeholder (its only parameter),
    for every value of `values`, asked a batch at a time so no parameter grows unbounded."""
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(values), batch):
        rows = await db.fetchall(sql, db.array(values[start : start + batch]))
        found.extend(tuple(row) for row in rows)
    return found
