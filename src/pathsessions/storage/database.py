"""The one interface both engines implement: run SQL written once, with `?` placeholders.

SQL text is shared by SQLite and PostgreSQL; the PostgreSQL adapter rewrites `?` to `$n`.
The places where the dialects differ in what we need (matching a column against a list,
passing that list, locking rows read) are the `any_of` / `array` / `for_update` hooks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

Row = Sequence[Any]
T = TypeVar("T")


class Database(Protocol):
    dialect: str

    async def fetchone(self, sql: str, *args: Any) -> Row | None: ...

    async def fetchall(self, sql: str, *args: Any) -> list[Row]: ...

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; answer the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def bulk_insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert many whole rows into `table` (names are ours, never a client's), by the
        engine's fastest way: a snapshot's restore writes tens of thousands at once."""
        ...

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


# A streamed list (a whole v1 list, read in batches) hands its records on this many at a
# time: building and encoding them holds the event loop, which every other request of the
# worker waits for. A slice's hold is what matters, not its size: 500 records built as objects
# took 5 to 10 ms and left enough garbage to bring a full collection about once a second; 50
# take about 0.5 ms.
STREAM_SLICE = 50
# The v1 session list encodes its rows without an object per session (api/v1/views.py),
# about a fifth of the cost: 250 hold the loop about as long as 50 records did, and each slice
# is also a write and a turn of the loop (docs/performance.md). The lists that still build a
# record per item (groups, users, paths) keep `STREAM_SLICE`.
SESSION_SLICE = 250
# Rows a streamed list reads per PostgreSQL query (below).
PG_STREAM_BATCH = 500


def stream_batch(db: Database, size: int = STREAM_SLICE) -> int:
    """Rows a streamed list of slices of `size` reads per query. SQLite's reads run on the
    event loop (storage/sqlite.py), so it reads one slice at a time; PostgreSQL's are awaited,
    the loop serving other requests meanwhile, so it reads `PG_STREAM_BATCH` rows per round
    trip (50 a query cost it two fifths of a list's throughput). Not more: asyncpg decodes a
    query's rows on the loop in one go (2,500 a query made another company's reads wait
    twice as long during ten lists)."""
    return size if db.dialect == "sqlite" else PG_STREAM_BATCH


def slices(rows: list[T], size: int = STREAM_SLICE) -> Iterator[list[T]]:
    """`rows` in slices of `size`, to be handed on one at a time."""
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def keyset_batches(
    db: Database, sql: str, company_id: str, batch: int | None = None, *, sliced: bool = True
) -> AsyncIterator[list[Row]]:
    """The rows of `sql`, which filters `company_id = ? AND id > ?` and orders by id, read a
    batch (by default `stream_batch`) at a time, and handed on in `slices` unless `sliced` is
    false (the caller reads more for each batch, and slices it itself). Keyset, not OFFSET:
    every batch costs the same however deep it is."""
    size = stream_batch(db) if batch is None else batch
    after = ""
    while True:
        rows = await db.fetchall(sql + " LIMIT ?", company_id, after, size)
        if not rows:
            return
        if sliced:
            for part in slices(rows):
                yield part
        else:
            yield rows
        if len(rows) < size:
            return
        after = rows[-1][0]
