"""The access log: one JSON line per answered request, written in batches.

Going through `logging` costs a record, a formatter and a flushed write per line: measured,
about a tenth of the create endpoint's throughput. Lines are kept for at most `interval`
seconds (or `max_bytes`) and written together; a crash can lose that last fraction of a
second of access lines, never a write to the database. The lines have the layout of the other
log lines (`logs.JsonFormatter`).
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO
from urllib.parse import unquote_plus

import msgspec

from .logs import utc_time

_encode = msgspec.json.Encoder().encode

# Query parameters that carry credentials (compared decoded and case-blind, as a client can
# spell `apiKey` as `api%4Bey`): their values never reach the log.
SECRET_PARAMETERS = frozenset({"apikey", "client_secret", "access_token", "token"})
REDACTED = "REDACTED"
# A path or query string longer than this is cut (and marked): a client must not be able to
# write megabytes into the log with one request.
MAX_LOGGED = 2048


def _cut(text: str) -> str:
    return text if len(text) <= MAX_LOGGED else text[:MAX_LOGGED] + "...(cut)"


def redact_query(query_string: bytes) -> str:
    """The query string as received (still percent-encoded), credentials replaced."""
    parts = query_string.decode("latin-1").split("&")
    for i, part in enumerate(parts):
        name, equals, _ = part.partition("=")
        if equals and unquote_plus(name).strip().lower() in SECRET_PARAMETERS:
            parts[i] = f"{name}={REDACTED}"
    return "&".join(parts)


class AccessLog:
    def __init__(
        self, stream: TextIO | None = None, interval: float = 0.1, max_bytes: int = 65_536
    ) -> None:
        self._stream = stream
        self._interval = interval
        self._max_bytes = max_bytes
        self._lines: list[bytes] = []
        self._size = 0
        self._scheduled: asyncio.TimerHandle | None = None

    def record(
        self,
        request_id: str,
        method: str,
        route: str | None,
        path: str,
        query_string: bytes,
        status: int,
        duration_ms: float,
        company_id: str | None,
    ) -> None:
        line = _encode(
            {
                "time": utc_time(time.time()),
                "level": "INFO",
                "logger": "pathsessions.access",
                "message": "request",
                "request_id": request_id,
                "method": method,
                "route": route,
                "path": _cut(path),
                "query": _cut(redact_query(query_string)) if query_string else "",
                "status": status,
                "duration_ms": round(duration_ms, 2),
                "company_id": company_id,
            }
        )
        self._lines.append(line)
        self._size += len(line) + 1
        if self._size >= self._max_bytes:
            self.flush()
        elif self._scheduled is None:
            self._scheduled = asyncio.get_running_loop().call_later(self._interval, self.flush)

    def flush(self) -> None:
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
        if not self._lines:
            return
        stream = self._stream or sys.stderr  # looked up late: tests and servers redirect it
        self._lines.append(b"")
        stream.write(b"\n".join(self._lines).decode())
        stream.flush()
        self._lines.clear()
        self._size = 0
