"""PostgreSQL behind the `Database` interface, through an asyncpg connection pool."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import asyncpg

from .database import Database, Row
from .errors import postgres_failure

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

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        row: Row | None = await self._conn.fetchrow(to_numbered(sql), *args)
        return row

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._conn.fetch(to_numbered(sql), *args))

    async def execute(self, sql: str, *args: Any) -> int:
        return _rowcount(await self._conn.execute(to_numbered(sql), *args))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._conn.executemany(to_numbered(sql), rows)

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
        return bool(await self._conn.fetchval("SELECT 1") == 1)

    async def close(self) -> None:
        return None


class PostgresDatabase(_Conn):
    """Statements on the pool: each takes a connection for itself."""

    def __init__(self, pool: Any) -> None:
        super().__init__(pool)
        self._pool = pool

    @classmethod
    async def open(cls, url: str, pool_size: int = 10) -> PostgresDatabase:
        try:
            pool = await asyncpg.create_pool(
                url, min_size=1, max_size=pool_size, server_settings={"timezone": "UTC"}
            )
        except Exception as exc:
            raise postgres_failure(url, exc) from None
        return cls(pool)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield _Conn(conn)

    async def close(self) -> None:
        await self._pool.close()
