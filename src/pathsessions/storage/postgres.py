"""PostgreSQL behind the `Database` interface, through an asyncpg connection pool."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import asyncpg

from .database import Database, Row
from .errors import PostgresTarget, postgres_failure
from .outage import Outage, postgres_unavailable

_PLACEHOLDER = re.compile(r"\?")


@lru_cache(maxsize=512)
def to_numbered(sql: str) -> str:
    """`?` placeholders -> `$1, $2, ...` (our SQL never has a literal question mark)."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


def _rowcount(status: str) -> int:
    # asyncpg answers the command tag, e.g. "UPDATE 3", "INSERT 0 1", "DELETE 0".
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _Conn:
    """Statements on one acquired connection (inside a transaction)."""

    dialect = "postgresql"

    def __init__(self, conn: Any, outage: Outage, pooled: bool = False) -> None:
        self._conn = conn
        self.outage = outage
        # On the pool, each statement commits alone; on a connection, at the transaction's end.
        self._pooled = pooled
        self.wrote = False

    def _failed(self, exc: Exception) -> None:
        """Raise `StorageUnavailable` if `exc` says PostgreSQL cannot be used."""
        unavailable = postgres_unavailable(exc)
        if unavailable is not None:
            raise self.outage.failed(*unavailable) from None

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        try:
            row: Row | None = await self._conn.fetchrow(to_numbered(sql), *args)
        except Exception as exc:
            self._failed(exc)
            raise
        if self.outage.down and self._pooled:
            self.outage.succeeded(False)
        return row

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        try:
            rows = list(await self._conn.fetch(to_numbered(sql), *args))
        except Exception as exc:
            self._failed(exc)
            raise
        if self.outage.down and self._pooled:
            self.outage.succeeded(False)
        return rows

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            count = _rowcount(await self._conn.execute(to_numbered(sql), *args))
        except Exception as exc:
            self._failed(exc)
            raise
        self.wrote = self.wrote or count > 0
        if self.outage.down and self._pooled:
            self.outage.succeeded(count > 0)
        return count

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            await self._conn.executemany(to_numbered(sql), rows)
        except Exception as exc:
            self._failed(exc)
            raise
        self.wrote = self.wrote or bool(rows)
        if self.outage.down and self._pooled:
            self.outage.succeeded(bool(rows))

    async def bulk_insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        # COPY, binary: one round trip, no statement per row and no text to parse (an
        # `executemany` took over a second for 10,000 sessions, a JSON parameter unpacked by
        # json_populate_recordset a fifth more than this).
        if not rows:
            return
        try:
            await self._conn.copy_records_to_table(table, records=rows, columns=list(columns))
        except Exception as exc:
            self._failed(exc)
            raise
        self.wrote = True
        if self.outage.down and self._pooled:
            self.outage.succeeded(True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        async with self._conn.transaction():
            yield self

    def for_update(self) -> str:
        return " FOR UPDATE"

    def any_of(self, column: str) -> str:
        return f"{column} = ANY(?::text[])"

    def array(self, values: Sequence[str]) -> Any:
        return list(values)

    async def ping(self) -> bool:
        return await self.fetchone("SELECT 1") == (1,)

    def connections(self) -> tuple[int, int]:
        return (1, 0)  # one connection, held by the transaction this is

    async def close(self) -> None:
        return None


# Statements each connection keeps prepared. asyncpg's default, 100, is below the number of
# distinct statements the API sends: past it, statements were prepared again (one more round
# trip) as they came back in turn.
STATEMENT_CACHE = 1024


async def _keep_session(conn: Any) -> None:
    """What the pool runs on a connection given back, instead of asyncpg's default reset
    (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`): nothing. That
    reset is one more round trip for every statement sent outside a transaction, nearly
    doubling a request's round trips (bench/roundtrips.py), and undoes session state this
    code never makes: no SET, no LISTEN, no cursor, no session advisory lock (migrations take
    a transaction's). asyncpg still rolls back a transaction left open before calling it."""


class PostgresDatabase(_Conn):
    """Statements on the pool: each takes a connection for itself."""

    def __init__(self, pool: Any, where: str = "") -> None:
        super().__init__(pool, Outage(f"PostgreSQL at {where}" if where else "PostgreSQL"), True)
        self._pool = pool

    @classmethod
    async def open(cls, url: str, pool_size: int = 10) -> PostgresDatabase:
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=pool_size,
                server_settings={"timezone": "UTC"},
                reset=_keep_session,
                statement_cache_size=STATEMENT_CACHE,
            )
        except Exception as exc:
            raise postgres_failure(url, exc) from None
        return cls(pool, PostgresTarget.of(url).where)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                inner = _Conn(conn, self.outage)
                yield inner
        except Exception as exc:
            self._failed(exc)
            raise
        if self.outage.down:
            self.outage.succeeded(inner.wrote)

    def connections(self) -> tuple[int, int]:
        return (self._pool.get_size(), self._pool.get_idle_size())

    async def close(self) -> None:
        await self._pool.close()
