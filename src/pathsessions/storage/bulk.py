"""Writing many rows of one table at once: inserts, updates and deletes, a batch at a time.

The fixture loader writes hundreds of thousands of rows in one transaction. Statement by
statement that is a round trip per row (tens of microseconds on SQLite, more on PostgreSQL),
and what a row costs must not depend on how many there are. So rows go by batches:
on SQLite through `executemany` (one prepared statement stepped in C, no round trip); on
PostgreSQL as one statement per batch whose rows travel as one JSON parameter that the server
unpacks into the table's own row type (`json_populate_recordset`), so no column type is
spelled here and a batch is one round trip. Measured on 100,000 sessions: `executemany` on
PostgreSQL sends a message per row and took several times longer.

Call these inside a transaction: a batch is not atomic alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

import msgspec

from ..core.model import NewSession
from .database import Database
from .sessions import _WRITTEN, _written

# Rows per statement (PostgreSQL) or per `executemany` call (SQLite): large enough that the
# per-statement cost vanishes, small enough that a batch's JSON stays a few megabytes.
BATCH = 5_000

_encode = msgspec.json.Encoder().encode

Rows = Iterable[Sequence[Any]]


def _batches(rows: Rows, size: int = BATCH) -> Iterator[list[Sequence[Any]]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def _json(columns: Sequence[str], batch: list[Sequence[Any]]) -> str:
    return _encode([dict(zip(columns, row, strict=True)) for row in batch]).decode()


async def insert_rows(
    db: Database, table: str, columns: Sequence[str], rows: Rows, *, conflict: str = ""
) -> None:
    """Insert `rows` (values in the order of `columns`); `conflict` is an optional
    `ON CONFLICT ...` clause."""
    names = ", ".join(columns)
    if db.dialect == "sqlite":
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks}) {conflict}"
        for batch in _batches(rows):
            await db.executemany(sql, batch)
        return
    sql = (
        f"INSERT INTO {table} ({names}) SELECT {names}"
        f" FROM json_populate_recordset(NULL::{table}, ?::json) {conflict}"
    )
    for batch in _batches(rows):
        await db.execute(sql, _json(columns, batch))


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
    sql = (
        f"UPDATE {table} t SET {sets}"
        f" FROM json_populate_recordset(NULL::{table}, ?::json) v WHERE {where}"
    )
    for batch in _batches(rows):
        await db.execute(sql, _json([*keys, *columns], batch))


async def delete_rows(db: Database, table: str, keys: Sequence[str], rows: Rows) -> None:
    """Delete every row matching one of `rows` (values of `keys`)."""
    if db.dialect == "sqlite":
        where = " AND ".join(f"{k} = ?" for k in keys)
        for batch in _batches(rows):
            await db.executemany(f"DELETE FROM {table} WHERE {where}", batch)
        return
    where = " AND ".join(f"t.{k} = v.{k}" for k in keys)
    sql = (
        f"DELETE FROM {table} t USING json_populate_recordset(NULL::{table}, ?::json) v"
        f" WHERE {where}"
    )
    for batch in _batches(rows):
        await db.execute(sql, _json(keys, batch))


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
    sql = (
        f"UPDATE path_sessions t SET {sets}, created_at = COALESCE(v.created_at, t.created_at)"
        " FROM json_populate_recordset(NULL::path_sessions, ?::json) v WHERE t.id = v.id"
    )
    for batch in _batches(rows):
        await db.execute(sql, _json(("id", *columns), batch))


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
