"""The sandbox's §6: a learner's progress and a group's members, set through the control API
(docs/sandbox.md), read back through v2; by the company's clock; nothing changed on a refusal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pathsessions.settings import Settings
from pathsessions.storage import Database
from support import World
from support.enrollments_v2 import audience, enrollments_url, put_audience
from support.sandbox import admin, sandbox_settings
from support.sessions_v2 import create, session_url
from support.v2 import v2_headers

RUNNING = {"startDate": "2020-01-01T09:00:00.000Z", "endDate": "2040-01-01T09:00:00.000Z"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return sandbox_settings(database_url)


async def enrolled(client: httpx.AsyncClient, world: World, user_id: str) -> tuple[str, str]:
    """A running v1 session with `user_id` enrolled; answers (session id, enrollment id)."""
    v2 = await v2_headers(client)
    session = await create(client, v2, **RUNNING)
    r = await client.patch(
        f"/api/v1/paths/sessions/{session['_id']}/users",
        json={"userIds": [user_id]},
        headers=world.headers,
    )
    assert r.status_code == 200, r.text
    r = await client.get(enrollments_url(), headers=v2, params={"sessionId[eq]": session["_id"]})
    [enrollment] = r.json()
    return session["_id"], enrollment["_id"]


def progress_url(world: World, enrollment_id: str) -> str:
    return f"/companies/{world.company}/enrollments/{enrollment_id}/progress"


async def user_stats(client: httpx.AsyncClient, session_id: str) -> list[dict[str, Any]]:
    v2 = await v2_headers(client)
    r = await client.get(session_url(session_id) + "/user-stats", headers=v2)
    assert r.status_code == 200, r.text
    items = r.json()
    assert isinstance(items, list)
    return items


async def test_progress_is_recorded_and_read_back(client: httpx.AsyncClient, world: World) -> None:
    session_id, enrollment_id = await enrolled(client, world, world.owner)
    body = {
        "progress": 40,
        "timeSpent": 90_000,
        "score": 62.4,
        "startedAt": "2021-03-01T10:00:00.000Z",
        "certificateId": "5f1b2c3d4e5f60718293aaaa",
    }
    r = await admin(client, "PUT", progress_url(world, enrollment_id), json=body)
    assert r.status_code == 200, r.text
    item = r.json()
    assert item["_id"] == enrollment_id
    assert item["userId"] == world.owner
    assert item["status"] == {"type": "onTime"}
    assert (item["progress"], item["timeSpent"], item["score"]) == (40, 90_000, 62)
    assert item["startedAt"] == "2021-03-01T10:00:00.000Z"
    assert await user_stats(client, session_id) == [item]

    done = {
        "progress": 100,
        "status": {"type": "successful"},
        "completedAt": "2021-04-01T00:00:00.000Z",
    }
    r = await admin(client, "PUT", progress_url(world, enrollment_id), json=done)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == {"type": "successful"}
    assert r.json()["completedAt"] == "2021-04-01T00:00:00.000Z"
    # A new record replaces the old one whole.
    assert "score" not in r.json()


async def test_progress_is_judged_by_the_company_clock(
    client: httpx.AsyncClient, world: World
) -> None:
    _, enrollment_id = await enrolled(client, world, world.owner)
    r = await admin(
        client,
        "PUT",
        "/clock",
        params={"company": world.company},
        json={"frozenAt": "2041-01-01T00:00:00.000Z"},
    )
    assert r.status_code == 200, r.text
    r = await admin(client, "PUT", progress_url(world, enrollment_id), json={"progress": 10})
    assert r.json()["status"] == {"type": "unsuccessful", "reason": "sessionEnded"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "progress: required"),
        ({"progress": 101}, "progress: required"),
        ({"progress": 5, "status": {"type": "finished"}}, "status.type: must be one of"),
        ({"progress": 5, "status": {"type": "onTime", "reason": "x"}}, "status.reason"),
        ({"progress": 5, "timeSpent": -1}, "timeSpent:"),
        ({"progress": 5, "score": 101}, "score:"),
        ({"progress": 5, "completedAt": "yesterday"}, "completedAt: not a valid date"),
        ({"progress": 5, "certificateId": "nope"}, "certificateId:"),
        ({"progress": 5, "grade": "A"}, "grade: unknown field"),
    ],
)
async def test_a_bad_progress_changes_nothing(
    client: httpx.AsyncClient, world: World, body: dict[str, Any], message: str
) -> None:
    session_id, enrollment_id = await enrolled(client, world, world.owner)
    before = await user_stats(client, session_id)
    r = await admin(client, "PUT", progress_url(world, enrollment_id), json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"
    assert r.json()["message"].startswith(message)
    assert await user_stats(client, session_id) == before


async def test_progress_of_an_unknown_enrollment(client: httpx.AsyncClient, world: World) -> None:
    _, enrollment_id = await enrolled(client, world, world.owner)
    for url in (
        progress_url(world, "5f1b2c3d4e5f60718293a4ff"),
        # Another company's name for it: as if it did not exist.
        f"/companies/{world.other_company}/enrollments/{enrollment_id}/progress",
        f"/companies/5f1b2c3d4e5f60718293a4fe/enrollments/{enrollment_id}/progress",
    ):
        r = await admin(client, "PUT", url, json={"progress": 1})
        assert (r.status_code, r.json()["error"]) == (404, "not_found"), url


def members_url(world: World, group_id: str) -> str:
    return f"/companies/{world.company}/groups/{group_id}/members"


async def test_members_change_and_dynamic_audiences_follow(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    v2 = await v2_headers(client)
    session = await create(client, v2, **RUNNING)
    await put_audience(client, v2, session["_id"], audience(groups=[world.sales_group]))

    async def enrolled_now() -> dict[str, str]:
        r = await client.get(
            enrollments_url(), headers=v2, params={"sessionId[eq]": session["_id"]}
        )
        return {e["userId"]: e["status"] for e in r.json()}

    assert world.owner not in await enrolled_now()
    r = await admin(
        client, "PUT", members_url(world, world.sales_group), json={"add": [world.owner]}
    )
    assert r.status_code == 200, r.text
    assert {"userId": world.owner, "role": "learner"} in r.json()
    assert (await enrolled_now())[world.owner] == "published"

    r = await admin(
        client, "PUT", members_url(world, world.sales_group), json={"remove": [world.owner]}
    )
    assert r.status_code == 200, r.text
    assert world.owner not in [m["userId"] for m in r.json()]
    assert (await enrolled_now())[world.owner] == "archived"

    r = await admin(
        client,
        "PUT",
        members_url(world, world.root_group),
        json={"add": [world.owner], "role": "author"},
    )
    assert r.status_code == 200, r.text
    # A role in the parent group does not make a member of Sales; `author` is `editor`.
    assert {"userId": world.owner, "role": "editor"} in r.json()
    assert (await enrolled_now())[world.owner] == "archived"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"add": ["nope"]}, 400, "add[0]: not a valid id"),
        ({"add": ["5f1b2c3d4e5f60718293a4ff"]}, 400, "users: not users of the company"),
        ({"add": [], "remove": [], "role": "boss"}, 400, "role: must be one of"),
        ({"members": []}, 400, "members: unknown field"),
    ],
)
async def test_a_bad_membership_change_changes_nothing(
    client: httpx.AsyncClient,
    world: World,
    db: Database,
    body: dict[str, Any],
    status: int,
    message: str,
) -> None:
    before = await db.fetchall("SELECT * FROM user_roles ORDER BY user_id, group_id")
    r = await admin(client, "PUT", members_url(world, world.sales_group), json=body)
    assert (r.status_code, r.json()["message"][: len(message)]) == (status, message)
    assert await db.fetchall("SELECT * FROM user_roles ORDER BY user_id, group_id") == before


async def test_members_of_another_company(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    [(other_user,), *_] = await db.fetchall(
        "SELECT id FROM users WHERE company_id = ?", world.other_company
    )
    before = await db.fetchall("SELECT * FROM user_roles ORDER BY user_id, group_id")
    # Another company's user into ours: refused, as unknown.
    r = await admin(
        client, "PUT", members_url(world, world.sales_group), json={"add": [other_user]}
    )
    assert r.status_code == 400
    # Our group named under another company: not found.
    url = f"/companies/{world.other_company}/groups/{world.sales_group}/members"
    r = await admin(client, "PUT", url, json={"add": [other_user]})
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    assert await db.fetchall("SELECT * FROM user_roles ORDER BY user_id, group_id") == before
