"""SQLite behind the `Database` interface, called inline on the event loop.

Short indexed statements on a local WAL database finish in microseconds, which is cheaper
than handing each one to a thread (measured: about half the throughput is lost to the hop).
Nothing awaits real I/O between the statements of a transaction, so no other request can
interleave with one; the lock guards that invariant, and queues the transactions of the
process while one of them waits for another process (below).

Several processes may share the file (`serve --workers N`, a CLI command next to a server),
and only one at a time can write. SQLite's own busy handler waits for another process's write
lock by sleeping inside the call, which here would put the whole event loop to sleep: every
request of the process, reads included, would stall behind the one write that waits (measured:
while another process held the lock for 1 s, a single-worker server answered nothing for that
second). So the connection never waits inside SQLite (busy_timeout 0): a statement that meets
another process's lock fails at once, and we try it again after pauses spent serving other
requests, for up to `BUSY_DEADLINE` seconds. Only what has changed nothing when it fails is
tried again: `BEGIN IMMEDIATE`, and statements outside a transaction. Without contention
nothing is added: one attempt, the same statements.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from .database import Database, Row
from .errors import DatabaseUnavailable, sqlite_failure
from .outage import Outage, sqlite_unavailable

T = TypeVar("T")

# How long a statement waits for another process's lock before its error is raised: the
# patience the 5 s busy_timeout used to give, without blocking the loop meanwhile.
BUSY_DEADLINE = 5.0
# How a waiting statement tries again. First on every turn of the event loop, for
# `SPIN_WAIT` seconds: another worker holds the lock for one short transaction (about 0.1 ms),
# so its release is usually seen on the next turns, and a failed attempt costs a few
# microseconds; an idle loop spins for that long only. Then after pauses doubling from
# `FIRST_PAUSE` to `LAST_PAUSE` (uvloop sleeps whole milliseconds), so that a long wait (a bulk
# load in another process) does not poll the file lock all along.
SPIN_WAIT = 0.001
FIRST_PAUSE = 0.001
LAST_PAUSE = 0.004

# The WAL checkpoint, which copies the pages the WAL holds back into the database file and
# waits for the disk (fsync), runs on a thread of its own (`Checkpointer`) rather than inside
# the COMMIT that crosses SQLite's threshold: that commit held the event loop, and so every
# request of the worker, for milliseconds (up to hundreds on a busy disk); it made most of a
# create's cost. The thread looks every `CHECKPOINT_EVERY` seconds and copies what it finds
# without stopping the writers; while they keep writing the WAL is never found all copied, so
# it cannot start over from its beginning and would grow without bound: past
# `CHECKPOINT_RESTART_FRAMES` frames the thread makes the writers wait (for at most
# `CHECKPOINT_WAIT` s) while it copies the last frames and lets the WAL start over. The
# connection's own automatic checkpoint stays as a backstop, at `CHECKPOINT_BACKSTOP` pages.
CHECKPOINT_EVERY = 0.05
CHECKPOINT_RESTART_FRAMES = 4000
CHECKPOINT_WAIT = 0.2
CHECKPOINT_BACKSTOP = 8000


def is_busy(exc: sqlite3.Error) -> bool:
    """SQLITE_BUSY, with any extended code (recovery, snapshot...): another process holds a
    lock we need."""
    # getattr: errors the module raises itself carry no SQLite code.
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY


def sqlite_path(url: str) -> str:
    """`sqlite:///relative/file.db` or `sqlite:////absolute/file.db` -> a file path."""
    return url.removeprefix("sqlite:///")


def make_private_directory(directory: Path) -> None:
    """Create `directory` and its missing parents, each readable by its owner only (0700);
    a directory that exists is left as it is."""
    missing: list[Path] = []
    while not directory.exists() and directory.parent != directory:
        missing.append(directory)
        directory = directory.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=0o700)
        except FileExistsError:
            continue  # another process made it meanwhile; not ours to change
        os.chmod(created, 0o700)  # mkdir's mode is filtered by the umask
    if missing:
        directory = missing[0]
    if not directory.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(directory))


def create_private_file(path: str) -> None:
    """Create the file at `path`, empty, readable by its owner only (0600), unless it exists:
    an existing file's mode is left as it is. SQLite gives the `-wal` and `-shm` files it
    creates next to a database the mode of the database file, whatever the umask."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)  # open's mode is filtered by the umask
    finally:
        os.close(fd)


