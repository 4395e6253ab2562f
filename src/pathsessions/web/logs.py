"""Structured logs: every line on standard error is one JSON object.

Each line has `time` (UTC, milliseconds), `level`, `logger` and `message`, plus the fields a
caller passes in `extra` (`request_id`, `frames`...). An exception attached to a record is
written as its type and its frames (file:line in function) only: its message, and a frame's
source line, can quote SQL, a row's values or a secret.
"""

from __future__ import annotations

import logging
import secrets
import time
import traceback
from types import TracebackType
from typing import Any

import msgspec

_encode = msgspec.json.Encoder().encode

# What every LogRecord has; anything else on a record came from `extra`.
# uvicorn's `color_message` repeats `message` with terminal colour codes.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}


def utc_time(now: float) -> str:
    seconds = int(now)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{stamp}.{int((now - seconds) * 1000):03d}Z"


def frames(tb: TracebackType | None) -> list[str]:
    return [f"{f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(tb)]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": utc_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                line[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__
            line["frames"] = frames(record.exc_info[2])
        return _encode(line).decode()


# What uvicorn says of each request carrying an Upgrade header, when it serves it as plain
# HTTP (`serve` runs it without a WebSocket protocol on purpose): the request has its access
# line like any other, and the second warning would send operators to install a library.
_UPGRADE_NOISE = ("Unsupported upgrade request.", "No supported WebSocket library detected.")


def _not_upgrade_noise(record: logging.LogRecord) -> bool:
    return not (isinstance(record.msg, str) and record.msg.startswith(_UPGRADE_NOISE))


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_not_upgrade_noise)
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


class RequestIds:
    """32 lower-case hex characters per request, unique across processes and hosts: a
    random prefix per process and a counter (cheaper than a fresh random id each time)."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._count = 0

    def next(self) -> str:
        self._count += 1
        return f"{self._prefix}{self._count:016x}"
