"""The access log: JSON lines, written in batches, with credentials redacted."""

from __future__ import annotations

import asyncio
import io
import json
import re

import pytest

from pathsessions.web.accesslog import AccessLog, redact_query

COMPANY = "5f1b2c3d4e5f60718293a4b5"


def record(log: AccessLog, path: str = "/a", status: int = 200, query: bytes = b"") -> None:
    log.record("0" * 32, "GET", "/a", path, query, status, 1.254, COMPANY)


async def test_lines_are_written_together_after_the_interval() -> None:
    out = io.StringIO()
    log = AccessLog(stream=out, interval=0.05)
    record(log, "/a", 200)
    log.record("1" * 32, "POST", None, "/b", b"", 404, 0.5, None)
    assert out.getvalue() == ""
    await asyncio.sleep(0.1)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line.pop("time"))
    assert lines == [
        {
            "level": "INFO",
            "logger": "pathsessions.access",
            "message": "request",
            "request_id": "0" * 32,
            "method": "GET",
            "route": "/a",
            "path": "/a",
            "query": "",
            "status": 200,
            "duration_ms": 1.25,
            "company_id": COMPANY,
        },
        {
            "level": "INFO",
            "logger": "pathsessions.access",
            "message": "request",
            "request_id": "1" * 32,
            "method": "POST",
            "route": None,
            "path": "/b",
            "query": "",
            "status": 404,
            "duration_ms": 0.5,
            "company_id": None,
        },
    ]


async def test_a_full_buffer_is_written_at_once() -> None:
    out = io.StringIO()
    log = AccessLog(stream=out, interval=60, max_bytes=600)
    for _ in range(5):
        record(log, "/x" * 20)
    assert out.getvalue().count("\n") >= 2
    log.flush()
    assert out.getvalue().count("\n") == 5
    log.flush()  # nothing left: writes nothing more
    assert out.getvalue().count("\n") == 5


@pytest.mark.parametrize(
    ("query", "logged"),
    [
        (b"company=abc&apiKey=s3cret", "company=abc&apiKey=REDACTED"),
        (b"apiKey=s3cret&apiKey=other", "apiKey=REDACTED&apiKey=REDACTED"),
        # Spelled as the decoder reads it, not as it is written.
        (b"api%4Bey=s3cret", "api%4Bey=REDACTED"),
        (b"APIKEY=s3cret", "APIKEY=REDACTED"),
        (b"api+Key=s3cret&apikey+=s3cret", "api+Key=s3cret&apikey+=REDACTED"),
        (
            b"client_secret=s3cret&access_token=s3cret",
            "client_secret=REDACTED&access_token=REDACTED",
        ),
        (b"token=s3cret;apiKey=x", "token=REDACTED"),
        (b"apiKey", "apiKey"),
        (b"a=1&&b=%0A", "a=1&&b=%0A"),
    ],
)
def test_credentials_in_the_query_are_redacted(query: bytes, logged: str) -> None:
    assert redact_query(query) == logged


async def test_a_logged_line_cannot_be_forged() -> None:
    out = io.StringIO()
    log = AccessLog(stream=out)
    record(log, '/x\n{"forged": 1}', query=b'apiKey=k&x="\n')
    log.flush()
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["path"] == '/x\n{"forged": 1}'
    assert line["query"] == 'apiKey=REDACTED&x="\n'


async def test_a_long_path_or_query_is_cut() -> None:
    out = io.StringIO()
    log = AccessLog(stream=out)
    record(log, "/" + "p" * 100_000, query=b"apiKey=k&x=" + b"q" * 100_000)
    log.flush()
    line = json.loads(out.getvalue())
    assert line["path"] == "/" + "p" * 2047 + "...(cut)"
    assert line["query"] == "apiKey=REDACTED&x=" + "q" * 2030 + "...(cut)"
