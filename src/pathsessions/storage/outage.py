"""A database that fails while the server runs: which errors mean "unavailable", and one log
line when an outage begins and one when it ends, however many requests meet it meanwhile.

Only failures of the dependency count: a network or connection error, a pool that gives no
connection in time, a full or read-only disk, an I/O error, a file that cannot be opened. A
programming error (bad SQL, a broken constraint) is not an outage: it stays the caller's fault.

An outage of writes (a full disk, a read-only file or server) ends with the first write that
commits, not with a read: reads keep working on a full disk, and would otherwise end and begin
the outage again on every mix of requests. Any other outage ends with the first statement that
succeeds. Each server process keeps its own state, so each worker logs its own two lines.
"""

from __future__ import annotations

import logging
import sqlite3
import time

import asyncpg

from ..core.errors import DomainError, ErrorCode

log = logging.getLogger("pathsessions.storage")

READ, WRITE = "read", "write"


class StorageUnavailable(DomainError):
    """A statement failed because the database cannot be reached or written (503)."""

    def __init__(self, dependency: str, reason: str) -> None:
        super().__init__(ErrorCode.SERVICE_UNAVAILABLE)
        self.dependency = dependency
        self.reason = reason


# SQLite's primary result codes that mean the file cannot be used, not that the SQL is wrong.
_SQLITE_CODES = {
    sqlite3.SQLITE_IOERR: ("disk I/O error", READ),
    sqlite3.SQLITE_CANTOPEN: ("unable to open the database file", READ),
    sqlite3.SQLITE_FULL: ("database or disk is full", WRITE),
    sqlite3.SQLITE_READONLY: ("database is read-only", WRITE),
}
# The same, for errors that carry no code (the message is SQLite's own).
_SQLITE_MESSAGES = {
    "disk i/o error": sqlite3.SQLITE_IOERR,
    "unable to open database file": sqlite3.SQLITE_CANTOPEN,
    "database or disk is full": sqlite3.SQLITE_FULL,
    "attempt to write a readonly database": sqlite3.SQLITE_READONLY,
}


def sqlite_unavailable(exc: BaseException) -> tuple[str, str] | None:
    """(reason, READ or WRITE) when `exc` says the SQLite file cannot be used; else None."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code not in _SQLITE_CODES:
        code = _SQLITE_MESSAGES.get(str(exc).lower(), 0)
    return _SQLITE_CODES.get(code)


def postgres_unavailable(exc: BaseException) -> tuple[str, str] | None:
    """(reason, READ or WRITE) when `exc` says PostgreSQL cannot be reached or written."""
    if isinstance(exc, asyncpg.DiskFullError):
        return "disk full", WRITE
    if isinstance(exc, asyncpg.ReadOnlySQLTransactionError):
        return "read-only (a standby?)", WRITE
    if isinstance(
        exc,
        asyncpg.PostgresConnectionError
        | asyncpg.InsufficientResourcesError  # out of memory, too many connections
        | asyncpg.AdminShutdownError
        | asyncpg.CrashShutdownError
        | asyncpg.CannotConnectNowError,
    ):
        return type(exc).__name__, READ
    # OSError: refused, reset, unreachable, unknown host; TimeoutError (an OSError) is a pool
    # or a connection that gave nothing in time. Their text names no secret, but a class is
    # enough to say.
    if isinstance(exc, OSError):
        return type(exc).__name__, READ
    if isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc):
        return "connection closed", READ  # the pool or connection went away under us
    return None


class Outage:
    """Whether `dependency` is down, logged once when it goes down and once when it is back."""

    def __init__(self, dependency: str) -> None:
        self.dependency = dependency
        self.down = ""  # "", READ or WRITE
        self._since = 0.0

    def failed(self, reason: str, kind: str) -> StorageUnavailable:
        if not self.down:
            self._since = time.monotonic()
            log.error(
                "%s unavailable (%s): requests that need it are answered 503 until it recovers",
                self.dependency,
                reason,
            )
        if self.down != READ:
            self.down = kind
        return StorageUnavailable(self.dependency, reason)

    def succeeded(self, wrote: bool) -> None:
        """Called after a statement succeeded while `down`: `wrote` when it committed rows."""
        if self.down == WRITE and not wrote:
            return
        log.warning(
            "%s available again after %.1f s", self.dependency, time.monotonic() - self._since
        )
        self.down = ""
