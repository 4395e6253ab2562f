"""The one interface both engines implement: run SQL written once, with `?` placeholders.

SQL text is shared by SQLite and PostgreSQL; the PostgreSQL adapter rewrites `?` to `$n`.
The places where the dialects differ in what we need (matching a column against a list,
passing that list, locking rows read) are the `any_of` / `array` / `for_update` hooks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

Row = Sequence[Any]


class Database(Protocol):
    dialect: str

    async def fetchone(self, sql: str, *args: Any) -> Row | None: ...

    async def fetchall(self, sql: str, *args: Any) -> list[Row]: ...

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; answer the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def transaction(self) -> AbstractAsyncContextManager[Database]:
        """A database whose statements all commit together, or not at all."""
        ...

    def for_update(self) -> str:
        """Appended to a SELECT inside a transaction: lock the rows read until it ends.
        Empty on SQLite, where a write transaction already holds the whole database."""
        ...

    def any_of(self, column: str) -> str:
        """SQL testing `column` against one list parameter given by `array`."""
        ...

    def array(self, values: Sequence[str]) -> Any: ...

    async def ping(self) -> bool: ...

    def connections(self) -> tuple[int, int]:
        """Connections open now, and how many of them are idle (for /metrics)."""
        ...

    async def close(self) -> None: ...


class _RolledBack(Exception):
    pass


async def probe_writes(db: Database) -> None:
    """Raise unless a write can be made now: a table is created and given a row of a few
    pages, in a transaction that is then rolled back, so nothing is left and nothing is
    committed. It needs new pages of the file or relation, so a full disk (or a SQLite
    `max_page_count` reached) and a read-only file or server fail it, as they fail writes."""
    try:
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE health_probe (data TEXT)")
            await tx.execute("INSERT INTO health_probe (data) VALUES (?)", "x" * 16384)
            raise _RolledBack
    except _RolledBack:
        pass


async def keyset_batches(
    db: Database, sql: str, company_id: str, batch: int = 500
) -> AsyncIterator[list[Row]]:
    """The rows of `sql`, which filters `company_id = ? AND id > ?` and orders by id, a batch
    at a time. Keyset, not OFFSET: every batch costs the same however deep it is."""
    after = ""
    while True:
        rows = await db.fetchall(sql + " LIMIT ?", company_id, after, batch)
        if not rows:
            return
        yield rows
        if len(rows) < batch:
            return
        after = rows[-1][0]
