"""SQLite under another process's write lock: the wait is asynchronous, then the write succeeds.

A second plain `sqlite3` connection to the same file stands for the other process. Every test
here runs in a fraction of a second.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
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


# --- Opening ------------------------------------------------------------------------------------


def busy_error() -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("database is locked")
    error.sqlite_errorcode = sqlite3.SQLITE_BUSY
    return error


class Opening:
    """A connection whose `PRAGMA journal_mode = WAL` gives the answers it is handed, in turn:
    what SQLite does when another process opens a new file at the same moment."""

    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)

    def execute(self, sql: str) -> sqlite3.Cursor:
        assert sql == "PRAGMA journal_mode = WAL"
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return sqlite3.connect(":memory:").execute("SELECT ?", (answer,))


def test_opening_tries_the_switch_to_wal_again_while_another_process_holds_the_file() -> None:
    conn = Opening(busy_error(), "delete", busy_error(), "wal")
    engine._use_wal(conn)  # type: ignore[arg-type]
    assert conn.answers == []


def test_opening_gives_up_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "BUSY_DEADLINE", 0.05)
    for answer in (busy_error(), "delete"):
        conn = Opening(*[answer] * 1000)
        with pytest.raises(sqlite3.OperationalError):
            engine._use_wal(conn)  # type: ignore[arg-type]
        assert 0 < len(conn.answers) < 1000


def test_opening_raises_other_errors_at_once() -> None:
    error = sqlite3.OperationalError("disk I/O error")
    error.sqlite_errorcode = sqlite3.SQLITE_IOERR
    conn = Opening(error, "wal")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        engine._use_wal(conn)  # type: ignore[arg-type]
    assert conn.answers == ["wal"]


def test_processes_opening_a_new_file_together_all_succeed(tmp_path: Path) -> None:
    """Eight processes open the same new file at once, a few times over."""
    script = (
        "import sys; from pathsessions.storage.sqlite import connect; "
        "connect('sqlite:///' + sys.argv[1]).execute('SELECT 1')"
    )
    for attempt in range(3):
        path = tmp_path / f"new-{attempt}.db"
        procs = [
            subprocess.Popen([sys.executable, "-c", script, str(path)], stderr=subprocess.PIPE)
            for _ in range(8)
        ]
        errors = [proc.communicate(timeout=60)[1] for proc in procs]
        assert [proc.returncode for proc in procs] == [0] * 8, errors
        assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)
