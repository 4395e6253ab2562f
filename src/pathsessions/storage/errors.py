"""A database that cannot be opened, said in words: what went wrong and where, and what to do.

The messages name the host, port, user, database or file, never a password: a URL is only ever
shown through `redact_url`, and a server's own sentence is scrubbed of the password too."""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg


class DatabaseUnavailable(Exception):
    """The database cannot be opened; the message is safe to print and to log."""


def redact_url(url: str) -> str:
    """`url` with its password, if any, replaced by `***`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(a malformed URL)"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{userinfo}:***@{netloc[1]}"))


@dataclass(frozen=True)
class PostgresTarget:
    """Where a PostgreSQL URL points, filled in with libpq's defaults, as asyncpg does."""

    host: str
    port: str
    user: str
    database: str
    password: str

    @classmethod
    def of(cls, url: str) -> PostgresTarget:
        parts = urlsplit(url)
        try:
            port = str(parts.port or os.environ.get("PGPORT") or 5432)
        except ValueError:
            port = "(invalid port)"
        user = unquote(parts.username or "") or os.environ.get("PGUSER") or getpass.getuser()
        return cls(
            host=parts.hostname or os.environ.get("PGHOST") or "localhost",
            port=port,
            user=user,
            database=unquote(parts.path.lstrip("/")) or os.environ.get("PGDATABASE") or user,
            password=unquote(parts.password or ""),
        )

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def scrub(self, text: str) -> str:
        return text.replace(self.password, "***") if self.password else text


def postgres_failure(url: str, exc: BaseException) -> DatabaseUnavailable:
    """The error to raise when asyncpg could not connect to `url`."""
    t = PostgresTarget.of(url)
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        message = (
            f'PostgreSQL at {t.where} has no database "{t.database}": create it '
            f"(createdb -h {t.host} -p {t.port} -U {t.user} {t.database}), or name an existing "
            "one in PATHSESSIONS_DATABASE_URL"
        )
    elif isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        message = (
            f'PostgreSQL at {t.where} refused the login of user "{t.user}" to database '
            f'"{t.database}": {exc}'
        )
    elif isinstance(exc, asyncpg.PostgresError):
        message = f"PostgreSQL at {t.where} refused the connection: {exc}"
    elif isinstance(exc, OSError):
        message = (
            f"cannot reach PostgreSQL at {t.where} ({_network_reason(exc)}): check that it runs "
            "there, and the host and port in PATHSESSIONS_DATABASE_URL"
        )
    else:
        # Client-side errors can quote the URL: name the class only.
        message = (
            f"cannot connect to PostgreSQL at {t.where} as user {t.user} ({type(exc).__name__})"
        )
    return DatabaseUnavailable(t.scrub(message))


def _network_reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, ConnectionRefusedError) or "Connect call failed" in str(exc):
        return "connection refused"
    return exc.strerror or type(exc).__name__


def sqlite_failure(path: str, exc: BaseException) -> DatabaseUnavailable:
    """The error to raise when the SQLite file at `path` could not be opened."""
    if "not a database" in str(exc):
        return DatabaseUnavailable(
            f"{path} is not a SQLite database (the file holds something else): "
            "point PATHSESSIONS_DATABASE_URL at another file"
        )
    return DatabaseUnavailable(f"cannot open the SQLite database {path}: {_file_reason(path, exc)}")


def _file_reason(path: str, exc: BaseException) -> str:
    if os.path.isdir(path):
        return "it is a directory"
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.exists(path) and not os.access(path, os.R_OK | os.W_OK):
        return "permission denied (the file is not readable and writable)"
    if not os.path.exists(path) and not os.access(parent, os.W_OK | os.X_OK):
        return f"permission denied (cannot create a file in {parent})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