def connect(url: str, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """Open the file (and its directory, when missing, both private to their owner);
    `DatabaseUnavailable` says why not."""
    path = sqlite_path(url)
    parent = Path(path).parent
    try:
        make_private_directory(parent)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if isinstance(exc, FileExistsError | NotADirectoryError):
            reason = "a file that is not a directory is in the way"
        raise DatabaseUnavailable(
            f"cannot create the directory {parent} of the SQLite database {path}: {reason}"
        ) from None
    conn: sqlite3.Connection | None = None
    try:
        create_private_file(path)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, the module never does.
        # While it is being opened, the connection may wait inside SQLite (switching the file
        # to WAL, or recovering the WAL after a crash, locks out other processes): nothing is
        # being served yet. From then on, waits are ours and asynchronous (module docstring).
        conn = sqlite3.connect(
            path, timeout=BUSY_DEADLINE, isolation_level=None, check_same_thread=False
        )
        _use_wal(conn)
        conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 0")
        conn.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_BACKSTOP}")
    except (sqlite3.Error, OSError) as exc:
        if conn is not None:
            conn.close()
        raise sqlite_failure(path, exc) from None
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL, waiting for other processes that open it at the same moment.

    The switch needs the file to itself. When two processes open a new file together, SQLite
    answers one of them SQLITE_BUSY at once, without calling the busy handler (waiting could
    deadlock), or leaves the mode as it was; so the switch is tried again here."""
    deadline = time.monotonic() + BUSY_DEADLINE
    while True:
        try:
            row = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if row is not None and str(row[0]).lower() == "wal":
                return
            failure = sqlite3.OperationalError(f"journal mode stays {row and row[0]}")
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            failure = exc
        if time.monotonic() >= deadline:
            raise failure
        time.sleep(random.uniform(FIRST_PAUSE, LAST_PAUSE))  # nothing is served yet


class Checkpointer:
    """The WAL checkpoint on a thread of its own, with its own connection (above)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        while not self._stop.wait(CHECKPOINT_EVERY):
            try:
                if conn is None:
                    # mode=rw: never create the file, should it be gone meanwhile.
                    uri = f"file:{quote(self._path)}?mode=rw"
                    conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=0)
                    conn.execute(f"PRAGMA busy_timeout = {int(CHECKPOINT_WAIT * 1000)}")
                row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if row is not None and row[1] > CHECKPOINT_RESTART_FRAMES:
                    conn.execute("PRAGMA wal_checkpoint(RESTART)")
            except sqlite3.Error:
                # The file is unusable for now (deleted, full disk...): the writers find out
                # and say so; the connection's own checkpoint stays as the backstop.
                if conn is not None:
                    conn.close()
                    conn = None
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class _Batch:
    __slots__ = ("changes", "handle", "waiters")

    def __init__(self, changes: int) -> None:
        self.changes = changes  # the connection's total_changes when it began
        self.waiters: list[asyncio.Future[None]] = []
        self.handle: asyncio.Handle


