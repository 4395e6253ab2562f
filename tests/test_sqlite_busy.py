"""SQLite under another process's write lock: the wait is asynchronous, then the write succeeds.

A second plain `sqlite3` connection to the same file stands for the other process. Every test
here runs in a fraction of a second.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from pathsessions.storage import sqlite as engine
from pathsessions.storage.sqlite import SQLiteDatabase

HELD = 0.2  # seconds the other process holds its write lock


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SQLiteDatabase]:
    database = SQLiteDatabase.open(f"sqlite:///{tmp_path / 'busy.db'}")
    await database.execute("CREATE TABLE t (v INTEGER NOT NULL)")
    yield database
    await database.close()


@pytest.fixture
def other(tmp_path: Path, db: SQLiteDatabase) -> Iterator[sqlite3.Connection]:
    """The other process's connection, holding the write lock of the same file."""
    conn = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO t VALUES (1)")
    yield conn
    conn.close()


async def ticks_while(task: asyncio.Task[None], other: sqlite3.Connection) -> tuple[int, float]:
    """Let `task` wait for `other`'s lock for `HELD` s while counting 1 ms ticks of the loop,
    then release the lock; answer the ticks, and how long `task` took after the release."""
    ticks = 0
    end = time.monotonic() + HELD
    while time.monotonic() < end:
        await asyncio.sleep(0.001)
        ticks += 1
    assert not task.done(), task  # still waiting for the lock, and no error
    other.execute("COMMIT")
    released = time.monotonic()
    await asyncio.wait_for(task, 2)
    return ticks, time.monotonic() - released


async def test_a_transaction_waits_for_the_lock_without_blocking_the_loop(
    db: SQLiteDatabase, other: sqlite3.Connection
) -> None:
    async def write() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t VALUES (2)")
            await tx.execute("INSERT INTO t VALUES (3)")

    ticks, after_release = await ticks_while(asyncio.create_task(write()), other)
    # A loop blocked in SQLite's own busy handler would not tick at all until the timeout.
    assert ticks >= HELD * 1000 / 4
    assert after_release < 0.1
    assert await db.fetchall("SELECT v FROM t ORDER BY v") == [(1,), (2,), (3,)]


async def test_a_statement_outside_a_transaction_waits_too(
    db: SQLiteDatabase, other: sqlite3.Connection
) -> None:
    async def write() -> None:
        assert await db.execute("INSERT INTO t VALUES (2)") == 1

    ticks, after_release = await ticks_while(asyncio.create_task(write()), other)
    assert ticks >= HELD * 1000 / 4
    assert after_release < 0.1
    assert await db.fetchall("SELECT v FROM t ORDER BY v") == [(1,), (2,)]


async def test_requests_of_the_process_queue_behind_the_one_waiting(
    db: SQLiteDatabase, other: sqlite3.Connection
) -> None:
    async def write(value: int) -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t VALUES (?)", value)

    writes = asyncio.gather(*(write(v) for v in range(2, 12)))
    reads = 0
    end = time.monotonic() + HELD
    while time.monotonic() < end:
        # Reads need no lock on a WAL database: they go on while the writes wait.
        assert await db.fetchall("SELECT v FROM t") == []
        reads += 1
        await asyncio.sleep(0.001)
    other.execute("COMMIT")
    await asyncio.wait_for(writes, 2)
    assert reads >= HELD * 1000 / 4
    assert await db.fetchall("SELECT v FROM t ORDER BY v") == [(v,) for v in range(1, 12)]


async def test_past_the_deadline_the_error_is_raised(
    db: SQLiteDatabase, other: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "BUSY_DEADLINE", 0.05)
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        async with db.transaction():
            pass
    assert 0.05 <= time.monotonic() - started < 1
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        await db.execute("INSERT INTO t VALUES (2)")
    other.execute("COMMIT")
    # Nothing was left half-open: the connection writes normally once the lock is free.
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO t VALUES (3)")
    assert await db.fetchall("SELECT v FROM t ORDER BY v") == [(1,), (3,)]


async def test_without_contention_a_transaction_runs_only_its_own_statements(
    db: SQLiteDatabase,
) -> None:
    statements: list[str] = []
    db._conn.set_trace_callback(statements.append)
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO t VALUES (1)")
    await db.fetchone("SELECT v FROM t")
    db._conn.set_trace_callback(None)
    assert statements == [
        "BEGIN IMMEDIATE",
        "INSERT INTO t VALUES (1)",
        "COMMIT",
        "SELECT v FROM t",
    ]


async def test_rows_written_outside_a_transaction_are_written_together(
    db: SQLiteDatabase, other: sqlite3.Connection
) -> None:
    async def write() -> None:
        await db.executemany("INSERT INTO t VALUES (?)", [(2,), (3,), (4,)])

    ticks, _ = await ticks_while(asyncio.create_task(write()), other)
    assert ticks >= HELD * 1000 / 4
    assert await db.fetchall("SELECT v FROM t ORDER BY v") == [(1,), (2,), (3,), (4,)]
