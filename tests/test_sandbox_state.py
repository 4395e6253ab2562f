"""State through the control API: fixtures, companies, snapshots, reset."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pathsessions.settings import Settings
from pathsessions.storage import Database
from support import World, count_rows, created_id, valid_body, world_document
from support.sandbox import admin, sandbox_settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    return sandbox_settings(database_url)


def small_document(
    name: str = "Tiny", company_id: str = "5f1b2c3d4e5f60718293a4c0"
) -> dict[str, Any]:
    return {
        "companies": [
            {
                "id": company_id,
                "name": name,
                "owner": "owner@tiny.test",
                "groups": [{"id": "6a00000000000000000000c1", "name": "Root"}],
                "apiCredentials": [{"name": "ci", "scopes": ["paths:read"]}],
            }
        ]
    }


async def test_load_generates_keys_once(client: httpx.AsyncClient, db: Database) -> None:
    r = await admin(client, "POST", "/fixtures", json=small_document())
    assert r.status_code == 200, r.text
    [company] = r.json()["companies"]
    assert company["id"] == "5f1b2c3d4e5f60718293a4c0"
    assert company["name"] == "Tiny"
    [key] = company["apiKeys"]
    [credential] = company["apiCredentials"]
    assert set(credential) == {"clientId", "clientSecret"}
    headers = {"X-company-id": company["id"], "X-apiKey": key}
    assert (await client.get("/api/v1/groups", headers=headers)).status_code == 200
    again = await admin(client, "POST", "/fixtures", json=small_document())
    assert again.json() == {
        "companies": [{"id": company["id"], "name": "Tiny", "apiKeys": [], "apiCredentials": []}]
    }


async def test_a_bad_document_changes_nothing(client: httpx.AsyncClient, db: Database) -> None:
    document = small_document()
    document["companies"][0]["groups"][0]["colour"] = "red"
    r = await admin(client, "POST", "/fixtures", json=document)
    assert r.status_code == 400
    assert r.json() == {
        "error": "invalid_fixture",
        "message": "companies[0].groups[0].colour: unknown field",
    }
    assert await count_rows(db, "companies") == 0
    r = await admin(client, "POST", "/fixtures", content=b"{nope")
    assert r.status_code == 400


async def test_reset_true_replaces_the_companies_named(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    created_id(await client.post(world.sessions_url(), json=valid_body(), headers=world.headers))
    r = await admin(client, "POST", "/fixtures?reset=true", json=world_document())
    assert r.status_code == 200
    assert await count_rows(db, "path_sessions") == 0


async def test_companies_with_counts_and_deletion(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    created_id(await client.post(world.sessions_url(), json=valid_body(), headers=world.headers))
    listed = (await admin(client, "GET", "/companies")).json()
    by_id = {c["id"]: c for c in listed}
    acme = by_id[world.company]
    assert acme["name"] == "Acme Learning"
    assert set(acme["counts"]) == {"groups", "users", "paths", "sessions", "enrollments"}
    assert acme["counts"]["sessions"] == 1
    assert acme["counts"]["groups"] >= 2
    assert (await admin(client, "DELETE", f"/companies/{world.company}")).status_code == 204
    assert [c["id"] for c in (await admin(client, "GET", "/companies")).json()] == [
        world.other_company
    ]
    assert (await client.get("/api/v1/paths", headers=world.headers)).status_code == 401
    r = await admin(client, "DELETE", f"/companies/{world.company}")
    assert (r.status_code, r.json()["error"]) == (404, "not_found")


async def sessions_of(client: httpx.AsyncClient, headers: dict[str, str]) -> list[Any]:
    r = await client.get("/api/v1/paths/sessions", headers=headers)
    assert r.status_code == 200
    answer: list[Any] = r.json()
    return answer


async def test_snapshot_and_restore_everything(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    first = created_id(
        await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    )
    before = await sessions_of(client, world.headers)
    r = await admin(client, "POST", "/snapshots", json={"name": "start"})
    assert r.status_code == 201
    assert r.json()["name"] == "start"
    assert r.json()["company"] is None
    r = await admin(client, "POST", "/snapshots", json={"name": "start"})
    assert (r.status_code, r.json()["error"]) == (409, "conflict")
    # Change things, delete a company, then go back.
    r = await client.patch(
        f"/api/v1/paths/sessions/{first}",
        json=valid_body(sessionName="Renamed", instructorsMails=[world.owner_mail]),
        headers=world.headers,
    )
    assert r.status_code == 200, r.text
    created_id(await client.post(world.sessions_url(), json=valid_body(), headers=world.headers))
    await admin(client, "DELETE", f"/companies/{world.other_company}")
    assert (await admin(client, "POST", "/snapshots/start/restore")).status_code == 204
    assert await sessions_of(client, world.headers) == before
    assert (await client.get("/api/v1/paths", headers=world.other_headers)).status_code == 200
    assert [s["name"] for s in (await admin(client, "GET", "/snapshots")).json()] == ["start"]
    assert (await admin(client, "DELETE", "/snapshots/start")).status_code == 204
    r = await admin(client, "POST", "/snapshots/start/restore")
    assert (r.status_code, r.json()["error"]) == (404, "not_found")


async def test_restoring_one_company_touches_no_other(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    r = await admin(client, "POST", "/snapshots", json={"name": "acme", "company": world.company})
    assert r.json()["company"] == world.company
    created_id(await client.post(world.sessions_url(), json=valid_body(), headers=world.headers))
    other = created_id(
        await client.post(
            world.sessions_url(world.other_path),
            json={
                "sessionName": "x",
                "startDate": "2031-06-01T00:00:00.000Z",
                "sessionOwnerGroup": world.other_group,
            },
            headers=world.other_headers,
        )
    )
    assert (await admin(client, "POST", "/snapshots/acme/restore")).status_code == 204
    assert await sessions_of(client, world.headers) == []
    assert [s["sessionId"] for s in await sessions_of(client, world.other_headers)] == [other]


async def test_reset_clears_all_but_snapshots(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await client.get("/api/v1/paths", headers=world.headers)
    await admin(client, "POST", "/faults", json={"action": "respond", "status": 500})
    await admin(client, "PUT", "/clock", json={"offsetMs": 5000})
    await admin(client, "POST", "/snapshots", json={"name": "kept"})
    assert (await admin(client, "POST", "/reset")).status_code == 204
    assert (await admin(client, "GET", "/companies")).json() == []
    assert (await admin(client, "GET", "/requests")).json() == []
    assert (await admin(client, "GET", "/faults")).json() == []
    assert (await admin(client, "GET", "/clock")).json()["offsetMs"] == 0
    assert len((await admin(client, "GET", "/snapshots")).json()) == 1
    assert (await admin(client, "POST", "/reset", json={"snapshots": True})).status_code == 204
    assert (await admin(client, "GET", "/snapshots")).json() == []