class SQLiteDatabase:
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection, path: str = "") -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._depth = 0
        # A transaction's body is running (another `transaction()` then nests in it).
        self._active = False
        # The transactions waiting for the next COMMIT (`_open_batch`).
        self._batch: _Batch | None = None
        self._path = path
        self._checkpointer: Checkpointer | None = None
        # False: each transaction commits as its body ends, instead of at the next turn of the
        # loop with the others of this turn. For a connection whose transactions are few and
        # not concurrent (the delivery process's): the write lock, which the other processes'
        # writes wait for, is then held for its statements only, not across a turn of a loop
        # that has other work (and a lower CPU priority).
        self.group_commit = True
        self.outage = Outage(f"SQLite database {path}" if path else "SQLite database")

    @classmethod
    def open(cls, url: str, synchronous: str = "NORMAL") -> SQLiteDatabase:
        return cls(connect(url, synchronous), sqlite_path(url))

    def _failed(self, exc: sqlite3.Error) -> None:
        """Raise `StorageUnavailable` if `exc` says the file cannot be used (storage/outage)."""
        unavailable = sqlite_unavailable(exc)
        if unavailable is not None:
            raise self.outage.failed(*unavailable) from None

    def _succeeded(self, wrote: bool = False) -> None:
        if not self._conn.in_transaction:
            self.outage.succeeded(wrote)

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        try:
            try:
                row: Row | None = self._conn.execute(sql, args).fetchone()
            except sqlite3.OperationalError as exc:
                row = await self._when_free(exc, lambda: self._conn.execute(sql, args).fetchone())
        except sqlite3.Error as exc:
            self._failed(exc)
            raise
        if self.outage.down:
            self._succeeded()
        return row

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        try:
            try:
                rows = self._conn.execute(sql, args).fetchall()
            except sqlite3.OperationalError as exc:
                rows = await self._when_free(exc, lambda: self._conn.execute(sql, args).fetchall())
        except sqlite3.Error as exc:
            self._failed(exc)
            raise
        if self.outage.down:
            self._succeeded()
        return rows

    async def execute(self, sql: str, *args: Any) -> int:
        if self._batch is not None and not self._active:
            # A write outside a transaction would otherwise land in the open batch without
            # waiting for its COMMIT.
            async with self.transaction() as tx:
                return await tx.execute(sql, *args)
        try:
            try:
                count = self._conn.execute(sql, args).rowcount
            except sqlite3.OperationalError as exc:
                count = await self._when_free(exc, lambda: self._conn.execute(sql, args).rowcount)
        except sqlite3.Error as exc:
            self._failed(exc)
            raise
        if self.outage.down:
            self._succeeded(count > 0)
        return count

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self._active:
            try:
                self._conn.executemany(sql, rows)
            except sqlite3.Error as exc:
                self._failed(exc)
                raise
            return
        # Outside a transaction each row would commit alone, and a retry after a busy row
        # would repeat the rows before it: all of them or none, as one transaction.
        async with self.transaction() as db:
            await db.executemany(sql, rows)

    async def bulk_insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        # In process, `executemany` binds each row without building any SQL or text: faster
        # than one statement unpacking a JSON parameter (json_extract parses a row per column).
        marks = ", ".join("?" * len(columns))
        await self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    async def _when_free(self, busy: sqlite3.OperationalError, attempt: Callable[[], T]) -> T:
        """`attempt` again, pausing without blocking the loop, until it no longer meets
        another process's lock; `busy` is the error of the first attempt."""
        if not is_busy(busy) or self._conn.in_transaction:
            # Inside a transaction a statement cannot be tried again after a pause: the pause
            # would let other requests in. BEGIN IMMEDIATE holds the write lock, so on a WAL
            # database this does not happen.
            raise busy
        started = time.monotonic()
        pause = FIRST_PAUSE
        while True:
            waited = time.monotonic() - started
            if waited >= BUSY_DEADLINE:
                raise busy
            if waited < SPIN_WAIT:
                await asyncio.sleep(0)
            else:
                # Jitter: the workers of one server, started together, must not poll in step.
                await asyncio.sleep(pause * random.uniform(0.75, 1.25))
                pause = min(pause * 2, LAST_PAUSE)
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                busy = exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        # One generator, not one wrapping another: every write request pays for it.
        try:
            if self._active:
                # Nested: by the invariant above, the running body is our caller's own.
                self._depth += 1
                name = f"nested_{self._depth}"
                self._conn.execute(f"SAVEPOINT {name}")
                try:
                    yield self
                except BaseException:
                    # SQLite may have rolled the whole transaction back itself (a full disk):
                    # then there is no savepoint left, and the error to answer is the first.
                    if self._conn.in_transaction:
                        self._conn.execute(f"ROLLBACK TO {name}")
                        self._conn.execute(f"RELEASE {name}")
                    raise
                finally:
                    self._depth -= 1
                self._conn.execute(f"RELEASE {name}")
                return
            batch = self._batch
            if batch is None:
                async with self._lock:
                    batch = self._batch  # one may have opened while this waited
                    if batch is None:
                        # IMMEDIATE takes the write lock now, so a second process waits
                        # (`_when_free`) instead of failing at the first write of a transaction
                        # that already read. The lock above makes this the only request of the
                        # process waiting for the file.
                        begin = partial(self._conn.execute, "BEGIN IMMEDIATE")
                        try:
                            begin()
                        except sqlite3.OperationalError as exc:
                            await self._when_free(exc, begin)
                        batch = self._open_batch()
                        self._active = True
                        try:
                            yield self
                        except BaseException:
                            # Alone in the batch so far (bodies do not interleave): all of it goes.
                            self._active = False
                            self._batch = None
                            batch.handle.cancel()
                            self._end("ROLLBACK")
                            raise
                        self._active = False
                        await self._committed(batch, at_once=not self.group_commit)
                        return
            # Joining the batch open since this turn of the loop: its own savepoint, so that
            # a failure undoes its statements only.
            self._conn.execute("SAVEPOINT joined")
            self._active = True
            try:
                yield self
            except BaseException:
                self._active = False
                self._conn.execute("ROLLBACK TO joined")
                self._conn.execute("RELEASE joined")
                raise
            self._active = False
            self._conn.execute("RELEASE joined")
            await self._committed(batch)
        except sqlite3.Error as exc:
            self._failed(exc)
            raise

    def _open_batch(self) -> _Batch:
        """Group commit: the transactions of the requests served in this turn of the event
        loop share one COMMIT, at the start of the next turn; each caller waits for it before
        going on, so no answer says a write was made before it is on disk (as far as
        `synchronous` makes it). One commit writes each page once for the whole group, and
        leaves the automatic WAL checkpoint fewer pages: most of a create's cost was there."""
        batch = _Batch(self._conn.total_changes)
        batch.handle = asyncio.get_running_loop().call_soon(self._commit, batch)
        self._batch = batch
        return batch

    async def _committed(self, batch: _Batch, *, at_once: bool = False) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        batch.waiters.append(waiter)
        if at_once:
            batch.handle.cancel()
            self._commit(batch)
        await waiter

    def _commit(self, batch: _Batch) -> None:
        if self._batch is not batch:
            return
        self._batch = None
        failure: BaseException | None = None
        try:
            self._conn.execute("COMMIT")
        except BaseException as exc:
            # A transaction left open would pass for the next one's.
            try:
                self._end("ROLLBACK")
            except BaseException as rollback:
                failure = rollback
            failure = failure or exc
        else:
            if self.outage.down:
                self._succeeded(self._conn.total_changes > batch.changes)
            if self._checkpointer is None and self._path:
                # From the first write on: a process that only reads needs no thread.
                self._checkpointer = Checkpointer(self._path)
        for waiter in batch.waiters:
            if not waiter.done():
                if failure is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(failure)

    def _end(self, statement: str) -> None:
        # SQLite itself rolls back on some errors (a full disk...): nothing is left to end then.
        if self._conn.in_transaction:
            try:
                self._conn.execute(statement)
            except sqlite3.Error as exc:
                if sqlite_unavailable(exc) is None:
                    raise
                # The file failed under the rollback too: the error that made us roll back
                # is the one to answer; SQLite ends the transaction itself on such errors.

    def for_update(self) -> str:
        return ""

    def any_of(self, column: str) -> str:
        return f"{column} IN (SELECT value FROM json_each(?))"

    def array(self, values: Sequence[str]) -> Any:
        return json.dumps(list(values))

    async def ping(self) -> bool:
        return await self.fetchone("SELECT 1") == (1,)

    def connections(self) -> tuple[int, int]:
        # One connection; a write transaction holds it (and the lock) until it ends.
        return (1, 0 if self._lock.locked() else 1)

    async def close(self) -> None:
        if self._batch is not None:
            self._commit(self._batch)
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self._conn.close()
