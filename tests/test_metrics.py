"""GET /metrics (docs/operations.md): Prometheus's text format, per operation and status
counts, latency histograms, the database pool, rate-limit refusals; summed over every worker
process of a server."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pathsessions.app import create_app
from pathsessions.settings import Settings
from support import World, created_id, valid_body
from support.realserver import HEADERS, Servers, load_example


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def count(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], op: str, status: int
) -> float:
    key = ("pathsessions_requests_total", (("operation", op), ("status", str(status))))
    return found.get(key, 0.0)


async def test_counts_and_times_each_operation(client: httpx.AsyncClient, world: World) -> None:
    url = f"/api/v1/paths/{world.path}/sessions"
    session_id = created_id(await client.post(url, json=valid_body(), headers=world.headers))
    for _ in range(3):
        r = await client.get(f"/api/v1/paths/sessions/{session_id}", headers=world.headers)
        assert r.status_code == 200
    assert (await client.get("/api/v1/nowhere", headers=world.headers)).status_code == 404
    bad = {**world.headers, "X-apiKey": "wrong"}
    assert (
        await client.get(f"/api/v1/paths/sessions/{session_id}", headers=bad)
    ).status_code == 401

    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    found = samples(r.text)
    assert count(found, "createPathSession", 200) == 1
    assert count(found, "getPathSession", 200) == 3
    assert count(found, "getPathSession", 401) == 1
    assert count(found, "unknown", 404) == 1
    latency = ("pathsessions_request_duration_seconds_count", (("operation", "getPathSession"),))
    assert found[latency] == 4
    inf = (
        "pathsessions_request_duration_seconds_bucket",
        (("le", "+Inf"), ("operation", "getPathSession")),
    )
    assert found[inf] == 4
    assert found[("pathsessions_database_connections", ())] >= 1
    assert ("pathsessions_database_connections_in_use", ()) in found
    # A scrape is counted by the next one, as any request.
    again = samples((await client.get("/metrics")).text)
    assert count(again, "metrics", 200) == 1


async def test_rate_limit_refusals_are_counted(settings: Settings, world: World) -> None:
    app = create_app(replace(settings, rate_limits=True, read_rate_limit=2))
    await app.startup()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            statuses = [
                (await client.get("/api/v1/paths", headers=world.headers)).status_code
                for _ in range(6)
            ]
            assert 429 in statuses
            found = samples((await client.get("/metrics")).text)
    finally:
        await app.shutdown()
    refused = found[("pathsessions_rate_limited_total", (("limit", "requests"),))]
    assert refused == statuses.count(429)
    assert count(found, "listPaths", 429) == statuses.count(429)


async def test_off_it_is_an_unknown_route(settings: Settings) -> None:
    app = create_app(replace(settings, metrics=False))
    await app.startup()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            off = await client.get("/metrics")
            unknown = await client.get("/nowhere")
    finally:
        await app.shutdown()
    assert (off.status_code, off.content) == (unknown.status_code, unknown.content)


@pytest.mark.e2e
def test_every_worker_is_counted(database_url: str, servers: Servers) -> None:
    load_example(database_url)
    server = servers.start("serve", "--workers", "2")
    sent = 40
    answered_by = set()
    for _ in range(sent):
        # A new connection each time, so that both workers take some.
        r = httpx.get(server.base_url + "/api/v1/paths", headers=HEADERS)
        assert r.status_code == 200
        # The first 16 hex of a request id name the process that answered it.
        answered_by.add(r.headers["x-request-id"][:16])
    assert len(answered_by) == 2
    with httpx.Client(base_url=server.base_url) as http:
        for _ in range(4):
            found = samples(http.get("/metrics", headers={"Connection": "close"}).text)
            assert count(found, "listPaths", 200) == sent
    server.stop()
