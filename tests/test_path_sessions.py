"""List, read and delete path sessions (docs/api.md, "The other path-session endpoints"), through
the real app.

Also the family's shared conventions: trailing slashes, unknown methods, credentials.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import pathsessions.storage.sessions
from pathsessions.app import App
from pathsessions.core.values import format_date
from pathsessions.storage import Database
from pathsessions.web.asgi import StreamAborted
from support import (
    ITEM_KEYS,
    JSON_TYPE,
    UNKNOWN_ID,
    World,
    count_rows,
    create_other,
    error,
    valid_body,
)

LIST_URL = "/api/v1/paths/sessions"
DETAIL_KEYS = [*ITEM_KEYS, "path", "users", "groups"]
# The path as a session's detail embeds it: its own fields, not its sessionIds.
PATH_KEYS = ["_id", "name", "groupId", "status", "createdAt", "modifiedAt"]


def session_url(session_id: str) -> str:
    return f"{LIST_URL}/{session_id}"


async def create(client: httpx.AsyncClient, world: World, **overrides: Any) -> str:
    r = await client.post(world.sessions_url(), json=valid_body(**overrides), headers=world.headers)
    assert r.status_code == 200, r.text
    session_id = r.json()["_id"]
    assert isinstance(session_id, str)
    return session_id


async def stamps(db: Database, session_id: str) -> tuple[str, str]:
    row = await db.fetchone(
        "SELECT created_at, modified_at FROM path_sessions WHERE id = ?", session_id
    )
    assert row is not None
    return format_date(int(row[0])), format_date(int(row[1]))


async def path_object(db: Database, path_id: str) -> dict[str, Any]:
    row = await db.fetchone(
        "SELECT id, name, group_id, status, created_at, modified_at FROM paths WHERE id = ?",
        path_id,
    )
    assert row is not None
    return {
        "_id": row[0],
        "name": row[1],
        "groupId": row[2],
        "status": row[3],
        "createdAt": format_date(int(row[4])),
        "modifiedAt": format_date(int(row[5])),
    }


async def list_sessions(client: httpx.AsyncClient, world: World) -> list[dict[str, Any]]:
    r = await client.get(LIST_URL, headers=world.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == JSON_TYPE
    items = json.loads(r.content)
    assert isinstance(items, list)
    return items


async def enrol(
    client: httpx.AsyncClient, world: World, session_id: str, kind: str, body: dict[str, Any]
) -> None:
    r = await client.patch(f"{session_url(session_id)}/{kind}", json=body, headers=world.headers)
    assert r.status_code == 200, r.text


# --- GET /api/v1/paths/sessions -------------------------------------------------------------


async def test_list_empty_company(client: httpx.AsyncClient, world: World) -> None:
    await create_other(client, world)
    r = await client.get(LIST_URL, headers=world.headers)
    assert r.status_code == 200
    assert r.content == b"[]"
    assert r.headers["content-type"] == JSON_TYPE


async def test_list_item_shape(client: httpx.AsyncClient, world: World, db: Database) -> None:
    session_id = await create(client, world)
    created, modified = await stamps(db, session_id)
    items = await list_sessions(client, world)
    assert len(items) == 1
    assert list(items[0]) == ITEM_KEYS
    assert items[0] == {
        "sessionName": "Cohort 1",
        "sessionId": session_id,
        "sessionOwnerGroup": world.root_group,
        "pathId": world.path,
        "startDate": "2030-01-01T09:00:00.000Z",
        "endDate": "2030-01-02T17:00:00.000Z",
        "instructorsMails": [world.instructor_mail],
        "sessionAdditionalInformation": "REG-42",
        "createdAt": created,
        "modifiedAt": modified,
    }


async def test_list_item_absent_fields_are_null(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    body = {
        "sessionName": "  Minimal ",
        "startDate": "2030-05-16T23:00:00.123456+01:00",
        "sessionOwnerGroup": world.sales_group.upper(),
    }
    r = await client.post(world.sessions_url(), json=body, headers=world.headers)
    assert r.status_code == 200, r.text
    session_id = r.json()["_id"]
    created, modified = await stamps(db, session_id)
    items = await list_sessions(client, world)
    assert list(items[0]) == ITEM_KEYS
    assert items == [
        {
            "sessionName": "  Minimal ",
            "sessionId": session_id,
            "sessionOwnerGroup": world.sales_group,
            "pathId": world.path,
            "startDate": "2030-05-16T22:00:00.123Z",
            "endDate": None,
            "instructorsMails": [world.owner_mail],
            "sessionAdditionalInformation": None,
            "createdAt": created,
            "modifiedAt": modified,
        }
    ]
    # null is written out, not left out.
    r = await client.get(LIST_URL, headers=world.headers)
    assert b'"endDate":null' in r.content
    assert b'"sessionAdditionalInformation":null' in r.content


async def test_list_every_path_in_id_order(client: httpx.AsyncClient, world: World) -> None:
    ids = [await create(client, world, sessionName=f"S{i}") for i in range(3)]
    r = await client.post(
        world.sessions_url(world.archived_path), json=valid_body(), headers=world.headers
    )
    assert r.status_code == 200, r.text
    ids.append(r.json()["_id"])
    other = await create_other(client, world)
    items = await list_sessions(client, world)
    assert [item["sessionId"] for item in items] == sorted(ids)
    assert {item["pathId"] for item in items} == {world.path, world.archived_path}
    assert other not in [item["sessionId"] for item in items]


async def test_list_instructors_in_order(client: httpx.AsyncClient, world: World) -> None:
    mails = [world.second_instructor_mail, world.owner_mail, world.instructor_mail]
    await create(client, world, instructorsMails=[m.upper() for m in mails])
    items = await list_sessions(client, world)
    assert items[0]["instructorsMails"] == mails


async def test_list_other_company_sees_only_its_own(
    client: httpx.AsyncClient, world: World
) -> None:
    acme = await create(client, world)
    other = await create_other(client, world)
    r = await client.get(LIST_URL, headers=world.other_headers)
    assert r.status_code == 200
    assert [item["sessionId"] for item in r.json()] == [other]
    assert r.json()[0]["pathId"] == world.other_path
    assert r.json()[0]["instructorsMails"] == ["owner@other.test"]
    assert [item["sessionId"] for item in await list_sessions(client, world)] == [acme]


def make_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(96):024x}"


async def insert_sessions(
    db: Database, company: str, path: str, group: str, ids: list[str], instructors: list[str]
) -> None:
    """Sessions straight into the table (fast); every 7th with the given instructors."""
    rows = [
        (
            session_id,
            company,
            path,
            f"Bulk {session_id}",
            1_893_488_400_000 + i,
            None if i % 3 else 1_893_603_600_000 + i,
            group,
            None if i % 2 else f"info {i}",
            1_700_000_000_000 + i,
            1_700_000_000_500 + i,
        )
        for i, session_id in enumerate(ids)
    ]
    await db.executemany(
        "INSERT INTO path_sessions (id, company_id, path_id, name, start_date, end_date,"
        " owner_group_id, additional_information, created_at, modified_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    await db.executemany(
        "INSERT INTO session_instructors (session_id, position, user_id) VALUES (?, ?, ?)",
        [
            (session_id, position, user_id)
            for i, session_id in enumerate(ids)
            if i % 7 == 0
            for position, user_id in enumerate(instructors)
        ],
    )


@pytest.mark.parametrize("count", [499, 500, 501, 1000, 1203])
async def test_list_streams_every_session_exactly_once(
    client: httpx.AsyncClient, world: World, db: Database, count: int
) -> None:
    rng = random.Random(count)
    ids = list({make_id(rng) for _ in range(count)})
    assert len(ids) == count
    await insert_sessions(
        db,
        world.company,
        world.path,
        world.root_group,
        ids,
        [world.second_instructor, world.instructor],
    )
    other_ids = list({make_id(rng) for _ in range(600)} - set(ids))
    await insert_sessions(
        db, world.other_company, world.other_path, world.other_group, other_ids, []
    )
    r = await client.get(LIST_URL, headers=world.headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == JSON_TYPE
    assert "content-length" not in r.headers  # streamed, not built whole
    items = json.loads(r.content)  # valid JSON as a whole
    assert [item["sessionId"] for item in items] == sorted(ids)
    by_id = {session_id: i for i, session_id in enumerate(ids)}
    for item in items:
        assert list(item) == ITEM_KEYS
        i = by_id[item["sessionId"]]
        assert item == {
            "sessionName": f"Bulk {item['sessionId']}",
            "sessionId": item["sessionId"],
            "sessionOwnerGroup": world.root_group,
            "pathId": world.path,
            "startDate": format_date(1_893_488_400_000 + i),
            "endDate": None if i % 3 else format_date(1_893_603_600_000 + i),
            "instructorsMails": (
                [world.second_instructor_mail, world.instructor_mail] if i % 7 == 0 else []
            ),
            "sessionAdditionalInformation": None if i % 2 else f"info {i}",
            "createdAt": format_date(1_700_000_000_000 + i),
            "modifiedAt": format_date(1_700_000_000_500 + i),
        }
    r = await client.get(LIST_URL, headers=world.other_headers)
    assert [item["sessionId"] for item in r.json()] == sorted(other_ids)


async def test_list_needs_credentials(client: httpx.AsyncClient, world: World) -> None:
    await create(client, world)
    r = await client.get(LIST_URL)
    assert r.status_code == 401
    assert r.content == error("unauthorized")
    r = await client.get(LIST_URL, headers={"X-company-id": world.company, "X-apiKey": "no"})
    assert r.status_code == 401
    assert r.content == error("unauthorized")


async def test_list_with_query_credentials(client: httpx.AsyncClient, world: World) -> None:
    session_id = await create(client, world)
    r = await client.get(LIST_URL, params=world.query)
    assert r.status_code == 200
    assert [item["sessionId"] for item in r.json()] == [session_id]


# --- GET /api/v1/paths/sessions/{id} ----------------------------------------------------------


async def test_get_detail_shape(client: httpx.AsyncClient, world: World, db: Database) -> None:
    session_id = await create(client, world)
    created, modified = await stamps(db, session_id)
    r = await client.get(session_url(session_id), headers=world.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == JSON_TYPE
    body = r.json()
    assert list(body) == DETAIL_KEYS
    assert list(body["path"]) == PATH_KEYS
    assert body == {
        "sessionName": "Cohort 1",
        "sessionId": session_id,
        "sessionOwnerGroup": world.root_group,
        "pathId": world.path,
        "startDate": "2030-01-01T09:00:00.000Z",
        "endDate": "2030-01-02T17:00:00.000Z",
        "instructorsMails": [world.instructor_mail],
        "sessionAdditionalInformation": "REG-42",
        "createdAt": created,
        "modifiedAt": modified,
        "path": await path_object(db, world.path),
        "users": [],
        "groups": [],
    }
    assert body["path"]["name"] == "Onboarding"
    assert body["path"]["status"] == "published"
    # The same item as in the list.
    items = await list_sessions(client, world)
    assert items == [{k: body[k] for k in ITEM_KEYS}]


async def test_get_detail_embeds_its_path_without_session_ids(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    first = await create(client, world)
    await create(client, world)
    r = await client.post(
        world.sessions_url(world.archived_path), json=valid_body(), headers=world.headers
    )
    archived = r.json()["_id"]
    r = await client.get(session_url(first), headers=world.headers)
    assert r.json()["path"] == await path_object(db, world.path)
    r = await client.get(session_url(archived), headers=world.headers)
    assert r.json()["path"] == await path_object(db, world.archived_path)
    assert r.json()["path"]["status"] == "archived"
    assert r.json()["path"]["name"] == "Old path"


async def test_get_detail_shows_enrolled_users_and_groups(
    client: httpx.AsyncClient, world: World
) -> None:
    session_id = await create(client, world)
    await enrol(
        client, world, session_id, "users", {"userIds": [world.second_instructor, world.owner]}
    )
    await enrol(client, world, session_id, "groups", {"groupIds": [world.sales_group]})
    r = await client.get(session_url(session_id), headers=world.headers)
    body = r.json()
    # Enrolled in one request: same instant, so by id.
    assert body["users"] == [
        {"_id": world.owner, "mail": world.owner_mail, "firstName": "Olive", "lastName": "Owner"},
        {
            "_id": world.second_instructor,
            "mail": world.second_instructor_mail,
            "firstName": "Ivan",
            "lastName": "Instructor",
        },
    ]
    for user in body["users"]:
        assert list(user) == ["_id", "mail", "firstName", "lastName"]
    # Ines is a member of Sales, but only directly enrolled users are listed.
    assert body["groups"] == [{"_id": world.sales_group, "name": "Sales"}]
    assert list(body["groups"][0]) == ["_id", "name"]


async def test_get_upper_case_id_found(client: httpx.AsyncClient, world: World) -> None:
    session_id = await create(client, world)
    r = await client.get(session_url(session_id.upper()), headers=world.headers)
    assert r.status_code == 200, r.text
    assert r.json()["sessionId"] == session_id


@pytest.mark.parametrize(
    "session_id",
    [
        UNKNOWN_ID,
        "xyz",
        "6f00000000000000000000ff0",
        "6f00000000000000000000f",
        "zz00000000000000000000ff",
        "6f00000000000000000000f%20",
        "%20",
    ],
    ids=["unknown", "xyz", "25-hex", "23-hex", "not-hex", "space", "blank"],
)
async def test_get_unknown_or_malformed_not_found(
    client: httpx.AsyncClient, world: World, session_id: str
) -> None:
    await create(client, world)
    r = await client.get(session_url(session_id), headers=world.headers)
    assert r.status_code == 404
    assert r.content == error("path_session_not_found")
    assert r.headers["content-type"] == JSON_TYPE


async def test_get_other_company_session_not_found(client: httpx.AsyncClient, world: World) -> None:
    other = await create_other(client, world)
    acme = await create(client, world)
    r = await client.get(session_url(other), headers=world.headers)
    assert r.status_code == 404
    assert r.content == error("path_session_not_found")
    r = await client.get(session_url(acme), headers=world.other_headers)
    assert r.status_code == 404
    assert r.content == error("path_session_not_found")
    r = await client.get(session_url(other), headers=world.other_headers)
    assert r.status_code == 200


async def test_get_needs_credentials_before_lookup(client: httpx.AsyncClient, world: World) -> None:
    session_id = await create(client, world)
    for url in (session_url(session_id), session_url(UNKNOWN_ID), session_url("xyz")):
        r = await client.get(url)
        assert r.status_code == 401
        assert r.content == error("unauthorized")


# --- DELETE /api/v1/paths/sessions/{id} -------------------------------------------------------


async def rows_of(db: Database, table: str, session_id: str) -> int:
    row = await db.fetchone(f"SELECT COUNT(*) FROM {table} WHERE session_id = ?", session_id)
    assert row is not None
    return int(row[0])


async def test_delete(client: httpx.AsyncClient, world: World, db: Database) -> None:
    doomed = await create(client, world, instructorsMails=[world.instructor_mail, world.owner_mail])
    kept = await create(client, world)
    for session_id in (doomed, kept):
        await enrol(client, world, session_id, "users", {"userIds": [world.second_instructor]})
        await enrol(client, world, session_id, "groups", {"groupIds": [world.sales_group]})
    assert await rows_of(db, "session_instructors", doomed) == 2
    assert await rows_of(db, "session_users", doomed) == 1
    assert await rows_of(db, "session_groups", doomed) == 1

    r = await client.delete(session_url(doomed), headers=world.headers)
    assert r.status_code == 200, r.text
    assert r.content == b'{"status":"path_session_deleted"}'
    assert r.headers["content-type"] == JSON_TYPE

    for table in ("session_instructors", "session_users", "session_groups"):
        assert await rows_of(db, table, doomed) == 0, table
    assert await rows_of(db, "session_instructors", kept) == 1
    assert await rows_of(db, "session_users", kept) == 1
    assert await rows_of(db, "session_groups", kept) == 1
    assert await count_rows(db, "path_sessions") == 1
    # Users and groups themselves stay.
    assert await count_rows(db, "users") == 6
    assert await count_rows(db, "company_groups") == 3

    r = await client.get(session_url(doomed), headers=world.headers)
    assert r.status_code == 404
    assert r.content == error("path_session_not_found")
    assert [item["sessionId"] for item in await list_sessions(client, world)] == [kept]
    r = await client.get(f"/api/v1/paths/{world.path}", headers=world.headers)
    assert r.json()["sessionIds"] == [kept]

    r = await client.delete(session_url(doomed), headers=world.headers)
    assert r.status_code == 404
    assert r.content == error("path_session_not_found")


async def test_delete_upper_case_id(client: httpx.AsyncClient, world: World, db: Database) -> None:
    session_id = await create(client, world)
    r = await client.delete(session_url(session_id.upper()) + "/", headers=world.headers)
    assert r.status_code == 200, r.text
    assert r.content == b'{"status":"path_session_deleted"}'
    assert await count_rows(db, "path_sessions") == 0


@pytest.mark.parametrize("session_id", [UNKNOWN_ID, "xyz", "6f00000000000000000000ff0"])
async def test_delete_unknown_or_malformed(
    client: httpx.AsyncClient, world: World, db: Database, session_id: str
) -> None:
    await create(client, world)
    r = await client.delete(session_url(session_id), headers=world.headers)
    assert r.status_code == 404
    assert r.content == error("path_session_not_found")
    assert await count_rows(db, "path_sessions") == 1


async def test_delete_other_company_session(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    other = await create_other(client, world)
    r = await client.delete(session_url(other), headers=world.headers)
    assert r.status_code == 404
    assert r.content == error("path_session_not_found")
    r = await client.get(session_url(other), headers=world.other_headers)
    assert r.status_code == 200
    assert await count_rows(db, "path_sessions") == 1


async def test_delete_needs_credentials(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)
    r = await client.delete(session_url(session_id))
    assert r.status_code == 401
    assert r.content == error("unauthorized")
    r = await client.delete(session_url(session_id), headers=world.other_headers)
    assert r.status_code == 404
    assert await count_rows(db, "path_sessions") == 1


async def test_delete_ignores_body(client: httpx.AsyncClient, world: World, db: Database) -> None:
    session_id = await create(client, world)
    r = await client.request(
        "DELETE", session_url(session_id), content=b"{not json", headers=world.headers
    )
    assert r.status_code == 200, r.text
    assert r.content == b'{"status":"path_session_deleted"}'
    assert await count_rows(db, "path_sessions") == 0


# --- Routing conventions ------------------------------------------------------------------------


async def test_trailing_slash_everywhere(client: httpx.AsyncClient, world: World) -> None:
    session_id = await create(client, world)
    h = world.headers
    for slash in ("", "/"):
        r = await client.get(LIST_URL + slash, headers=h)
        assert r.status_code == 200, slash
        assert [item["sessionId"] for item in r.json()] == [session_id]
        r = await client.get(session_url(session_id) + slash, headers=h)
        assert r.status_code == 200, slash
        assert r.json()["sessionId"] == session_id
        r = await client.get(session_url(session_id) + "/users" + slash, headers=h)
        assert r.status_code == 200, slash
        assert r.content == b"[]"
        r = await client.patch(
            session_url(session_id) + "/users" + slash, json={"userIds": [world.owner]}, headers=h
        )
        assert r.content == b'{"status":"users_enrolled"}', slash
        r = await client.request(
            "DELETE",
            session_url(session_id) + "/users" + slash,
            json={"userIds": [world.owner]},
            headers=h,
        )
        assert r.content == b'{"status":"users_unenrolled"}', slash
        r = await client.patch(
            session_url(session_id) + "/groups" + slash,
            json={"groupIds": [world.root_group]},
            headers=h,
        )
        assert r.content == b'{"status":"groups_enrolled"}', slash
        r = await client.request(
            "DELETE",
            session_url(session_id) + "/groups" + slash,
            json={"groupIds": [world.root_group]},
            headers=h,
        )
        assert r.content == b'{"status":"groups_unenrolled"}', slash
        r = await client.patch(
            session_url(session_id) + slash,
            json=valid_body(sessionName=f"Renamed{slash}"),
            headers=h,
        )
        assert r.status_code == 200, r.text
        assert r.json()["sessionName"] == f"Renamed{slash}"
    other = await create(client, world)
    for target in (session_id, other):
        slash = "/" if target == other else ""
        r = await client.delete(session_url(target) + slash, headers=h)
        assert r.content == b'{"status":"path_session_deleted"}', slash


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_empty_session_id_segment(
    client: httpx.AsyncClient, world: World, db: Database, method: str
) -> None:
    """`/api/v1/paths/sessions/{sessionId}` with an empty id (as the create route's
    `/paths//sessions/`): the by-id route answers, so credentials come first, then its 404."""
    await create(client, world)
    body = valid_body() if method != "GET" else None
    for url in (LIST_URL + "//", session_url("") + "/users/", LIST_URL + "/"):
        if url == LIST_URL + "/" and method == "GET":
            continue  # that is the list itself
        r = await client.request(method, url, json=body)
        assert r.status_code == 401, url
        assert r.content == error("unauthorized")
        r = await client.request(method, url, json=body, headers=world.headers)
        assert r.status_code == 404, url
        assert r.content == error("path_session_not_found"), url
    assert await count_rows(db, "path_sessions") == 1


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("PUT", "/{id}"),
        ("POST", "/{id}"),
        ("POST", ""),
        ("PUT", ""),
        ("DELETE", ""),  # without a slash only: `sessions/` is `sessions/{sessionId}` with ""
        ("PATCH", ""),
        ("POST", "/{id}/users"),
        ("PUT", "/{id}/users"),
        ("GET", "/{id}/groups"),
        ("POST", "/{id}/groups"),
        ("GET", "/{id}/unknown"),
    ],
)
async def test_wrong_method_or_route_not_found(
    client: httpx.AsyncClient, app: App, world: World, method: str, suffix: str
) -> None:
    session_id = await create(client, world)
    url = LIST_URL + suffix.replace("{id}", session_id)
    for headers in (world.headers, {}):
        for slash in ("", "/") if suffix or method not in ("DELETE", "PATCH") else ("",):
            r = await client.request(method, url + slash, json=valid_body(), headers=headers)
            assert r.status_code == 404, (method, url)
            assert r.headers["content-type"] == JSON_TYPE
            assert (
                r.content
                == json.dumps(
                    {"message": "Not Found", "documentation_url": app.settings.docs_url},
                    separators=(",", ":"),
                ).encode()
            )
    # Nothing happened to the session.
    r = await client.get(session_url(session_id), headers=world.headers)
    assert r.json()["sessionName"] == "Cohort 1"


async def test_a_list_failing_before_its_first_byte_is_a_500(
    client: httpx.AsyncClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(db: Any, company_id: str, batch: int = 500) -> AsyncIterator[list[Any]]:
        raise RuntimeError("SELECT " + "secret".upper())
        yield []  # pragma: no cover - makes this an async generator

    monkeypatch.setattr("pathsessions.storage.sessions.iter_sessions", broken)
    r = await client.get("/api/v1/paths/sessions", headers=world.headers)
    assert r.status_code == 500
    match = re.fullmatch(rb'\{"error":"an error occurred: ([0-9a-f]{32})"\}', r.content)
    assert match is not None, r.content
    assert match.group(1).decode() in caplog.text
    assert "SECRET" not in caplog.text


async def test_a_list_failing_midway_is_cut_short_and_logged(
    client: httpx.AsyncClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = pathsessions.storage.sessions.iter_sessions

    async def failing(db: Any, company_id: str, batch: int = 500) -> AsyncIterator[Any]:
        async for rows in real(db, company_id, batch):
            yield rows
        raise RuntimeError("SELECT " + "secret".upper())

    await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    monkeypatch.setattr("pathsessions.storage.sessions.iter_sessions", failing)
    # The connection is broken off: the in-process transport re-raises what the app raised.
    with pytest.raises(StreamAborted) as aborted:
        await client.get("/api/v1/paths/sessions", headers=world.headers)
    error_id = str(aborted.value)
    assert re.fullmatch(r"[0-9a-f]{32}", error_id)
    assert f"error_id={error_id} unhandled RuntimeError" in caplog.text
    assert "SECRET" not in caplog.text
    assert aborted.value.__cause__ is None
    assert aborted.value.__suppress_context__


async def test_a_list_stops_when_its_client_has_gone(app: App, world: World, db: Database) -> None:
    rng = random.Random(7)
    ids = list({make_id(rng) for _ in range(1203)})
    await insert_sessions(db, world.company, world.path, world.root_group, ids, [])
    chunks: list[bytes] = []
    calls = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        while not chunks:  # the client leaves as soon as the first chunk has arrived
            await asyncio.sleep(0)
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message["body"])

    scope = {
        "type": "http",
        "method": "GET",
        "path": LIST_URL,
        "raw_path": LIST_URL.encode(),
        "query_string": b"",
        "headers": [(b"x-company-id", world.company.encode()), (b"x-apikey", world.key.encode())],
    }
    await app(scope, receive, send)
    # Chunks of 50 sessions: a complete answer would take 25 and the closing bracket.
    assert len([c for c in chunks if c]) == 1
    assert chunks[0].startswith(b'[{"sessionName"')
