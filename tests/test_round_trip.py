"""A session's whole life through the real app, as an integrator would drive it.

Create -> list -> get -> patch -> enrol users and groups -> get -> unenrol -> delete -> gone,
on both backends, authenticated by API-key headers, by query parameters, and by a bearer token.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pathsessions.storage import Database
from support import ITEM_KEYS, JSON_TYPE, World, count_rows


class Caller:
    """Sends every request with one way of authenticating."""

    def __init__(self, client: httpx.AsyncClient, mode: str, world: World) -> None:
        self.client = client
        self.mode = mode
        self.world = world
        self.headers: dict[str, str] = {}
        self.params: dict[str, str] = {}

    async def login(self) -> None:
        if self.mode == "headers":
            self.headers = self.world.headers
        elif self.mode == "query":
            self.params = self.world.query
        else:
            r = await self.client.post(
                "/api/v2/oauth2/token",
                json={
                    "grant_type": "client_credentials",
                    "client_id": self.world.company,
                    "client_secret": self.world.key,
                },
            )
            assert r.status_code == 200, r.text
            self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def __call__(self, method: str, url: str, body: Any = None) -> httpx.Response:
        r = await self.client.request(
            method, url, json=body, headers=self.headers, params=self.params
        )
        assert r.headers["content-type"] == JSON_TYPE
        r.json()  # every answer is JSON
        return r


@pytest.mark.parametrize("mode", ["headers", "query", "bearer"])
async def test_round_trip(client: httpx.AsyncClient, world: World, db: Database, mode: str) -> None:
    call = Caller(client, mode, world)
    await call.login()

    # Create.
    r = await call(
        "POST",
        f"/api/v1/paths/{world.path}/sessions/",
        {
            "sessionName": "Spring cohort",
            "startDate": "2031-04-01T09:00:00+02:00",
            "endDate": "2031-04-30T18:00:00.000Z",
            "sessionOwnerGroup": world.root_group,
            "instructorsMails": [world.instructor_mail, world.second_instructor_mail],
            "sessionAdditionalInformation": "REG-2031",
        },
    )
    assert r.status_code == 200, r.text
    assert list(r.json()) == ["_id"]
    session_id = r.json()["_id"]

    # List.
    r = await call("GET", "/api/v1/paths/sessions")
    assert r.status_code == 200
    items = r.json()
    assert len(items) == 1
    item = items[0]
    assert list(item) == ITEM_KEYS
    assert item["sessionId"] == session_id
    assert item["sessionName"] == "Spring cohort"
    assert item["startDate"] == "2031-04-01T07:00:00.000Z"
    assert item["endDate"] == "2031-04-30T18:00:00.000Z"
    assert item["instructorsMails"] == [world.instructor_mail, world.second_instructor_mail]
    assert item["sessionAdditionalInformation"] == "REG-2031"
    assert item["createdAt"] == item["modifiedAt"]

    # Get.
    r = await call("GET", f"/api/v1/paths/sessions/{session_id}")
    assert r.status_code == 200
    detail = r.json()
    assert {k: detail[k] for k in ITEM_KEYS} == item
    assert detail["path"]["_id"] == world.path
    assert "sessionIds" not in detail["path"]
    assert detail["users"] == []
    assert detail["groups"] == []
    r = await call("GET", f"/api/v1/paths/{world.path}")
    assert r.json()["sessionIds"] == [session_id]

    # Patch.
    r = await call(
        "PATCH",
        f"/api/v1/paths/sessions/{session_id}",
        {
            "sessionName": "Spring cohort (moved)",
            "sessionOwnerGroup": world.sales_group,
            "startDate": "2031-05-01T09:00:00.000Z",
            "endDate": "2031-05-31T18:00:00.000Z",
            "instructorsMails": [world.owner_mail],
        },
    )
    assert r.status_code == 200, r.text
    patched = r.json()
    assert patched["sessionName"] == "Spring cohort (moved)"
    assert patched["sessionOwnerGroup"] == world.sales_group
    assert patched["startDate"] == "2031-05-01T09:00:00.000Z"
    assert patched["endDate"] == "2031-05-31T18:00:00.000Z"
    assert patched["instructorsMails"] == [world.owner_mail]
    assert patched["sessionAdditionalInformation"] == "REG-2031"
    assert patched["createdAt"] == item["createdAt"]

    # Enrol users (by e-mail and by id) and groups.
    r = await call(
        "PATCH",
        f"/api/v1/paths/sessions/{session_id}/users",
        {"userEmails": [world.instructor_mail.upper()]},
    )
    assert r.status_code == 200
    assert r.json() == {"status": "users_enrolled"}
    r = await call(
        "PATCH", f"/api/v1/paths/sessions/{session_id}/users", {"userIds": [world.owner]}
    )
    assert r.json() == {"status": "users_enrolled"}
    r = await call(
        "PATCH",
        f"/api/v1/paths/sessions/{session_id}/groups",
        {"groupIds": [world.root_group, world.sales_group]},
    )
    assert r.status_code == 200
    assert r.json() == {"status": "groups_enrolled"}

    # Get shows them.
    r = await call("GET", f"/api/v1/paths/sessions/{session_id}")
    detail = r.json()
    assert {k: detail[k] for k in ITEM_KEYS} == {k: patched[k] for k in ITEM_KEYS}
    assert sorted(u["_id"] for u in detail["users"]) == sorted([world.owner, world.instructor])
    assert detail["groups"] == [
        {"_id": world.root_group, "name": "Acme"},
        {"_id": world.sales_group, "name": "Sales"},
    ]
    r = await call("GET", f"/api/v1/paths/sessions/{session_id}/users")
    assert r.json() == detail["users"]

    # Unenrol some.
    r = await call(
        "DELETE", f"/api/v1/paths/sessions/{session_id}/users", {"userIds": [world.owner]}
    )
    assert r.json() == {"status": "users_unenrolled"}
    r = await call(
        "DELETE", f"/api/v1/paths/sessions/{session_id}/groups", {"groupIds": [world.root_group]}
    )
    assert r.json() == {"status": "groups_unenrolled"}
    r = await call("GET", f"/api/v1/paths/sessions/{session_id}")
    assert [u["_id"] for u in r.json()["users"]] == [world.instructor]
    assert r.json()["groups"] == [{"_id": world.sales_group, "name": "Sales"}]

    # Delete.
    r = await call("DELETE", f"/api/v1/paths/sessions/{session_id}")
    assert r.status_code == 200
    assert r.json() == {"status": "path_session_deleted"}

    # Gone everywhere.
    r = await call("GET", f"/api/v1/paths/sessions/{session_id}")
    assert r.status_code == 404
    assert r.json() == {"error": "path_session_not_found"}
    r = await call("GET", f"/api/v1/paths/sessions/{session_id}/users")
    assert r.status_code == 404
    r = await call("DELETE", f"/api/v1/paths/sessions/{session_id}")
    assert r.status_code == 404
    r = await call("GET", "/api/v1/paths/sessions")
    assert r.json() == []
    r = await call("GET", f"/api/v1/paths/{world.path}")
    assert r.json()["sessionIds"] == []
    for table in ("path_sessions", "session_instructors", "session_users", "session_groups"):
        assert await count_rows(db, table) == 0, table


@pytest.mark.parametrize("mode", ["headers", "bearer"])
async def test_round_trip_other_company_untouched(
    client: httpx.AsyncClient, world: World, mode: str
) -> None:
    """The same life in ACME leaves OTHER's view empty, and OTHER cannot reach it."""
    call = Caller(client, mode, world)
    await call.login()
    other = Caller(client, mode, World(company=world.other_company, key=world.other_key))
    await other.login()
    r = await call(
        "POST",
        f"/api/v1/paths/{world.path}/sessions",
        {
            "sessionName": "Private",
            "startDate": "2031-04-01T09:00:00Z",
            "sessionOwnerGroup": world.root_group,
        },
    )
    session_id = r.json()["_id"]
    assert (await other("GET", "/api/v1/paths/sessions")).json() == []
    for method, suffix, body in [
        ("GET", "", None),
        ("PATCH", "", {"sessionName": "x"}),
        ("DELETE", "", None),
        ("GET", "/users", None),
        ("PATCH", "/users", {"userIds": [world.owner]}),
        ("PATCH", "/groups", {"groupIds": [world.other_group]}),
    ]:
        r = await other(method, f"/api/v1/paths/sessions/{session_id}{suffix}", body)
        assert r.status_code == 404, (method, suffix)
        assert r.json() == {"error": "path_session_not_found"}
    r = await call("GET", f"/api/v1/paths/sessions/{session_id}")
    assert r.status_code == 200
    assert r.json()["sessionName"] == "Private"
    assert r.json()["users"] == []
    assert r.json()["groups"] == []
