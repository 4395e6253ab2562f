"""The test databases: which backends, the PostgreSQL server, and how a test gets an empty one.

PATHSESSIONS_TEST_BACKENDS=sqlite (or postgresql) narrows the backends for a quick local run;
PATHSESSIONS_TEST_POSTGRES_URL names the server (default: the local one, user postgres).
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg

from pathsessions.storage import migrate, open_database

BACKENDS = [
    b.strip()
    for b in os.environ.get("PATHSESSIONS_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if b.strip()
]
POSTGRES_URL = os.environ.get(
    "PATHSESSIONS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TEST_DATABASE = "pathsessions_test"
# Every table a migration creates but this one holds the data a test may write.
MIGRATIONS_TABLE = "schema_migrations"

T = TypeVar("T")


def postgres_url_for(database: str) -> str:
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + database


def schema_url(base: str, schema: str) -> str:
    # asyncpg passes unknown DSN parameters to the server as settings. Tests may skip
    # waiting for the WAL flush: nothing here must survive a crash of PostgreSQL.
    return f"{base}?search_path={schema}&synchronous_commit=off"


_created: set[str] = set()


async def postgres_test_database() -> str:
    """One database for the run (created on first use); the tests get schemas in it."""
    if TEST_DATABASE not in _created:
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            await admin.execute(f'CREATE DATABASE "{TEST_DATABASE}"')
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            pass  # (the second when another process creates it at the same moment)
        finally:
            await admin.close()
        _created.add(TEST_DATABASE)
    return postgres_url_for(TEST_DATABASE)


async def migrate_url(url: str) -> None:
    db = await open_database(url, pg_pool_size=1)
    try:
        await migrate(db)
    finally:
        await db.close()


@asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """A new PostgreSQL schema nothing has migrated, dropped at the end. A schema isolates
    exactly like a database for our SQL (every statement names tables unqualified and finds
    them through search_path), and costs a tenth of one."""
    base = await postgres_test_database()
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(base)
    try:
        await admin.execute(f'CREATE SCHEMA "{name}"')
        yield schema_url(base, name)
        await admin.execute(f'DROP SCHEMA "{name}" CASCADE')
    finally:
        await admin.close()


class Aside:
    """An event loop in a thread of its own, for session-wide set-up and its connections:
    they cannot live on the loop of a test, which closes when the test ends."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class MigratedSchema:
    """A PostgreSQL schema migrated once; `reset` empties it for the next test.

    Emptying takes one round trip of DELETEs on a connection kept open (about 0.3 ms), where
    creating and migrating a schema took about 60 ms, and TRUNCATE about 25 ms."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.name = ""
        self.reset_sql = ""
        self.versions = 0
        self.admin: Any = None

    @property
    def url(self) -> str:
        return schema_url(self.base, self.name)

    async def create(self) -> None:
        self.name = f"s_{uuid.uuid4().hex[:16]}"
        if self.admin is None:
            self.admin = await asyncpg.connect(self.base)
            # A connection a test leaked inside a transaction would make a DELETE wait forever.
            await self.admin.execute("SET lock_timeout = '10s'")
            # As for the tests' own connections (schema_url): emptying need not wait for disk.
            await self.admin.execute("SET synchronous_commit = off")
        await self.admin.execute(f'CREATE SCHEMA "{self.name}"')
        await migrate_url(self.url)
        # Children before their parents, so that no DELETE has a row to cascade to.
        rows = await self.admin.fetch(
            "SELECT c.relname, ARRAY(SELECT DISTINCT f.confrelid::regclass::text"
            "  FROM pg_constraint f WHERE f.conrelid = c.oid AND f.contype = 'f'"
            "  AND f.confrelid <> c.oid)"
            " FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'r'",
            self.name,
        )
        parents = {str(r[0]): {str(p).split(".")[-1].strip('"') for p in r[1]} for r in rows}
        order: list[str] = []
        while len(order) < len(parents):
            ready = [
                table
                for table in sorted(parents)
                if table not in order
                and all(child in order for child, ps in parents.items() if table in ps)
            ]
            assert ready, f"foreign keys in a cycle: {parents}"
            order += ready
        sequences = await self.admin.fetch(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = $1", self.name
        )
        # Migrations seed no rows (no INSERT in storage/migrations/*.sql): empty tables,
        # sequences restarted and the recorded versions are exactly a freshly migrated schema.
        self.reset_sql = ";".join(
            [f'DELETE FROM "{self.name}"."{t}"' for t in order if t != MIGRATIONS_TABLE]
            + [f'ALTER SEQUENCE "{self.name}"."{r[0]}" RESTART' for r in sequences]
        )
        self.versions = await self._versions()

    async def _versions(self) -> int:
        return int(
            await self.admin.fetchval(f'SELECT COUNT(*) FROM "{self.name}".{MIGRATIONS_TABLE}')
        )

    async def reset(self) -> None:
        """Empty every data table; if a test changed the recorded versions (a test of
        migrating that is not marked `fresh_database`), migrate a new schema."""
        await self.admin.execute(self.reset_sql)
        if await self._versions() != self.versions:
            await self.drop()
            await self.create()

    async def drop(self) -> None:
        await self.admin.execute(f'DROP SCHEMA "{self.name}" CASCADE')

    async def close(self) -> None:
        await self.drop()
        await self.admin.close()
