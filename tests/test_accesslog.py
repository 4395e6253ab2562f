"""The access log: JSON lines, written in batches, with credentials redacted."""

from __future__ import annotations

import asyncio
import io
import json
import re

import pytest

from pathsessions.web.accesslog import AccessLog, redact_path, redact_query

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
        (b"api+Key=s3cret&apikey+=s3cret", "api+Key=REDACTED&apikey+=REDACTED"),
        (
            b"client_secret=s3cret&access_token=s3cret",
            "client_secret=REDACTED&access_token=REDACTED",
        ),
        (b"token=s3cret;apiKey=x", "token=REDACTED"),
        (b"apiKey", "apiKey"),
        (b"a=1&&b=%0A", "a=REDACTED&&b=REDACTED"),
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
    assert line["query"] == "apiKey=REDACTED&x=REDACTED"


async def test_a_long_path_or_query_is_cut() -> None:
    out = io.StringIO()
    log = AccessLog(stream=out)
    record(log, "/" + "p" * 100_000, query=b"apiKey=k" + b"&x=q" * 100_000)
    log.flush()
    line = json.loads(out.getvalue())
    assert line["path"] == "/" + "p" * 2047 + "...(cut)"
    assert line["query"] == ("apiKey=REDACTED" + "&x=REDACTED" * 200)[:2048] + "...(cut)"


SECRET = "k" * 43  # as long as an API key


@pytest.mark.parametrize(
    ("query", "logged"),
    [
        # Only the parameters the API reads keep their values...
        (b"company=5f1b2c3d4e5f60718293a4b5", "company=5f1b2c3d4e5f60718293a4b5"),
        (b"company=abc&x=1&company=", "company=abc&x=REDACTED&company="),
        # ...unless the value is long enough to be a secret (a key sent as the company).
        (f"company={SECRET}".encode(), "company=REDACTED"),
        # Any other name is logged, its value is not, however the name is spelled.
        (f"apiKey[]={SECRET}".encode(), "apiKey[]=REDACTED"),
        (f"x;apiKey={SECRET}".encode(), "x;apiKey=REDACTED"),
        (f"api+Key={SECRET}&api%2BKey={SECRET}".encode(), "api+Key=REDACTED&api%2BKey=REDACTED"),
        (f"\u200bapiKey={SECRET}".encode(), "%E2%80%8BapiKey=REDACTED"),
        (f"Company={SECRET}&company%20={SECRET}".encode(), "Company=REDACTED&company%20=REDACTED"),
        (f"password={SECRET}&q=hello".encode(), "password=REDACTED&q=REDACTED"),
        # A name long enough to be a secret is redacted too, with or without a value.
        (f"{SECRET}=1&{SECRET}&apiKey{SECRET}".encode(), "REDACTED=REDACTED&REDACTED&REDACTED"),
        (b"%6B" * 25 + b"=1", "REDACTED=REDACTED"),
        (b"k" * 24 + b"=1", "k" * 24 + "=REDACTED"),
        # Names are escaped: a byte outside printable ASCII is logged as %XX.
        (b'a b\x00"\\=1', 'a%20b%00"\\=REDACTED'),
    ],
)
def test_only_the_parameters_we_read_are_logged_with_their_values(
    query: bytes, logged: str
) -> None:
    assert redact_query(query) == logged


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/api/v1/paths/5f1b2c3d4e5f60718293a4b5/sessions", None),
        ("/nowhere%0Aforged%20200", None),
        ("/api/v1/users/" + "k" * 24, None),
        (f"/api/v1/paths/{SECRET}/sessions", "/api/v1/paths/REDACTED/sessions"),
        (f"/{SECRET}/x/{'%6B' * 25}", "/REDACTED/x/REDACTED"),
        ("/a b/\x00", "/a%20b/%00"),
    ],
)
def test_a_path_segment_long_enough_to_be_a_secret_is_redacted(
    path: str, logged: str | None
) -> None:
    assert redact_path(path) == (path if logged is None else logged)
