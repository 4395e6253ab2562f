"""Storage: one `Database` interface, SQLite and PostgreSQL behind it, versioned migrations."""

from __future__ import annotations

from .database import Database
from .errors import DatabaseUnavailable, redact_url
from .migrate import SchemaTooNewError, migrate
from .postgres import PostgresDatabase
from .sqlite import SQLiteDatabase

__all__ = [
    "Database",
    "DatabaseUnavailable",
    "SchemaTooNewError",
    "migrate",
    "open_database",
    "redact_url",
]


async def open_database(
    url: str, *, sqlite_synchronous: str = "NORMAL", pg_pool_size: int = 10
) -> Database:
    if url.startswith("sqlite:///"):
        return SQLiteDatabase.open(url, sqlite_synchronous)
    return await PostgresDatabase.open(url, pg_pool_size)
