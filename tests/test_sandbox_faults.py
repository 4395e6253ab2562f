"""Faults: answers given on purpose, before or after the operation, counted exactly."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from pathsessions.settings import Settings
from pathsessions.storage import Database
from support import World, count_rows, created_id, valid_body
from support.sandbox import admin, sandbox_settings
from support.v2 import TOKEN_URL


@pytest.fixture
def settings(database_url: str) -> Settings:
    return sandbox_settings(database_url)


async def add(client: httpx.AsyncClient, **fault: Any) -> dict[str, Any]:
    r = await admin(client, "POST", "/faults", json=fault)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def create(client: httpx.AsyncClient, world: World) -> httpx.Response:
    return await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)


async def test_respond_before_runs_nothing(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    fault = await add(
        client,
        operation="createPathSession",
        action="respond",
        status=503,
        body={"error": "down"},
        headers={"Retry-After": "7"},
    )
    assert fault == {
        "id": fault["id"],
        "operation": "createPathSession",
        "action": "respond",
        "when": "before",
        "probability": 1,
        "status": 503,
        "body": {"error": "down"},
        "headers": {"Retry-After": "7"},
        "fired": 0,
    }
    r = await create(client, world)
    assert (r.status_code, r.json(), r.headers["retry-after"]) == (503, {"error": "down"}, "7")
    assert await count_rows(db, "path_sessions") == 0
    # Another operation is untouched.
    assert (await client.get("/api/v1/paths", headers=world.headers)).status_code == 200
    [listed] = (await admin(client, "GET", "/faults")).json()
    assert listed == {**fault, "fired": 1}
    [entry, faulted] = (await admin(client, "GET", "/requests")).json()[:2]
    assert "fault" not in entry
    assert faulted["fault"] == fault["id"]
    assert faulted["status"] == 503


async def test_respond_after_commits_then_answers(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await add(client, method="POST", action="respond", when="after", status=502, times=1)
    r = await create(client, world)
    assert (r.status_code, r.content) == (502, b"")
    assert await count_rows(db, "path_sessions") == 1  # it ran and committed
    # Spent: gone from the list, and the next request is answered for real.
    assert (await admin(client, "GET", "/faults")).json() == []
    created_id(await create(client, world))


async def test_times_and_probability(client: httpx.AsyncClient, world: World) -> None:
    await add(client, action="respond", status=500, times=2)
    statuses = [
        (await client.get("/api/v1/paths", headers=world.headers)).status_code for _ in range(4)
    ]
    assert statuses == [500, 500, 200, 200]
    never = await add(client, action="respond", status=500, probability=0)
    for _ in range(5):
        assert (await client.get("/api/v1/paths", headers=world.headers)).status_code == 200
    assert (await admin(client, "GET", "/faults")).json() == [{**never, "fired": 0}]


async def test_matching_combines_with_and(client: httpx.AsyncClient, world: World) -> None:
    await add(
        client,
        company=world.other_company,
        path="/api/v1/groups",
        method="GET",
        action="respond",
        status=418,
    )
    assert (await client.get("/api/v1/groups", headers=world.headers)).status_code == 200
    assert (await client.get("/api/v1/paths", headers=world.other_headers)).status_code == 200
    r = await client.get(f"/api/v1/groups/{world.other_group}", headers=world.other_headers)
    assert r.status_code == 418
    # A refused request never reaches its operation: no fault for it.
    assert (await client.get("/api/v1/groups")).status_code == 401


async def test_delay(client: httpx.AsyncClient, world: World) -> None:
    await add(client, action="delay", delayMs=200, times=1)
    started = time.monotonic()
    r = await client.get("/api/v1/paths", headers=world.headers)
    assert r.status_code == 200
    assert time.monotonic() - started >= 0.2
    [entry] = (await admin(client, "GET", "/requests")).json()
    assert entry["status"] == 200
    assert "fault" in entry


async def test_reset_in_process_raises(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await add(client, action="reset", times=1)
    with pytest.raises(ConnectionResetError):
        await create(client, world)
    assert await count_rows(db, "path_sessions") == 0
    [entry] = (await admin(client, "GET", "/requests")).json()
    assert entry["status"] is None
    assert entry["fault"]


async def test_delete_one_and_all(client: httpx.AsyncClient, world: World) -> None:
    one = await add(client, action="respond", status=500)
    await add(client, action="respond", status=501)
    assert (await admin(client, "DELETE", f"/faults/{one['id']}")).status_code == 204
    r = await admin(client, "DELETE", f"/faults/{one['id']}")
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    assert (await client.get("/api/v1/paths", headers=world.headers)).status_code == 501
    assert (await admin(client, "DELETE", "/faults")).status_code == 204
    assert (await admin(client, "GET", "/faults")).json() == []
    assert (await client.get("/api/v1/paths", headers=world.headers)).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "action"),
        ({"action": "explode"}, "action"),
        ({"action": "respond"}, "status"),
        ({"action": "respond", "status": 99}, "status"),
        ({"action": "delay"}, "delayMs"),
        ({"action": "reset", "status": 500}, "status"),
        ({"action": "reset", "times": 0}, "times"),
        ({"action": "reset", "probability": 2}, "probability"),
        ({"action": "reset", "when": "during"}, "when"),
        ({"action": "reset", "colour": "red"}, "colour"),
        ({"action": "reset", "path": "api"}, "path"),
    ],
)
async def test_invalid_faults(
    client: httpx.AsyncClient, db: Database, body: dict[str, Any], field: str
) -> None:
    r = await admin(client, "POST", "/faults", json=body)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_fault"
    assert r.json()["message"].startswith(f"{field}: ")
    assert (await admin(client, "GET", "/faults")).json() == []


async def test_a_delayed_answer_after_the_operation(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await add(client, action="respond", when="after", status=504, delayMs=150, times=1)
    started = time.monotonic()
    r = await create(client, world)
    assert r.status_code == 504
    assert time.monotonic() - started >= 0.15
    assert await count_rows(db, "path_sessions") == 1


async def test_the_token_endpoint_is_matched_by_the_company_of_its_client(
    client: httpx.AsyncClient, world: World
) -> None:
    await add(client, company=world.other_company, action="respond", status=503)
    body = {
        "grant_type": "client_credentials",
        "client_id": world.credential.client_id,
        "client_secret": world.credential.client_secret,
    }
    assert (await client.post(TOKEN_URL, json=body)).status_code == 200
    other = world.other_credential
    body.update(client_id=other.client_id, client_secret=other.client_secret)
    assert (await client.post(TOKEN_URL, json=body)).status_code == 503
