"""Requests one after another on a kept-alive connection are answered at once, whatever the
answer's shape, by `pathsessions.testing.serve()` and by `pathsessions serve` alike.

An answer written in more than one piece (its head, then its body; or the chunks of a streamed
listing) on a connection where Nagle's algorithm is on waits, after its first piece, for the
client to acknowledge it; and a client delays its acknowledgement, 40 ms at least on Linux. So
every such answer took 40 ms more than its work, which is what every request to `serve()` cost
until its connections had the algorithm off like those of `pathsessions serve`. The delay is
in every request of such a connection but its first: the lower quartile of 20 requests is
under 30 ms, which leaves a loaded machine room (a /health that writes to PostgreSQL, or a
request that waits for a busy core) and is still well under the 40 ms.
"""

from __future__ import annotations

import http.client
import statistics
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

import pytest

from pathsessions.testing import default_company, serve
from support.realserver import HEADERS, Servers, load_example
from support.sandbox import ADMIN_TOKEN

REQUESTS = 20
BOUND_MS = 30.0
STATIC = "/__admin/console/static/console.js"


def quartile_ms(
    url: str, method: str, target: str, headers: Mapping[str, str], status: int
) -> float:
    """The lower quartile of the times of `REQUESTS` requests sent one after another on one
    connection, after a first one that opens it."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    times = []
    try:
        for _ in range(REQUESTS + 1):
            start = time.perf_counter()
            connection.request(method, target, headers=dict(headers))
            answer = connection.getresponse()
            answer.read()
            times.append((time.perf_counter() - start) * 1000)
            assert answer.status == status, (method, target, answer.status)
            assert not answer.will_close, (method, target)  # one connection throughout
    finally:
        connection.close()
    return statistics.quantiles(times[1:], n=4)[0]


def shapes(v1: Mapping[str, str]) -> list[tuple[str, str, Mapping[str, str], int]]:
    """One answer of each shape: a whole JSON body, a streamed (chunked) listing, error bodies,
    a static file, and a head alone."""
    return [
        ("GET", "/health", {}, 200),
        ("GET", "/api/v1/paths/sessions", v1, 200),
        ("GET", "/api/v1/users", v1, 200),
        ("GET", "/api/v1/paths/sessions", {}, 401),
        ("GET", "/no/such/route", {}, 404),
        ("GET", STATIC, {}, 200),
        ("HEAD", "/health", {}, 404),
    ]


def assert_prompt(url: str, v1: Mapping[str, str]) -> None:
    slow = {}
    for method, target, headers, status in shapes(v1):
        quartile = quartile_ms(url, method, target, headers, status)
        if quartile >= BOUND_MS:
            slow[f"{method} {target} {status}"] = round(quartile, 1)
    assert slow == {}, f"lower quartile (ms) of {REQUESTS} requests, {BOUND_MS} or more: {slow}"


def test_the_testing_server_answers_without_delay(database_url: str) -> None:
    document = {"companies": [default_company()]}
    with serve(document, database_url=database_url) as server:
        [company] = server.companies
        assert company.api_key is not None
        v1 = {"X-company-id": company.id, "X-apiKey": company.api_key}
        assert_prompt(server.url, v1)


@pytest.mark.e2e
def test_the_served_api_answers_without_delay(database_url: str, servers: Servers) -> None:
    load_example(database_url)
    server = servers.start(env={"PATHSESSIONS_ADMIN_TOKEN": ADMIN_TOKEN})
    assert_prompt(server.base_url, HEADERS)
