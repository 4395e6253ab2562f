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
from urllib.parse import unquote, unquote_plus

import msgspec

from .logs import utc_time

_encode = msgspec.json.Encoder().encode

# What a request sends is logged by the rules below, so that no secret we issue (an API key
# of 43 characters, a bearer token of over 100, a token secret of at least 32) can reach the
# log by value, whatever name or place a client puts it under:
#
# - A query parameter the API reads (`LOGGED_PARAMETERS`, matched by its name as the API
#   decodes it) is logged with its value; every other parameter's value, and any value longer
#   than `MAX_PLAIN` characters, is replaced by `REDACTED`. So `apiKey`, `client_secret` and
#   the like are redacted, as is the same secret under any misspelling of their names.
# - A parameter's name, and each segment of the path, is logged as received (percent-encoded),
#   unless it is longer than `MAX_PLAIN` characters: then it is replaced by `REDACTED` too.
#   No secret we issue is that short, and no name or segment of our API is that long.
# - Bytes outside printable ASCII are logged percent-encoded; headers and bodies never.
LOGGED_PARAMETERS = frozenset({"company"})
REDACTED = "REDACTED"
MAX_PLAIN = 24
# A path or query string longer than this is cut (and marked): a client must not be able to
# write megabytes into the log with one request.
MAX_LOGGED = 2048


def _cut(text: str) -> str:
    return text if len(text) <= MAX_LOGGED else text[:MAX_LOGGED] + "...(cut)"


def _escaped(raw: str) -> str:
    """`raw` (one character per byte received) with bytes outside printable ASCII as %XX."""
    if raw.isascii() and raw.isprintable() and " " not in raw:
        return raw
    return "".join(c if "!" <= c <= "~" else f"%{ord(c):02X}" for c in raw)


def _plain(raw: str, decoded: str) -> str:
    """`raw` escaped, or REDACTED when it is long enough to be a secret."""
    if len(decoded) > MAX_PLAIN or len(raw) > 4 * MAX_PLAIN:
        return REDACTED
    return _escaped(raw)


def redact_query(query_string: bytes) -> str:
    """The query string as received (still percent-encoded), each value redacted but those of
    the parameters we read, and each name too long to be anything but a secret."""
    parts = query_string.decode("latin-1").split("&")
    for i, part in enumerate(parts):
        if not part:
            continue
        name, equals, value = part.partition("=")
        # Decoded as the API decodes it (`Request.query`).
        decoded = unquote_plus(name, errors="replace")
        logged = _plain(name, decoded)
        if equals:
            if decoded in LOGGED_PARAMETERS:
                logged += "=" + _plain(value, unquote_plus(value, errors="replace"))
            else:
                logged += "=" + REDACTED
        parts[i] = logged
    return "&".join(parts)


def redact_path(path: str) -> str:
    """The path as received, each segment too long to be anything but a secret redacted."""
    return "/".join(_plain(s, unquote(s, errors="replace")) for s in path.split("/"))


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
