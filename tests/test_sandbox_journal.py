"""The request journal: every API request, redacted, newest first, filtered, bounded."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pathsessions.app import create_app
from pathsessions.loader import load_document
from pathsessions.settings import Settings
from pathsessions.storage import Database
from support import World, created_id, valid_body, world_document
from support.sandbox import admin, sandbox_settings
from support.v2 import TOKEN_URL, v2_headers


@pytest.fixture
def settings(database_url: str) -> Settings:
    return sandbox_settings(database_url, journal_size=5)


async def journal(client: httpx.AsyncClient, query: str = "") -> list[dict[str, Any]]:
    r = await admin(client, "GET", "/requests" + query)
    assert r.status_code == 200, r.text
    entries: list[dict[str, Any]] = r.json()
    return entries


async def test_a_request_is_in_the_journal_once_answered(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.post(
        world.sessions_url(), json=valid_body(), headers=world.headers, params={"x": "1"}
    )
    session_id = created_id(r)
    [entry] = await journal(client)
    assert set(entry) == {
        "id",
        "at",
        "method",
        "path",
        "query",
        "headers",
        "body",
        "status",
        "responseBody",
        "durationMs",
        "companyId",
        "operation",
    }
    assert entry["method"] == "POST"
    assert entry["path"] == world.sessions_url()
    assert entry["query"] == "x=1"
    assert entry["status"] == 200
    assert entry["operation"] == "createPathSession"
    assert entry["companyId"] == world.company
    assert entry["responseBody"] == f'{{"_id":"{session_id}"}}'
    assert '"sessionName":"Cohort 1"' in entry["body"]
    assert entry["headers"]["x-apikey"] == "REDACTED"
    assert entry["headers"]["x-company-id"] == world.company
    assert entry["durationMs"] >= 0
    r = await admin(client, "GET", f"/requests/{entry['id']}")
    assert r.json() == entry


async def test_credentials_are_redacted_everywhere(client: httpx.AsyncClient, world: World) -> None:
    await client.get("/api/v1/paths", params=world.query)
    credential = world.credential
    await client.post(
        TOKEN_URL,
        json={
            "grant_type": "client_credentials",
            "client_id": credential.client_id,
            "client_secret": credential.client_secret,
        },
    )
    await client.post(
        TOKEN_URL,
        content=f"grant_type=client_credentials&client_id={credential.client_id}"
        f"&client_secret={credential.client_secret}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    headers = await v2_headers(client)
    await client.get("/api/v2/paths", headers=headers)
    entries = await journal(client)
    text = str(entries)
    token = headers["Authorization"].removeprefix("Bearer ")
    for secret in (world.key, credential.client_secret, token):
        assert secret not in text
    v2, token_json_again, token_form, token_json, listed = entries
    assert listed["query"] == f"company={world.company}&apiKey=REDACTED"
    assert token_json["operation"] == "v2.authentication.GenerateTokenController_generateToken"
    assert token_json["companyId"] == world.company
    assert '"client_secret":"REDACTED"' in token_json["body"]
    assert '"access_token":"REDACTED"' in token_json["responseBody"]
    assert "client_secret=REDACTED" in token_form["body"]
    assert v2["headers"]["authorization"] == "REDACTED"
    assert v2["operation"] is not None
    assert token_json_again["path"] == TOKEN_URL


async def test_not_journalled(client: httpx.AsyncClient, world: World) -> None:
    for path in ("/health", "/openapi.json", "/docs"):
        assert (await client.get(path)).status_code == 200
    for path in ("/clock", "/faults"):
        assert (await admin(client, "GET", path)).status_code == 200
    assert await journal(client) == []


async def test_refusals_and_unknown_api_routes_are_journalled(
    client: httpx.AsyncClient, world: World
) -> None:
    await client.get("/api/v1/paths")
    await client.get("/api/v1/nothing", headers=world.headers)
    unknown, refused = await journal(client)
    assert (refused["status"], refused["operation"], refused["companyId"]) == (
        401,
        "listPaths",
        None,
    )
    assert (unknown["status"], unknown["operation"]) == (404, None)


async def test_filters_order_and_limit(client: httpx.AsyncClient, world: World) -> None:
    await client.get("/api/v1/paths", headers=world.headers)  # 1
    await client.get("/api/v1/groups", headers=world.headers)  # 2
    await client.get("/api/v1/paths", headers=world.other_headers)  # 3
    await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)  # 4
    ids = [e["id"] for e in await journal(client)]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == 4
    first = ids[-1]
    assert [e["id"] for e in await journal(client, f"?company={world.other_company}")] == [
        first + 2
    ]
    assert [e["id"] for e in await journal(client, "?method=post")] == [first + 3]
    assert [e["id"] for e in await journal(client, "?operation=listPaths")] == [
        first + 2,
        first,
    ]
    assert [e["id"] for e in await journal(client, "?status=200&path=/api/v1/g")] == [first + 1]
    assert [e["id"] for e in await journal(client, f"?since={first + 1}")] == [
        first + 3,
        first + 2,
    ]
    assert [e["id"] for e in await journal(client, "?limit=2")] == [first + 3, first + 2]
    for bad in ("?limit=0", "?limit=1001", "?status=x", "?since=-1"):
        r = await admin(client, "GET", "/requests" + bad)
        assert r.status_code == 400, bad
    r = await admin(client, "GET", "/requests/999999")
    assert (r.status_code, r.json()["error"]) == (404, "not_found")


async def test_the_oldest_go_first(client: httpx.AsyncClient, world: World) -> None:
    for _ in range(7):
        await client.get("/api/v1/paths", headers=world.headers)
    ids = [e["id"] for e in await journal(client)]
    assert len(ids) == 5
    assert ids == list(range(ids[0], ids[0] - 5, -1))


async def test_delete_all_or_one_company(client: httpx.AsyncClient, world: World) -> None:
    await client.get("/api/v1/paths", headers=world.headers)
    await client.get("/api/v1/paths", headers=world.other_headers)
    r = await admin(client, "DELETE", f"/requests?company={world.company}")
    assert r.status_code == 204
    assert [e["companyId"] for e in await journal(client)] == [world.other_company]
    assert (await admin(client, "DELETE", "/requests")).status_code == 204
    assert await journal(client) == []


async def test_bodies_are_cut_at_64_kib(client: httpx.AsyncClient, world: World) -> None:
    big = valid_body(sessionAdditionalInformation="x" * 70_000)
    await client.post(world.sessions_url(), json=big, headers=world.headers)
    [entry] = await journal(client)
    assert entry["bodyTruncated"] is True
    assert len(entry["body"].encode()) == 64 * 1024
    assert "responseBodyTruncated" not in entry


async def test_a_journal_of_size_0_is_off(database_url: str, world: World) -> None:
    application = create_app(sandbox_settings(database_url, journal_size=0))
    await application.startup()
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            await c.get("/api/v1/paths", headers=world.headers)
            assert await journal(c) == []
    finally:
        await application.shutdown()


async def test_a_long_streamed_answer_is_cut_too(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    document = world_document()
    document["companies"][0]["sessions"] = [
        {
            "path": world.path,
            "sessionName": f"Session {i:04d} " + "x" * 200,
            "startDate": "2030-01-01T09:00:00.000Z",
            "sessionOwnerGroup": world.root_group,
        }
        for i in range(300)
    ]
    await load_document(db, document)
    r = await client.get("/api/v1/paths/sessions", headers=world.headers)
    assert len(r.content) > 64 * 1024
    [entry] = await journal(client)
    assert entry["responseBodyTruncated"] is True
    assert entry["responseBody"].encode() == r.content[: 64 * 1024]
    assert "bodyTruncated" not in entry
