"""Enrolling users and groups in a path session (docs/api.md, "The other path-session endpoints"),
through the real app.

`PATCH`/`DELETE /api/v1/paths/sessions/{id}/users` with `userEmails` or `userIds`,
`PATCH`/`DELETE …/groups` with `groupIds`, `GET …/users`. Every error test checks that the
enrolments did not change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pathsessions.core.clock import SettableClock
from pathsessions.storage import Database
from support import JSON_TYPE, UNKNOWN_ID, World, create_other, error, valid_body
from support.catalogue import CATALOGUE

ENROLLED = b'{"status":"users_enrolled"}'
UNENROLLED = b'{"status":"users_unenrolled"}'
GROUPS_ENROLLED = b'{"status":"groups_enrolled"}'
GROUPS_UNENROLLED = b'{"status":"groups_unenrolled"}'


def url(session_id: str, kind: str = "users") -> str:
    return f"/api/v1/paths/sessions/{session_id}/{kind}"


async def create(client: httpx.AsyncClient, world: World) -> str:
    r = await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    assert r.status_code == 200, r.text
    session_id = r.json()["_id"]
    assert isinstance(session_id, str)
    return session_id


async def send(
    client: httpx.AsyncClient,
    world: World,
    method: str,
    session_id: str,
    body: Any,
    kind: str = "users",
) -> httpx.Response:
    if isinstance(body, bytes):
        return await client.request(
            method, url(session_id, kind), content=body, headers=world.headers
        )
    return await client.request(method, url(session_id, kind), json=body, headers=world.headers)


async def enrolled_user_ids(db: Database, session_id: str) -> list[str]:
    rows = await db.fetchall(
        "SELECT user_id FROM session_users WHERE session_id = ? AND status = 'published'"
        " ORDER BY user_id",
        session_id,
    )
    return [str(r[0]) for r in rows]


async def enrolled_group_ids(db: Database, session_id: str) -> list[str]:
    rows = await db.fetchall(
        "SELECT group_id FROM session_groups WHERE session_id = ? ORDER BY group_id", session_id
    )
    return [str(r[0]) for r in rows]


async def all_enrolments(db: Database) -> list[tuple[str, ...]]:
    users = await db.fetchall(
        "SELECT session_id, user_id, enrolled_at, status, archived_at FROM session_users"
        " ORDER BY session_id, user_id"
    )
    groups = await db.fetchall(
        "SELECT session_id, group_id, enrolled_at FROM session_groups ORDER BY session_id, group_id"
    )
    return [("u", *map(str, r)) for r in users] + [("g", *map(str, r)) for r in groups]


async def list_users(client: httpx.AsyncClient, world: World, session_id: str) -> Any:
    r = await client.get(url(session_id), headers=world.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == JSON_TYPE
    return r.json()


def person(world: World, who: str) -> dict[str, str]:
    people = {
        "owner": {
            "_id": world.owner,
            "mail": world.owner_mail,
            "firstName": "Olive",
            "lastName": "Owner",
        },
        "ines": {
            "_id": world.instructor,
            "mail": world.instructor_mail,
            "firstName": "Ines",
            "lastName": "Instructor",
        },
        "ivan": {
            "_id": world.second_instructor,
            "mail": world.second_instructor_mail,
            "firstName": "Ivan",
            "lastName": "Instructor",
        },
    }
    return people[who]


async def deleted_user_id(db: Database, world: World) -> str:
    row = await db.fetchone(
        "SELECT id FROM users WHERE company_id = ? AND mail_key = ?",
        world.company,
        world.deleted_mail,
    )
    assert row is not None
    return str(row[0])


async def other_user_id(db: Database, world: World) -> str:
    row = await db.fetchone(
        "SELECT id FROM users WHERE company_id = ? AND mail_key = ?",
        world.other_company,
        world.other_user_mail,
    )
    assert row is not None
    return str(row[0])


@pytest.fixture
def clock(settable_clock: SettableClock) -> Callable[[int], None]:
    return settable_clock.set


# --- Users: success ---------------------------------------------------------------------------


async def test_enrol_users_by_id(client: httpx.AsyncClient, world: World, db: Database) -> None:
    session_id = await create(client, world)
    assert await list_users(client, world, session_id) == []
    r = await send(
        client, world, "PATCH", session_id, {"userIds": [world.second_instructor, world.owner]}
    )
    assert r.status_code == 200, r.text
    assert r.content == ENROLLED
    assert r.headers["content-type"] == JSON_TYPE
    assert await enrolled_user_ids(db, session_id) == sorted([world.owner, world.second_instructor])
    users = await list_users(client, world, session_id)
    assert users == [person(world, "owner"), person(world, "ivan")]
    assert all(list(u) == ["_id", "mail", "firstName", "lastName"] for u in users)


async def test_enrol_users_by_email(client: httpx.AsyncClient, world: World, db: Database) -> None:
    session_id = await create(client, world)
    body = {"userEmails": ["  INES@Acme.Test ", "ivan@ACME.test"]}
    r = await send(client, world, "PATCH", session_id, body)
    assert r.status_code == 200, r.text
    assert r.content == ENROLLED
    assert await list_users(client, world, session_id) == [
        person(world, "ines"),
        person(world, "ivan"),
    ]


async def test_enrol_upper_case_ids(client: httpx.AsyncClient, world: World, db: Database) -> None:
    session_id = await create(client, world)
    r = await client.patch(
        url(session_id.upper()), json={"userIds": [world.owner.upper()]}, headers=world.headers
    )
    assert r.content == ENROLLED
    assert await enrolled_user_ids(db, session_id) == [world.owner]


async def test_enrol_is_idempotent(client: httpx.AsyncClient, world: World, db: Database) -> None:
    session_id = await create(client, world)
    body = {"userIds": [world.owner, world.owner.upper(), world.instructor]}
    for _ in range(2):
        r = await send(client, world, "PATCH", session_id, body)
        assert r.content == ENROLLED
    r = await send(client, world, "PATCH", session_id, {"userEmails": ["OWNER@acme.test"] * 3})
    assert r.content == ENROLLED
    assert await enrolled_user_ids(db, session_id) == sorted([world.owner, world.instructor])
    assert len(await list_users(client, world, session_id)) == 2


async def test_enrolment_order_kept(
    client: httpx.AsyncClient, world: World, db: Database, clock: Callable[[int], None]
) -> None:
    """Listed in enrolment order (ties by id); enrolling again keeps the first place."""
    session_id = await create(client, world)
    clock(1_900_000_000_000)
    await send(client, world, "PATCH", session_id, {"userIds": [world.second_instructor]})
    clock(1_900_000_000_001)
    await send(client, world, "PATCH", session_id, {"userIds": [world.instructor, world.owner]})
    clock(1_900_000_000_002)
    await send(client, world, "PATCH", session_id, {"userIds": [world.second_instructor]})
    users = await list_users(client, world, session_id)
    assert [u["_id"] for u in users] == [world.second_instructor, world.owner, world.instructor]


async def test_unenrol_users(client: httpx.AsyncClient, world: World, db: Database) -> None:
    session_id = await create(client, world)
    everyone = [world.owner, world.instructor, world.second_instructor]
    await send(client, world, "PATCH", session_id, {"userIds": everyone})
    r = await send(client, world, "DELETE", session_id, {"userEmails": ["IVAN@acme.test"]})
    assert r.status_code == 200, r.text
    assert r.content == UNENROLLED
    assert r.headers["content-type"] == JSON_TYPE
    assert await enrolled_user_ids(db, session_id) == [world.owner, world.instructor]
    r = await send(client, world, "DELETE", session_id, {"userIds": [world.owner]})
    assert r.content == UNENROLLED
    assert await list_users(client, world, session_id) == [person(world, "ines")]
    # Unenrolling someone not enrolled (but of the company) is a no-op.
    for _ in range(2):
        r = await send(client, world, "DELETE", session_id, {"userIds": [world.owner]})
        assert r.status_code == 200
        assert r.content == UNENROLLED
    assert await enrolled_user_ids(db, session_id) == [world.instructor]


async def test_unenrol_touches_only_this_session(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    first, second = await create(client, world), await create(client, world)
    for session_id in (first, second):
        await send(client, world, "PATCH", session_id, {"userIds": [world.owner]})
        await send(client, world, "PATCH", session_id, {"groupIds": [world.sales_group]}, "groups")
    await send(client, world, "DELETE", first, {"userIds": [world.owner]})
    await send(client, world, "DELETE", first, {"groupIds": [world.sales_group]}, "groups")
    assert await enrolled_user_ids(db, first) == []
    assert await enrolled_group_ids(db, first) == []
    assert await enrolled_user_ids(db, second) == [world.owner]
    assert await enrolled_group_ids(db, second) == [world.sales_group]


async def test_invited_user_can_be_enrolled(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await db.execute("UPDATE users SET status = 'invited' WHERE id = ?", world.instructor)
    session_id = await create(client, world)
    r = await send(client, world, "PATCH", session_id, {"userEmails": [world.instructor_mail]})
    assert r.content == ENROLLED
    assert await enrolled_user_ids(db, session_id) == [world.instructor]


@pytest.mark.parametrize("field", ["userEmails", "userIds"])
async def test_exactly_1000_items_accepted(
    client: httpx.AsyncClient, world: World, db: Database, field: str
) -> None:
    session_id = await create(client, world)
    item = world.owner_mail if field == "userEmails" else world.owner
    r = await send(client, world, "PATCH", session_id, {field: [item] * 1000})
    assert r.status_code == 200, r.text
    assert r.content == ENROLLED
    r = await send(client, world, "DELETE", session_id, {field: [item] * 1000})
    assert r.content == UNENROLLED
    assert await enrolled_user_ids(db, session_id) == []


async def test_form_bodies(client: httpx.AsyncClient, world: World, db: Database) -> None:
    session_id = await create(client, world)
    form = f"userEmails[]={world.owner_mail}&userEmails[]={world.instructor_mail}"
    r = await client.patch(
        url(session_id),
        content=form.encode(),
        headers={**world.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.content == ENROLLED
    assert await enrolled_user_ids(db, session_id) == sorted([world.owner, world.instructor])
    r = await client.request(
        "DELETE",
        url(session_id),
        content=f"userIds[0]={world.owner}".encode(),
        headers={**world.headers, "Content-Type": "application/json"},
    )
    assert r.content == UNENROLLED
    assert await enrolled_user_ids(db, session_id) == [world.instructor]
    # A single plain `userIds=x` is a string, not an array.
    r = await client.patch(
        url(session_id), content=f"userIds={world.owner}".encode(), headers=world.headers
    )
    assert r.content == error("invalid_users")
    r = await client.patch(
        url(session_id, "groups"),
        content=f"groupIds[]={world.root_group}".encode(),
        headers=world.headers,
    )
    assert r.content == GROUPS_ENROLLED
    assert await enrolled_group_ids(db, session_id) == [world.root_group]


async def test_unknown_fields_ignored(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)
    body = {"userIds": [world.owner], "groupIds": [world.root_group], "extra": 1}
    r = await send(client, world, "PATCH", session_id, body)
    assert r.content == ENROLLED
    assert await enrolled_group_ids(db, session_id) == []
    body = {"groupIds": [world.root_group], "userIds": "junk"}
    r = await send(client, world, "PATCH", session_id, body, "groups")
    assert r.content == GROUPS_ENROLLED
    assert await enrolled_user_ids(db, session_id) == [world.owner]


# --- Users: errors -----------------------------------------------------------------------------

INVALID_USERS = [
    {},
    {"userEmails": ["owner@acme.test"], "userIds": ["6b0000000000000000000001"]},
    {"userEmails": ["owner@acme.test"], "userIds": None},
    {"userEmails": [], "userIds": []},
    {"userEmails": []},
    {"userIds": []},
    {"userEmails": None},
    {"userIds": None},
    {"userEmails": "owner@acme.test"},
    {"userIds": "6b0000000000000000000001"},
    {"userEmails": {"0": "owner@acme.test"}},
    {"userIds": 5},
    {"userEmails": ["owner@acme.test", 5]},
    {"userEmails": ["owner@acme.test", None]},
    {"userEmails": ["owner@acme.test", "not-an-email"]},
    {"userEmails": ["owner@acme"]},
    {"userEmails": [["owner@acme.test"]]},
    {"userIds": ["6b0000000000000000000001", "xyz"]},
    {"userIds": ["6b00000000000000000000010"]},
    {"userIds": ["6b000000000000000000001"]},
    {"userIds": [1]},
    {"userIds": ["owner@acme.test"]},
    {"userEmails": ["owner@acme.test"] * 1001},
    {"userIds": ["6b0000000000000000000001"] * 1001},
    {"userEmails": ["nobody@acme.test", "bad"]},  # invalid before not found
    {"groupIds": ["6a0000000000000000000001"]},
]


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize("body", INVALID_USERS, ids=[str(i) for i in range(len(INVALID_USERS))])
async def test_invalid_users(
    client: httpx.AsyncClient, world: World, db: Database, method: str, body: Any
) -> None:
    session_id = await create(client, world)
    await send(client, world, "PATCH", session_id, {"userIds": [world.instructor]})
    before = await all_enrolments(db)
    r = await send(client, world, method, session_id, body)
    assert r.status_code == 400, r.text
    assert r.content == error("invalid_users")
    assert r.headers["content-type"] == JSON_TYPE
    assert await all_enrolments(db) == before


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize(
    "who",
    ["unknown-mail", "deleted-mail", "other-mail", "unknown-id", "deleted-id", "other-id"],
)
async def test_users_not_found(
    client: httpx.AsyncClient, world: World, db: Database, method: str, who: str
) -> None:
    session_id = await create(client, world)
    await send(client, world, "PATCH", session_id, {"userIds": [world.instructor]})
    before = await all_enrolments(db)
    if who.endswith("mail"):
        stranger = {
            "unknown-mail": "nobody@acme.test",
            "deleted-mail": world.deleted_mail.upper(),
            "other-mail": world.other_user_mail,
        }[who]
        body = {"userEmails": [world.owner_mail, world.instructor_mail, stranger]}
    else:
        stranger = {
            "unknown-id": UNKNOWN_ID,
            "deleted-id": await deleted_user_id(db, world),
            "other-id": await other_user_id(db, world),
        }[who]
        body = {"userIds": [world.owner, world.instructor, stranger]}
    r = await send(client, world, method, session_id, body)
    assert r.status_code == 400, r.text
    assert r.content == error("users_not_found")
    # Nothing changed: the valid users of the request were not enrolled nor unenrolled.
    assert await all_enrolments(db) == before


# --- Groups ---------------------------------------------------------------------------------------


async def test_enrol_and_unenrol_groups(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)
    body = {"groupIds": [world.sales_group, world.root_group.upper(), world.sales_group]}
    r = await send(client, world, "PATCH", session_id, body, "groups")
    assert r.status_code == 200, r.text
    assert r.content == GROUPS_ENROLLED
    assert r.headers["content-type"] == JSON_TYPE
    assert await enrolled_group_ids(db, session_id) == [world.root_group, world.sales_group]
    # Repeating is a no-op.
    r = await send(client, world, "PATCH", session_id, body, "groups")
    assert r.content == GROUPS_ENROLLED
    assert await enrolled_group_ids(db, session_id) == [world.root_group, world.sales_group]
    detail = (
        await client.get(f"/api/v1/paths/sessions/{session_id}", headers=world.headers)
    ).json()
    assert detail["groups"] == [
        {"_id": world.root_group, "name": "Acme"},
        {"_id": world.sales_group, "name": "Sales"},
    ]
    # Group members are not direct enrolments.
    assert detail["users"] == []
    assert await list_users(client, world, session_id) == []

    r = await send(client, world, "DELETE", session_id, {"groupIds": [world.root_group]}, "groups")
    assert r.status_code == 200, r.text
    assert r.content == GROUPS_UNENROLLED
    assert await enrolled_group_ids(db, session_id) == [world.sales_group]
    for _ in range(2):
        r = await send(
            client, world, "DELETE", session_id, {"groupIds": [world.root_group]}, "groups"
        )
        assert r.content == GROUPS_UNENROLLED
    assert await enrolled_group_ids(db, session_id) == [world.sales_group]


async def test_exactly_1000_group_ids(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)
    r = await send(
        client, world, "PATCH", session_id, {"groupIds": [world.root_group] * 1000}, "groups"
    )
    assert r.content == GROUPS_ENROLLED
    assert await enrolled_group_ids(db, session_id) == [world.root_group]


INVALID_GROUPS = [
    {},
    {"groupIds": None},
    {"groupIds": []},
    {"groupIds": "6a0000000000000000000001"},
    {"groupIds": 5},
    {"groupIds": {"0": "6a0000000000000000000001"}},
    {"groupIds": ["6a0000000000000000000001", "xyz"]},
    {"groupIds": ["6a00000000000000000000010"]},
    {"groupIds": [1]},
    {"groupIds": [None]},
    {"groupIds": ["6a0000000000000000000001"] * 1001},
    {"groupIds": [UNKNOWN_ID, "bad"]},  # invalid before not found
    {"userIds": ["6b0000000000000000000001"]},
    {"groupId": ["6a0000000000000000000001"]},
]


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize("body", INVALID_GROUPS, ids=[str(i) for i in range(len(INVALID_GROUPS))])
async def test_invalid_groups(
    client: httpx.AsyncClient, world: World, db: Database, method: str, body: Any
) -> None:
    session_id = await create(client, world)
    await send(client, world, "PATCH", session_id, {"groupIds": [world.sales_group]}, "groups")
    before = await all_enrolments(db)
    r = await send(client, world, method, session_id, body, "groups")
    assert r.status_code == 400, r.text
    assert r.content == error("invalid_groups")
    assert await all_enrolments(db) == before


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize(
    "stranger", [UNKNOWN_ID, "6a0000000000000000000009"], ids=["unknown", "other-company"]
)
async def test_groups_not_found(
    client: httpx.AsyncClient, world: World, db: Database, method: str, stranger: str
) -> None:
    session_id = await create(client, world)
    await send(client, world, "PATCH", session_id, {"groupIds": [world.sales_group]}, "groups")
    before = await all_enrolments(db)
    body = {"groupIds": [world.root_group, world.sales_group, stranger]}
    r = await send(client, world, method, session_id, body, "groups")
    assert r.status_code == 400, r.text
    assert r.content == error("groups_not_found")
    assert await all_enrolments(db) == before


# --- Session lookup, credentials, bodies (all five routes) -------------------------------------

# The enrolment routes: (method, "users" or "groups", a valid body), from the catalogue.
ROUTES = [
    (request.method, request.path.rsplit("/", 1)[-1], request.body)
    for request in map(
        CATALOGUE.__getitem__,
        [
            "listPathSessionUsers",
            "enrolPathSessionUsers",
            "unenrolPathSessionUsers",
            "enrolPathSessionGroups",
            "unenrolPathSessionGroups",
        ],
    )
]
ROUTE_IDS = [f"{method}-{kind}" for method, kind, _ in ROUTES]


@pytest.mark.parametrize(("method", "kind", "body"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize(
    "session_id", [UNKNOWN_ID, "xyz", "6f00000000000000000000ff0"], ids=["unknown", "xyz", "25"]
)
async def test_unknown_session(
    client: httpx.AsyncClient,
    world: World,
    db: Database,
    method: str,
    kind: str,
    body: Any,
    session_id: str,
) -> None:
    await create(client, world)
    for sent in (body, {}, b"{not json", {"userIds": [], "groupIds": 5}):
        if method == "GET" and sent is not body:
            continue
        r = await send(client, world, method, session_id, sent, kind)
        assert r.status_code == 404, r.text
        assert r.content == error("path_session_not_found")
        assert r.headers["content-type"] == JSON_TYPE
    assert await all_enrolments(db) == []


@pytest.mark.parametrize(("method", "kind", "body"), ROUTES, ids=ROUTE_IDS)
async def test_other_company_session(
    client: httpx.AsyncClient, world: World, db: Database, method: str, kind: str, body: Any
) -> None:
    other = await create_other(client, world)
    r = await send(client, world, method, other, body, kind)
    assert r.status_code == 404
    assert r.content == error("path_session_not_found")
    assert await all_enrolments(db) == []
    # And the other way round.
    acme = await create(client, world)
    r = await client.request(method, url(acme, kind), json=body, headers=world.other_headers)
    assert r.status_code == 404
    assert r.content == error("path_session_not_found")
    assert await all_enrolments(db) == []


@pytest.mark.parametrize(("method", "kind", "body"), ROUTES, ids=ROUTE_IDS)
async def test_credentials_first(
    client: httpx.AsyncClient, world: World, db: Database, method: str, kind: str, body: Any
) -> None:
    session_id = await create(client, world)
    for target in (session_id, UNKNOWN_ID):
        r = await client.request(method, url(target, kind), json=body)
        assert r.status_code == 401
        assert r.content == error("unauthorized")
        r = await client.request(
            method,
            url(target, kind),
            json=body,
            headers={"X-company-id": world.company, "X-apiKey": "nope"},
        )
        assert r.status_code == 401
        assert r.content == error("unauthorized")
    assert await all_enrolments(db) == []


@pytest.mark.parametrize(("method", "kind"), [(m, k) for m, k, _ in ROUTES if m != "GET"])
@pytest.mark.parametrize(
    "raw", [b"{not json", b"[]", b"null", b'"x"', "a=\xe9".encode()], ids=lambda r: repr(r)[:12]
)
async def test_invalid_body(
    client: httpx.AsyncClient, world: World, db: Database, method: str, kind: str, raw: bytes
) -> None:
    session_id = await create(client, world)
    r = await send(client, world, method, session_id, raw, kind)
    assert r.status_code == 400
    assert r.content == error("invalid_body")
    assert await all_enrolments(db) == []


async def test_get_users_trailing_slash_and_query_auth(
    client: httpx.AsyncClient, world: World
) -> None:
    session_id = await create(client, world)
    await send(client, world, "PATCH", session_id, {"userIds": [world.owner]})
    r = await client.get(url(session_id) + "/", params=world.query)
    assert r.status_code == 200
    assert r.json() == [person(world, "owner")]
    r = await client.get(url(session_id.upper()), headers=world.headers)
    assert r.json() == [person(world, "owner")]


async def test_deleting_the_session_removes_enrolments(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)
    await send(client, world, "PATCH", session_id, {"userIds": [world.owner]})
    await send(client, world, "PATCH", session_id, {"groupIds": [world.root_group]}, "groups")
    r = await client.delete(f"/api/v1/paths/sessions/{session_id}", headers=world.headers)
    assert r.status_code == 200
    assert await all_enrolments(db) == []
    for method, kind, body in ROUTES:
        r = await send(client, world, method, session_id, body, kind)
        assert r.status_code == 404
        assert r.content == error("path_session_not_found")


async def test_1000_distinct_users_and_groups(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    """The largest request, with every item distinct: one query each way, no parameter limit."""
    user_ids = [f"6e{i:022x}" for i in range(1000)]
    await db.executemany(
        "INSERT INTO users (id, company_id, mail, mail_key, first_name, last_name, status,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (uid, world.company, f"u{i}@acme.test", f"u{i}@acme.test", "F", "L", "active", 0)
            for i, uid in enumerate(user_ids)
        ],
    )
    group_ids = [f"6d{i:022x}" for i in range(1000)]
    await db.executemany(
        "INSERT INTO company_groups (id, company_id, name, public, parent_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(gid, world.company, f"G{i}", False, None, 0) for i, gid in enumerate(group_ids)],
    )
    session_id = await create(client, world)
    mails = [f"U{i}@ACME.test" for i in range(1000)]
    r = await send(client, world, "PATCH", session_id, {"userEmails": mails})
    assert r.content == ENROLLED
    r = await send(client, world, "PATCH", session_id, {"groupIds": group_ids}, "groups")
    assert r.content == GROUPS_ENROLLED
    assert await enrolled_user_ids(db, session_id) == user_ids
    assert await enrolled_group_ids(db, session_id) == group_ids
    users = await list_users(client, world, session_id)
    assert [u["_id"] for u in users] == user_ids
    detail = (
        await client.get(f"/api/v1/paths/sessions/{session_id}", headers=world.headers)
    ).json()
    assert len(detail["users"]) == 1000
    assert [g["_id"] for g in detail["groups"]] == group_ids
    # One unknown among 1000: nothing happens.
    r = await send(client, world, "DELETE", session_id, {"userIds": [*user_ids[:999], UNKNOWN_ID]})
    assert r.content == error("users_not_found")
    assert len(await enrolled_user_ids(db, session_id)) == 1000
    r = await send(client, world, "DELETE", session_id, {"userIds": user_ids})
    assert r.content == UNENROLLED
    r = await send(client, world, "DELETE", session_id, {"groupIds": group_ids}, "groups")
    assert r.content == GROUPS_UNENROLLED
    # Unenrolled users keep their enrollment, archived; groups leave no trace.
    assert {e[4] for e in await all_enrolments(db)} == {"archived"}
    assert await enrolled_user_ids(db, session_id) == []
    assert await enrolled_group_ids(db, session_id) == []


async def test_a_user_deleted_after_enrolment_is_no_longer_listed(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)
    r = await send(client, world, "PATCH", session_id, {"userIds": [world.owner, world.instructor]})
    assert r.status_code == 200, r.text
    await db.execute("UPDATE users SET status = 'deleted' WHERE id = ?", world.instructor)
    assert await list_users(client, world, session_id) == [person(world, "owner")]
    r = await client.get(f"/api/v1/paths/sessions/{session_id}", headers=world.headers)
    assert r.json()["users"] == [person(world, "owner")]
