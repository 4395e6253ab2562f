"""Export: a company as a fixture document that loads back to the same API answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pathsessions.settings import Settings
from pathsessions.storage import Database
from support import World, created_id, valid_body
from support.sandbox import admin, sandbox_settings
from support.sessions_v2 import ALL_SESSIONS, create_body, sessions_url
from support.v2 import v2_headers

V1_READS = ["/api/v1/paths/sessions", "/api/v1/paths", "/api/v1/groups", "/api/v1/users"]
V2_READS = [ALL_SESSIONS, "/api/v2/paths", "/api/v2/groups", "/api/v2/users"]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return sandbox_settings(database_url)


async def answers(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    v2 = await v2_headers(client)
    seen: dict[str, Any] = {}
    for url in V1_READS:
        r = await client.get(url, headers=world.headers)
        assert r.status_code == 200, (url, r.text)
        seen[url] = r.json()
    for url in V2_READS:
        r = await client.get(url, headers=v2)
        assert r.status_code == 200, (url, r.text)
        seen[url] = r.json()
    return seen


async def test_export_then_load_gives_the_same_answers(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await admin(client, "PUT", "/clock", json={"frozenAt": "2029-01-01T00:00:00.000Z"})
    created_id(await client.post(world.sessions_url(), json=valid_body(), headers=world.headers))
    v2 = {**await v2_headers(client)}
    r = await client.post(
        sessions_url(),
        json=create_body(
            name="V2",
            userLimit=5,
            ipFiltering={"active": True, "authorizedAddresses": ["10.0.0.1"]},
        ),
        headers=v2,
    )
    assert r.status_code in (200, 201), r.text
    await admin(client, "PUT", "/clock", json={"frozenAt": "2029-02-01T00:00:00.000Z"})
    before = await answers(client, world)

    r = await admin(client, "GET", f"/companies/{world.company}/export")
    assert r.status_code == 200
    document = r.json()
    [company] = document["companies"]
    assert company["id"] == world.company
    assert world.key not in r.text
    assert world.credential.client_secret not in r.text
    assert len(company["apiKeyHashes"]) == 1
    assert all("clientSecretHash" in c for c in company["apiCredentials"])
    assert all("createdAt" in s and "modifiedAt" in s for s in company["sessions"])

    assert (await admin(client, "DELETE", f"/companies/{world.company}")).status_code == 204
    r = await admin(client, "POST", "/fixtures", json=document)
    assert r.status_code == 200, r.text
    # Nothing generated: the keys and secrets are the ones exported.
    assert r.json()["companies"][0]["apiKeys"] == []
    assert r.json()["companies"][0]["apiCredentials"] == []
    assert await answers(client, world) == before
    # And the export of what was loaded is the same document.
    again = await admin(client, "GET", f"/companies/{world.company}/export")
    assert again.json() == document


async def test_enrolments_are_exported(client: httpx.AsyncClient, world: World) -> None:
    session_id = created_id(
        await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    )
    r = await client.patch(
        f"/api/v1/paths/sessions/{session_id}/users",
        json={"userIds": [world.owner]},
        headers=world.headers,
    )
    assert r.status_code == 200, r.text
    r = await client.patch(
        f"/api/v1/paths/sessions/{session_id}/groups",
        json={"groupIds": [world.sales_group]},
        headers=world.headers,
    )
    assert r.status_code == 200, r.text
    document = (await admin(client, "GET", f"/companies/{world.company}/export")).json()
    [session] = document["companies"][0]["sessions"]
    assert [e["user"] for e in session["enrollments"]] == [world.owner]
    assert session["groups"] == [world.sales_group]


async def test_export_of_an_unknown_company(client: httpx.AsyncClient, world: World) -> None:
    r = await admin(client, "GET", "/companies/5f1b2c3d4e5f60718293a4ff/export")
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    r = await admin(client, "GET", "/companies/nope/export")
    assert r.status_code == 404


async def test_the_loader_checks_the_exported_keys(client: httpx.AsyncClient, world: World) -> None:
    document = (await admin(client, "GET", f"/companies/{world.company}/export")).json()
    company = document["companies"][0]
    company["apiKeyHashes"] = ["not-a-hash"]
    r = await admin(client, "POST", "/fixtures", json=document)
    assert r.json() == {
        "error": "invalid_fixture",
        "message": "companies[0].apiKeyHashes[0]: must be 64 lower-case hex digits",
    }
    company["apiKeyHashes"] = []
    company["apiCredentials"][0]["clientSecret"] = "x"
    r = await admin(client, "POST", "/fixtures", json=document)
    assert (
        r.json()["message"]
        == "companies[0].apiCredentials[0].clientSecretHash: give clientSecret or its hash"
    )
    del company["apiCredentials"][0]["clientSecret"]
    company["paths"][0]["createdAt"] = "soon"
    r = await admin(client, "POST", "/fixtures", json=document)
    assert r.json()["message"] == "companies[0].paths[0].createdAt: not a valid date"
