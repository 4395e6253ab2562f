"""The migrations runner: versions recorded, idempotent, one transaction each, too-new refused.

Every test runs on SQLite and on PostgreSQL (the `database_url` fixture) against a database
that nothing has migrated yet.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from pathsessions.app import create_app
from pathsessions.cli import main
from pathsessions.settings import Settings
from pathsessions.storage import Database, SchemaTooNewError, migrate, open_database
from pathsessions.storage.migrate import Migration, available, current_version
from support import TOKEN_SECRET

# `pathsessions.storage.migrate` the attribute is the function; this is the module.
migrate_module = importlib.import_module("pathsessions.storage.migrate")

pytestmark = pytest.mark.fresh_database

# The tables of 0001_initial.sql; later migrations may add more, never remove these.
INITIAL_TABLES = {
    "companies",
    "api_keys",
    "company_groups",
    "users",
    "user_roles",
    "paths",
    "path_sessions",
    "session_instructors",
}
MIGRATIONS_DIR = Path(str(migrate_module.__file__)).parent / "migrations"


async def table_names(db: Database) -> set[str]:
    if db.dialect == "sqlite":
        rows = await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    else:
        rows = await db.fetchall(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    return {str(r[0]) for r in rows}


async def recorded(db: Database) -> list[tuple[int, str, int]]:
    rows = await db.fetchall(
        "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"
    )
    return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]


def test_migration_files_are_numbered_in_sequence() -> None:
    files = sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))
    assert files, "no migration files found"
    assert all(re.fullmatch(r"\d{4}_\w+\.sql", name) for name in files), files
    migrations = available()
    assert [m.version for m in migrations] == list(range(1, len(files) + 1))
    assert [f"{m.version:04d}_{m.name}.sql" for m in migrations] == files
    assert migrations[0].name == "initial"
    for m in migrations:
        assert m.statements, m.name
        assert all(s and not s.startswith("--") and ";" not in s for s in m.statements)


async def test_fresh_database_records_every_migration(database_url: str) -> None:
    db = await open_database(database_url, pg_pool_size=2)
    try:
        before = time.time_ns() // 1_000_000
        applied = await migrate(db)
        after = time.time_ns() // 1_000_000
        expected = [(m.version, m.name) for m in available()]
        assert applied == [v for v, _ in expected]
        rows = await recorded(db)
        assert [(v, n) for v, n, _ in rows] == expected
        assert all(before <= at <= after for _, _, at in rows), rows
        assert await current_version(db) == expected[-1][0]
        tables = await table_names(db)
        assert INITIAL_TABLES | {"schema_migrations"} <= tables
    finally:
        await db.close()


async def test_second_migrate_applies_nothing(database_url: str) -> None:
    db = await open_database(database_url, pg_pool_size=2)
    try:
        first = await migrate(db)
        rows = await recorded(db)
        tables = await table_names(db)
        assert first == [m.version for m in available()]
        assert await migrate(db) == []
        assert await recorded(db) == rows  # applied_at included: nothing was re-recorded
        assert await table_names(db) == tables
    finally:
        await db.close()
    # A new connection (a restarted server) finds nothing to do either.
    db = await open_database(database_url, pg_pool_size=2)
    try:
        assert await migrate(db) == []
        assert await recorded(db) == rows
    finally:
        await db.close()


async def test_schema_newer_than_known_is_refused(database_url: str) -> None:
    db = await open_database(database_url, pg_pool_size=2)
    newest = available()[-1].version
    try:
        await migrate(db)
        await db.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            newest + 1,
            "from_the_future",
            0,
        )
        with pytest.raises(SchemaTooNewError) as caught:
            await migrate(db)
        assert str(caught.value) == (
            f"the database is at schema version {newest + 1}, newer than this program's "
            f"{newest}; upgrade pathsessions"
        )
    finally:
        await db.close()
    # The server refuses to start on it as well.
    app = create_app(
        Settings(
            database_url=database_url,
            access_log=False,
            pg_pool_size=2,
            token_secret=TOKEN_SECRET,
        )
    )
    with pytest.raises(SchemaTooNewError):
        await app.startup()
    await app.shutdown()


def test_cli_migrate_on_too_new_schema_exits_1(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    newest = available()[-1].version

    async def prepare() -> None:
        db = await open_database(database_url, pg_pool_size=2)
        try:
            await migrate(db)
            await db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                newest + 5,
                "from_the_future",
                0,
            )
        finally:
            await db.close()

    asyncio.run(prepare())
    for name in list(os.environ):
        if name.startswith("PATHSESSIONS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PATHSESSIONS_DATABASE_URL", database_url)
    assert main(["migrate"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"error: the database is at schema version {newest + 5}, newer than this program's "
        f"{newest}; upgrade pathsessions\n"
    )


async def test_failing_migration_is_rolled_back_entirely(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = available()
    newest = real[-1].version
    broken = Migration(
        newest + 1,
        "broken",
        (
            "CREATE TABLE broken_first (x INTEGER)",
            "INSERT INTO broken_first (x) VALUES (1)",
            "CREATE TABLEE this_is_not_sql (x INTEGER)",
        ),
    )
    monkeypatch.setattr(migrate_module, "available", lambda: [*real, broken])
    db = await open_database(database_url, pg_pool_size=2)
    try:
        with pytest.raises((sqlite3.Error, asyncpg.PostgresError)):
            await migrate(db)
        # The migrations before it were committed, each in its own transaction ...
        assert [(v, n) for v, n, _ in await recorded(db)] == [(m.version, m.name) for m in real]
        # ... and nothing of the broken one is left: no table, no version.
        assert "broken_first" not in await table_names(db)
        assert await current_version(db) == newest
        # Failing again changes nothing either.
        with pytest.raises((sqlite3.Error, asyncpg.PostgresError)):
            await migrate(db)
        assert "broken_first" not in await table_names(db)
        assert await current_version(db) == newest
        # Once fixed, it applies, with every one of its statements.
        fixed = Migration(newest + 1, "fixed", broken.statements[:2])
        monkeypatch.setattr(migrate_module, "available", lambda: [*real, fixed])
        assert await migrate(db) == [newest + 1]
        assert [tuple(r) for r in await db.fetchall("SELECT x FROM broken_first")] == [(1,)]
        assert [(v, n) for v, n, _ in await recorded(db)][-1] == (newest + 1, "fixed")
    finally:
        await db.close()


async def test_failing_first_migration_leaves_only_the_bookkeeping_table(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = available()
    first = real[0]
    # The real 0001 with an invalid statement appended: none of its tables may remain.
    broken = Migration(first.version, first.name, (*first.statements, "NOT SQL AT ALL"))
    monkeypatch.setattr(migrate_module, "available", lambda: [broken])
    db = await open_database(database_url, pg_pool_size=2)
    try:
        with pytest.raises((sqlite3.Error, asyncpg.PostgresError)):
            await migrate(db)
        assert await table_names(db) == {"schema_migrations"}
        assert await recorded(db) == []
        assert await current_version(db) == 0
    finally:
        await db.close()


def test_concurrent_migrators_apply_each_migration_once(database_url: str) -> None:
    """Several servers starting at once on a fresh database: each version is applied once."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHSESSIONS_")}
    env["PATHSESSIONS_DATABASE_URL"] = database_url
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "pathsessions", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    newest = available()[-1].version
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            assert out == f"database schema at version {newest}\n"
            assert err == ""
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    async def check() -> list[tuple[int, str, int]]:
        db = await open_database(database_url, pg_pool_size=2)
        try:
            return await recorded(db)
        finally:
            await db.close()

    rows = asyncio.run(check())
    assert [(v, n) for v, n, _ in rows] == [(m.version, m.name) for m in available()]
