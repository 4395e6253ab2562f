"""Reading the company's groups, users and paths (docs/api.md, "The company's groups, users and
paths"), through the real app."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from pathsessions.app import App
from pathsessions.core.values import format_date
from pathsessions.storage import Database
from support import JSON_TYPE, UNKNOWN_ID, World, error, valid_body


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


async def get_ok(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    r = await client.get(url, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == JSON_TYPE
    return r


async def user_id(db: Database, company: str, mail: str) -> str:
    row = await db.fetchone(
        "SELECT id FROM users WHERE company_id = ? AND mail_key = ?", company, mail
    )
    assert row is not None
    return str(row[0])


async def path_stamps(db: Database, path_id: str) -> tuple[str, str]:
    row = await db.fetchone("SELECT created_at, modified_at FROM paths WHERE id = ?", path_id)
    assert row is not None
    return format_date(int(row[0])), format_date(int(row[1]))


async def create_session(
    client: httpx.AsyncClient, world: World, path: str, headers: dict[str, str] | None = None
) -> str:
    body = valid_body()
    if headers is not None:
        body = valid_body(sessionOwnerGroup=world.other_group, instructorsMails=[])
    r = await client.post(
        world.sessions_url(path), json=body, headers=headers if headers else world.headers
    )
    assert r.status_code == 200, r.text
    session_id = r.json()["_id"]
    assert isinstance(session_id, str)
    return session_id


def acme_groups(world: World) -> list[dict[str, Any]]:
    return [
        {"_id": world.root_group, "name": "Acme", "public": True},
        {"_id": world.sales_group, "name": "Sales", "public": False, "parent": world.root_group},
    ]


def acme_users(world: World) -> list[dict[str, Any]]:
    return [
        {"_id": world.owner, "mail": world.owner_mail, "firstName": "Olive", "lastName": "Owner"},
        {
            "_id": world.instructor,
            "mail": world.instructor_mail,
            "firstName": "Ines",
            "lastName": "Instructor",
        },
        {
            "_id": world.second_instructor,
            "mail": world.second_instructor_mail,
            "firstName": "Ivan",
            "lastName": "Instructor",
        },
    ]


# --- Groups -----------------------------------------------------------------------------------


async def test_list_groups(client: httpx.AsyncClient, world: World) -> None:
    r = await get_ok(client, "/api/v1/groups", world.headers)
    assert r.content == compact(acme_groups(world))
    r = await get_ok(client, "/api/v1/groups/", world.other_headers)
    assert r.content == compact([{"_id": world.other_group, "name": "Other", "public": False}])


async def test_list_groups_streams_many(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    rows = [
        (f"6d{i:022x}", world.company, f"G{i}", i % 2 == 0, world.root_group if i % 3 else None, 0)
        for i in range(1203)
    ]
    rows.reverse()
    await db.executemany(
        "INSERT INTO company_groups (id, company_id, name, public, parent_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    r = await get_ok(client, "/api/v1/groups", world.headers)
    assert "content-length" not in r.headers
    groups = r.json()
    expected = acme_groups(world) + [
        {"_id": f"6d{i:022x}", "name": f"G{i}", "public": i % 2 == 0}
        | ({"parent": world.root_group} if i % 3 else {})
        for i in range(1203)
    ]
    assert groups == expected
    assert [g["_id"] for g in groups] == sorted(g["_id"] for g in groups)
    r = await get_ok(client, "/api/v1/groups", world.other_headers)
    assert len(r.json()) == 1


async def test_get_group(client: httpx.AsyncClient, world: World) -> None:
    root, sales = acme_groups(world)
    r = await get_ok(client, f"/api/v1/groups/{world.root_group}", world.headers)
    assert r.content == compact(root)
    r = await get_ok(client, f"/api/v1/groups/{world.sales_group}/", world.headers)
    assert r.content == compact(sales)
    r = await get_ok(client, f"/api/v1/groups/{world.sales_group.upper()}", world.headers)
    assert r.content == compact(sales)
    r = await get_ok(client, f"/api/v1/groups/{world.other_group}", world.other_headers)
    assert r.json() == {"_id": world.other_group, "name": "Other", "public": False}


@pytest.mark.parametrize(
    "group_id",
    [
        UNKNOWN_ID,
        "xyz",
        "6a00000000000000000000010",
        "6a000000000000000000001",
        "6a0000000000000000000009",
    ],
    ids=["unknown", "xyz", "25-hex", "23-hex", "other-company"],
)
async def test_get_group_not_found(client: httpx.AsyncClient, world: World, group_id: str) -> None:
    r = await client.get(f"/api/v1/groups/{group_id}", headers=world.headers)
    assert r.status_code == 404
    assert r.content == error("group_not_found")
    assert r.headers["content-type"] == JSON_TYPE


# --- Users ------------------------------------------------------------------------------------


async def test_list_users(client: httpx.AsyncClient, world: World, db: Database) -> None:
    r = await get_ok(client, "/api/v1/users", world.headers)
    assert r.content == compact(acme_users(world))
    assert world.deleted_mail not in r.text
    r = await get_ok(client, "/api/v1/users/", world.other_headers)
    olga = await user_id(db, world.other_company, world.other_user_mail)
    owner = await user_id(db, world.other_company, "owner@other.test")
    expected = sorted(
        [
            {"_id": olga, "mail": world.other_user_mail, "firstName": "Olga", "lastName": ""},
            {"_id": owner, "mail": "owner@other.test", "firstName": "", "lastName": ""},
        ],
        key=lambda u: u["_id"],
    )
    assert r.json() == expected


async def test_list_users_streams_many_without_deleted(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    rows = [
        (
            f"6e{i:022x}",
            world.company,
            f"User{i}@Acme.test",
            f"user{i}@acme.test",
            f"F{i}",
            f"L{i}",
            "deleted" if i % 5 == 0 else ("invited" if i % 5 == 1 else "active"),
            0,
        )
        for i in range(1203)
    ]
    await db.executemany(
        "INSERT INTO users (id, company_id, mail, mail_key, first_name, last_name, status,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    r = await get_ok(client, "/api/v1/users", world.headers)
    assert "content-length" not in r.headers
    expected = acme_users(world) + [
        {
            "_id": f"6e{i:022x}",
            "mail": f"User{i}@Acme.test",
            "firstName": f"F{i}",
            "lastName": f"L{i}",
        }
        for i in range(1203)
        if i % 5 != 0
    ]
    assert r.json() == expected


async def test_get_user_by_id_and_mail(client: httpx.AsyncClient, world: World) -> None:
    ines = acme_users(world)[1]
    for key in (
        world.instructor,
        world.instructor.upper(),
        world.instructor_mail,
        "INES@Acme.TEST",
        "ines%40acme.test",
    ):
        r = await get_ok(client, f"/api/v1/users/{key}", world.headers)
        assert r.content == compact(ines), key
        r = await get_ok(client, f"/api/v1/users/{key}/", world.headers)
        assert r.content == compact(ines), key


async def test_get_user_keeps_stored_mail_spelling(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await db.execute(
        "UPDATE users SET mail = 'Ivan@ACME.test' WHERE id = ?", world.second_instructor
    )
    r = await get_ok(client, "/api/v1/users/ivan@acme.test", world.headers)
    assert r.json()["mail"] == "Ivan@ACME.test"
    assert r.json()["_id"] == world.second_instructor


async def test_get_user_not_found(client: httpx.AsyncClient, world: World, db: Database) -> None:
    deleted = await user_id(db, world.company, world.deleted_mail)
    olga = await user_id(db, world.other_company, world.other_user_mail)
    for key in (
        "nobody@acme.test",
        UNKNOWN_ID,
        world.deleted_mail,
        world.deleted_mail.upper(),
        deleted,
        world.other_user_mail,
        olga,
        "owner@other.test",
        "xyz",
        "owner@acme",
        "6b00000000000000000000010",
    ):
        r = await client.get(f"/api/v1/users/{key}", headers=world.headers)
        assert r.status_code == 400, key
        assert r.content == error("user_not_found"), key
        assert r.headers["content-type"] == JSON_TYPE


async def test_other_company_reads_its_own_user(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    olga = await user_id(db, world.other_company, world.other_user_mail)
    r = await get_ok(client, f"/api/v1/users/{olga}", world.other_headers)
    assert r.json() == {"_id": olga, "mail": "olga@other.test", "firstName": "Olga", "lastName": ""}
    r = await client.get(f"/api/v1/users/{world.owner}", headers=world.other_headers)
    assert r.status_code == 400
    assert r.content == error("user_not_found")


# --- Paths ------------------------------------------------------------------------------------


async def test_list_paths(client: httpx.AsyncClient, world: World, db: Database) -> None:
    r = await get_ok(client, "/api/v1/paths", world.headers)
    created, modified = await path_stamps(db, world.path)
    archived_created, archived_modified = await path_stamps(db, world.archived_path)
    onboarding = {
        "_id": world.path,
        "name": "Onboarding",
        "groupId": world.root_group,
        "status": "published",
        "createdAt": created,
        "modifiedAt": modified,
        "sessionIds": [],
    }
    old = {
        "_id": world.archived_path,
        "name": "Old path",
        "groupId": world.root_group,
        "status": "archived",
        "createdAt": archived_created,
        "modifiedAt": archived_modified,
        "sessionIds": [],
    }
    assert r.content == compact([onboarding, old])
    sessions = sorted([await create_session(client, world, world.path) for _ in range(3)])
    archived_session = await create_session(client, world, world.archived_path)
    await create_session(client, world, world.other_path, world.other_headers)
    r = await get_ok(client, "/api/v1/paths/", world.headers)
    assert r.json() == [
        onboarding | {"sessionIds": sessions},
        old | {"sessionIds": [archived_session]},
    ]


async def test_list_paths_other_company(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create_session(client, world, world.other_path, world.other_headers)
    await create_session(client, world, world.path)
    created, modified = await path_stamps(db, world.other_path)
    r = await get_ok(client, "/api/v1/paths", world.other_headers)
    assert r.json() == [
        {
            "_id": world.other_path,
            "name": "Elsewhere",
            "groupId": world.other_group,
            "status": "published",
            "createdAt": created,
            "modifiedAt": modified,
            "sessionIds": [session_id],
        }
    ]


async def test_list_paths_streams_many(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    rows = [
        (f"6c1{i:021x}", world.company, f"P{i}", world.sales_group, "published", 1000 + i, 2000 + i)
        for i in range(1203)
    ]
    await db.executemany(
        "INSERT INTO paths (id, company_id, name, group_id, status, created_at, modified_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    session_id = await create_session(client, world, rows[777][0])
    r = await get_ok(client, "/api/v1/paths", world.headers)
    paths = r.json()
    assert [p["_id"] for p in paths] == [world.path, world.archived_path] + [row[0] for row in rows]
    assert paths[2 + 777]["sessionIds"] == [session_id]
    assert paths[2 + 5] == {
        "_id": rows[5][0],
        "name": "P5",
        "groupId": world.sales_group,
        "status": "published",
        "createdAt": "1970-01-01T00:00:01.005Z",
        "modifiedAt": "1970-01-01T00:00:02.005Z",
        "sessionIds": [],
    }
    assert sum(len(p["sessionIds"]) for p in paths) == 1


async def test_get_path(client: httpx.AsyncClient, world: World, db: Database) -> None:
    session_id = await create_session(client, world, world.path)
    created, modified = await path_stamps(db, world.path)
    expected = {
        "_id": world.path,
        "name": "Onboarding",
        "groupId": world.root_group,
        "status": "published",
        "createdAt": created,
        "modifiedAt": modified,
        "sessionIds": [session_id],
    }
    for key in (world.path, world.path.upper()):
        for slash in ("", "/"):
            r = await get_ok(client, f"/api/v1/paths/{key}{slash}", world.headers)
            assert r.content == compact(expected)
    r = await get_ok(client, f"/api/v1/paths/{world.archived_path}", world.headers)
    assert r.json()["status"] == "archived"
    assert r.json()["sessionIds"] == []


@pytest.mark.parametrize(
    "path_id",
    [
        UNKNOWN_ID,
        "xyz",
        "6c00000000000000000000010",
        "6c000000000000000000001",
        "6c0000000000000000000009",
    ],
    ids=["unknown", "xyz", "25-hex", "23-hex", "other-company"],
)
async def test_get_path_not_found(client: httpx.AsyncClient, world: World, path_id: str) -> None:
    r = await client.get(f"/api/v1/paths/{path_id}", headers=world.headers)
    assert r.status_code == 404
    assert r.content == error("path_not_found")
    assert r.headers["content-type"] == JSON_TYPE


# --- Credentials and methods ------------------------------------------------------------------

READ_URLS = [
    "/api/v1/groups",
    "/api/v1/groups/6a0000000000000000000001",
    "/api/v1/users",
    "/api/v1/users/6b0000000000000000000001",
    "/api/v1/users/owner@acme.test",
    "/api/v1/paths",
    "/api/v1/paths/6c0000000000000000000001",
    "/api/v1/groups/" + UNKNOWN_ID,
    "/api/v1/users/nobody@acme.test",
    "/api/v1/paths/" + UNKNOWN_ID,
]


@pytest.mark.parametrize("read_url", READ_URLS)
async def test_reads_need_credentials(
    client: httpx.AsyncClient, world: World, read_url: str
) -> None:
    wrong: list[dict[str, str]] = [
        {},
        {"X-company-id": world.company},
        {"X-apiKey": world.key},
        {"X-company-id": world.company, "X-apiKey": "wrong"},
        {"X-company-id": world.company, "X-apiKey": world.other_key},
        {"X-company-id": "xyz", "X-apiKey": world.key},
        {"X-company-id": UNKNOWN_ID, "X-apiKey": world.key},
    ]
    for headers in wrong:
        r = await client.get(read_url, headers=headers)
        assert r.status_code == 401, headers
        assert r.content == error("unauthorized")
        assert r.headers["content-type"] == JSON_TYPE
    r = await client.get(read_url, params={"company": world.company, "apiKey": "wrong"})
    assert r.status_code == 401


@pytest.mark.parametrize("read_url", READ_URLS[:7])
async def test_reads_with_query_credentials(
    client: httpx.AsyncClient, world: World, read_url: str
) -> None:
    by_query = await client.get(read_url, params=world.query)
    by_header = await client.get(read_url, headers=world.headers)
    assert by_query.status_code == 200
    assert by_query.content == by_header.content


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    ("method", "read_url"),
    [
        ("POST", "/api/v1/groups"),
        ("DELETE", "/api/v1/groups/6a0000000000000000000001"),
        ("PATCH", "/api/v1/users"),
        ("DELETE", "/api/v1/users/owner@acme.test"),
        ("PUT", "/api/v1/paths"),
        ("POST", "/api/v1/paths"),
        ("PATCH", "/api/v1/paths/6c0000000000000000000001"),
        ("DELETE", "/api/v1/paths/6c0000000000000000000001"),
        ("GET", "/api/v1/groups/6a0000000000000000000001/users"),
        ("GET", "/api/v1/group"),
    ],
)
async def test_wrong_method_not_found(
    client: httpx.AsyncClient, app: App, world: World, method: str, read_url: str
) -> None:
    for headers in (world.headers, {}):
        for slash in ("", "/"):
            r = await client.request(method, read_url + slash, headers=headers)
            assert r.status_code == 404, (method, read_url)
            assert r.content == compact(
                {"message": "Not Found", "documentation_url": app.settings.docs_url}
            )
