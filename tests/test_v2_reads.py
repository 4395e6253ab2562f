"""v2's reads of paths, users and roles (docs/api-v2.md, "Reads around sessions"), through
the real app: shapes, not-found, scopes, filters and pages.

Pages are the documented sizes (200 paths, 500 users, 1,000 roles): the rows that fill them
are written straight into the database, which takes milliseconds where loading them through
the fixture loader would take seconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from pathsessions.core.clock import SettableClock
from pathsessions.core.values import parse_date
from pathsessions.loader import load_document
from pathsessions.storage import Database
from support import JSON_TYPE, WORLD, World, world_document
from support.v2 import v2_headers
from support.world import ACME_DIRECTORY_READ, ACME_PATHS_READ, OTHER_FULL, Credential

T0 = "2030-01-01T00:00:00.000Z"
T1 = "2030-01-02T00:00:00.000Z"
CERTIFICATE = "6d00000000000000000000aa"
UNKNOWN = "6f00000000000000000000ff"
LINK = re.compile(r'<(?P<url>[^>]+)>; rel="next"')
OPTIONS_OFF = {
    "linearProgression": False,
    "mandatoryReplay": False,
    "displayForum": False,
    "displayClassroomMessages": False,
    "automatedReminders": False,
    "notificationOnStepCreation": False,
}
Params = Sequence[tuple[str, str]]


def ms(date: str) -> int:
    value = parse_date(date)
    assert value is not None
    return value


def acme(document: dict[str, Any]) -> dict[str, Any]:
    company: dict[str, Any] = document["companies"][0]
    return company


def with_v2_fields() -> dict[str, Any]:
    document = world_document()
    ines = next(u for u in acme(document)["users"] if u["mail"] == WORLD.instructor_mail)
    ines.update(
        lang="fr",
        username="ines",
        job="Trainer",
        organization="Acme Sales",
        phone="+33123456789",
        custom="Half-time",
    )
    acme(document)["paths"][0].update(
        author=WORLD.instructor_mail,
        certificateId=CERTIFICATE.upper(),
        defaultLang="pt_BR",
        description="How we work",
        additionalInformation="Internal 203",
    )
    return document


@pytest.fixture
async def loaded(db: Database, settable_clock: SettableClock) -> World:
    """The world with v2's fields set, loaded at T0."""
    settable_clock.set(ms(T0))
    await load_document(db, with_v2_fields(), clock=settable_clock)
    return WORLD


async def get(
    client: httpx.AsyncClient, url: str, params: Params = (), credential: Credential | None = None
) -> httpx.Response:
    h = await (v2_headers(client) if credential is None else v2_headers(client, credential))
    return await client.get(url, params=list(params), headers=h)


async def get_json(client: httpx.AsyncClient, url: str, params: Params = ()) -> Any:
    r = await get(client, url, params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == JSON_TYPE
    return r.json()


async def pages(client: httpx.AsyncClient, url: str, params: Params = ()) -> list[list[Any]]:
    """Every page of a list, following its `Link` headers."""
    h = await v2_headers(client)
    r = await client.get(url, params=list(params), headers=h)
    found = []
    while True:
        assert r.status_code == 200, r.text
        found.append(r.json())
        link = r.headers.get("link")
        if link is None:
            return found
        m = LINK.fullmatch(link)
        assert m is not None, link
        assert m["url"].startswith(f"http://testserver{url}?next="), link
        r = await client.get(m["url"], headers=h)


def ids(items: list[Any], key: str = "_id") -> list[str]:
    return [item[key] for item in items]


async def user_id(db: Database, mail: str) -> str:
    row = await db.fetchone("SELECT id FROM users WHERE mail_key = ?", mail)
    assert row is not None
    return str(row[0])


def object_id(prefix: str, n: int) -> str:
    return f"{prefix}{n:0{24 - len(prefix)}x}"


async def add_users(db: Database, prefix: str, n: int, status: str = "active") -> list[str]:
    """`n` users of ACME, ids starting with `prefix`, without names."""
    made = [object_id(prefix, i) for i in range(n)]
    await db.executemany(
        "INSERT INTO users (id, company_id, mail, mail_key, first_name, last_name, status,"
        " created_at) VALUES (?, ?, ?, ?, '', '', ?, 0)",
        [(i, WORLD.company, f"U{i}@Bulk.test", f"u{i}@bulk.test", status) for i in made],
    )
    return made


async def add_paths(db: Database, prefix: str, n: int, status: str, at: int) -> list[str]:
    made = [object_id(prefix, i) for i in range(n)]
    await db.executemany(
        "INSERT INTO paths (id, company_id, name, group_id, status, created_at, modified_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(i, WORLD.company, f"Path {i}", WORLD.root_group, status, at, at) for i in made],
    )
    return made


# --- Shapes ------------------------------------------------------------------------------


async def test_a_path_with_every_field(client: httpx.AsyncClient, loaded: World) -> None:
    w = loaded
    assert await get_json(client, f"/api/v2/paths/{w.path}") == {
        "_id": w.path,
        "name": "Onboarding",
        "groupId": w.root_group,
        "authorId": w.instructor,
        "coAuthorIds": [],
        "defaultLang": "pt_BR",
        "sourceLang": "en",
        "options": OPTIONS_OFF,
        "steps": [],
        "translations": [],
        "status": "published",
        "createdAt": T0,
        "modifiedAt": T0,
        "certificateId": CERTIFICATE,
        "description": "How we work",
        "additionalInformation": "Internal 203",
    }


async def test_a_path_with_the_defaults(client: httpx.AsyncClient, loaded: World) -> None:
    """No optional field, never a null; the platform owner is the author."""
    w = loaded
    assert await get_json(client, f"/api/v2/paths/{w.archived_path.upper()}") == {
        "_id": w.archived_path,
        "name": "Old path",
        "groupId": w.root_group,
        "authorId": w.owner,
        "coAuthorIds": [],
        "defaultLang": "en",
        "sourceLang": "en",
        "options": OPTIONS_OFF,
        "steps": [],
        "translations": [],
        "status": "archived",
        "createdAt": T0,
        "modifiedAt": T0,
    }


async def test_stored_options_and_translations_are_shown(
    client: httpx.AsyncClient, db: Database, loaded: World
) -> None:
    await db.execute(
        "UPDATE paths SET options = ?, translations = ?, co_author_ids = ? WHERE id = ?",
        '{"linearProgression":true,"mandatoryReplay":false,"displayForum":true,'
        '"displayClassroomMessages":false,"automatedReminders":true,'
        '"notificationOnStepCreation":false}',
        '[{"lang":"fr","published":true,"translatorIds":["' + loaded.instructor + '"],'
        '"translatedFields":{"name":"Accueil"}},'
        '{"lang":"de","published":false,"translatorIds":[],"translatedFields":{}}]',
        f'["{loaded.second_instructor}"]',
        loaded.path,
    )
    path = await get_json(client, f"/api/v2/paths/{loaded.path}")
    assert path["options"] == {
        **OPTIONS_OFF,
        "linearProgression": True,
        "displayForum": True,
        "automatedReminders": True,
    }
    assert path["translations"] == [
        {
            "lang": "fr",
            "published": True,
            "translatorIds": [loaded.instructor],
            "translatedFields": {"name": "Accueil"},
        },
        {"lang": "de", "published": False, "translatorIds": [], "translatedFields": {}},
    ]
    assert path["coAuthorIds"] == [loaded.second_instructor]


async def test_a_user_with_every_field(
    client: httpx.AsyncClient, db: Database, loaded: World
) -> None:
    w = loaded
    await db.execute(
        "UPDATE users SET primary_group_id = ? WHERE id = ?", w.sales_group, w.instructor
    )
    assert await get_json(client, f"/api/v2/users/{w.instructor}") == {
        "_id": w.instructor,
        "mail": w.instructor_mail,
        "username": "ines",
        "status": "active",
        "lang": "fr",
        "firstName": "Ines",
        "lastName": "Instructor",
        "job": "Trainer",
        "organization": "Acme Sales",
        "phone": "+33123456789",
        "custom": "Half-time",
        "primaryGroupId": w.sales_group,
    }


async def test_users_without_optional_fields_and_deleted_users(
    client: httpx.AsyncClient, db: Database, loaded: World
) -> None:
    w = loaded
    assert await get_json(client, f"/api/v2/users/{w.second_instructor.upper()}") == {
        "_id": w.second_instructor,
        "mail": w.second_instructor_mail,
        "status": "active",
        "lang": "en",
        "firstName": "Ivan",
        "lastName": "Instructor",
    }
    deleted = await user_id(db, w.deleted_mail)
    # Deleted users are found, with their status; names never given are left out.
    assert await get_json(client, f"/api/v2/users/{deleted}") == {
        "_id": deleted,
        "mail": w.deleted_mail,
        "status": "deleted",
        "lang": "en",
    }


async def test_roles_of_a_user_and_of_a_group(
    client: httpx.AsyncClient, db: Database, loaded: World
) -> None:
    w = loaded
    await db.execute(
        "INSERT INTO user_roles (user_id, group_id, role) VALUES (?, ?, 'learner')",
        w.instructor,
        w.root_group,
    )
    await db.execute(
        "INSERT INTO user_roles (user_id, group_id, role) VALUES (?, ?, 'admin')",
        w.owner,
        w.sales_group,
    )
    # `author` in the fixture is `editor`; groups by id, users by id.
    assert await get_json(client, f"/api/v2/users/{w.instructor}/roles") == [
        {"groupId": w.root_group, "role": "learner"},
        {"groupId": w.sales_group, "role": "editor"},
    ]
    assert await get_json(client, f"/api/v2/groups/{w.sales_group}/roles") == [
        {"userId": w.owner, "role": "admin"},
        {"userId": w.instructor, "role": "editor"},
    ]
    assert await get_json(client, f"/api/v2/users/{w.second_instructor}/roles") == []
    deleted = await user_id(db, w.deleted_mail)
    assert await get_json(client, f"/api/v2/users/{deleted}/roles") == []


# --- Not found ---------------------------------------------------------------------------

NOT_FOUND = [
    ("/api/v2/paths/{}", "pathNotFound", lambda w: w.other_path),
    ("/api/v2/users/{}", "userNotFound", None),
    ("/api/v2/users/{}/roles", "userNotFound", None),
    ("/api/v2/groups/{}/roles", "groupNotFound", lambda w: w.other_group),
]


@pytest.mark.parametrize(
    ("url", "code", "foreign"), NOT_FOUND, ids=[n[1] + n[0] for n in NOT_FOUND]
)
async def test_malformed_unknown_and_foreign_ids_are_not_found(
    client: httpx.AsyncClient, db: Database, loaded: World, url: str, code: str, foreign: Any
) -> None:
    other = foreign(loaded) if foreign else await user_id(db, loaded.other_user_mail)
    for bad in ("x", "6c000000000000000000000z", "6c00000000000000000000011", UNKNOWN, other):
        r = await get(client, url.format(bad))
        assert r.status_code == 404, (bad, r.text)
        body = r.json()
        assert body["error"]["code"] == code
        assert isinstance(body["error"]["message"], str)
        assert body["error"]["message"]
    # The other company reads its own.
    r = await get(client, url.format(other), credential=OTHER_FULL)
    assert r.status_code == 200, r.text


# --- Scopes ------------------------------------------------------------------------------

SCOPED = [
    ("/api/v2/paths", "paths:read"),
    ("/api/v2/paths/" + WORLD.path, "paths:read"),
    ("/api/v2/users", "users:read"),
    ("/api/v2/users/" + WORLD.instructor, "users:read"),
    ("/api/v2/users/" + WORLD.instructor + "/roles", "users:read"),
    ("/api/v2/groups/" + WORLD.sales_group + "/roles", "groups:read"),
]


@pytest.mark.parametrize(("url", "scope"), SCOPED, ids=[u for u, _ in SCOPED])
async def test_each_read_needs_its_scope(
    client: httpx.AsyncClient, loaded: World, url: str, scope: str
) -> None:
    lacking, having = (
        (ACME_DIRECTORY_READ, ACME_PATHS_READ)
        if scope == "paths:read"
        else (ACME_PATHS_READ, ACME_DIRECTORY_READ)
    )
    assert scope not in lacking.scopes
    assert scope in having.scopes
    r = await get(client, url, credential=lacking)
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "invalid_scope"
    r = await get(client, url, credential=having)
    assert r.status_code == 200, r.text


# --- Lists: filters and pages ------------------------------------------------------------


async def test_paths_filtered_by_status_and_dates(
    client: httpx.AsyncClient, db: Database, loaded: World
) -> None:
    w = loaded
    later = await add_paths(db, "7c", 3, "archived", ms(T1))
    everything = await get_json(client, "/api/v2/paths")
    assert ids(everything) == [w.path, w.archived_path, *later]  # ascending ids
    assert all(p["steps"] == [] and "sessionIds" not in p for p in everything)
    archived = [("status[eq]", "archived")]
    assert ids(await get_json(client, "/api/v2/paths", archived)) == [w.archived_path, *later]
    assert ids(await get_json(client, "/api/v2/paths", [("status[eq]", "published")])) == [w.path]
    assert ids(await get_json(client, "/api/v2/paths", [("createdAt[gte]", T1)])) == later
    assert ids(await get_json(client, "/api/v2/paths", [("createdAt[lt]", "2030-01-02")])) == [
        w.path,
        w.archived_path,
    ]
    both = [*archived, ("modifiedAt[lt]", T1)]
    assert ids(await get_json(client, "/api/v2/paths", both)) == [w.archived_path]
    # Another company's paths are not listed.
    assert w.other_path not in ids(everything)


@pytest.mark.parametrize(
    "param",
    [
        ("status[ne]", "archived"),
        ("status[eq]", "draft"),
        ("createdAt[eq]", T0),
        ("createdAt[gte]", "yesterday"),
        ("name[eq]", "Onboarding"),
    ],
)
async def test_a_bad_path_filter_is_a_bad_request(
    client: httpx.AsyncClient, loaded: World, param: tuple[str, str]
) -> None:
    r = await get(client, "/api/v2/paths", [param])
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "badRequest"
    assert r.json()["error"]["message"].startswith(param[0])


async def test_paths_come_200_a_page_with_their_filter(
    client: httpx.AsyncClient, db: Database, loaded: World
) -> None:
    archived = await add_paths(db, "7a", 250, "archived", ms(T1))
    await add_paths(db, "7b", 30, "published", ms(T1))
    found = await pages(client, "/api/v2/paths", [("status[eq]", "archived")])
    assert [len(page) for page in found] == [200, 51]
    assert [i for page in found for i in ids(page)] == [loaded.archived_path, *archived]


async def test_users_filtered_by_mail_username_and_status(
    client: httpx.AsyncClient, db: Database, loaded: World
) -> None:
    w = loaded
    deleted = await user_id(db, w.deleted_mail)
    everyone = [w.owner, w.instructor, w.second_instructor, deleted]
    listed = await get_json(client, "/api/v2/users")
    assert sorted(ids(listed)) == sorted(everyone)  # deleted users included
    assert ids(listed) == sorted(ids(listed))

    async def found(*params: tuple[str, str]) -> list[str]:
        return sorted(ids(await get_json(client, "/api/v2/users", params)))

    assert await found(("mail[eq]", " INES@Acme.TEST ")) == [w.instructor]
    assert await found(("mail[eq]", "nobody@acme.test")) == []
    assert await found(("mail[ne]", "Ines@acme.test")) == sorted(set(everyone) - {w.instructor})
    assert await found(("mail[in]", "IVAN@acme.test"), ("mail[in]", w.owner_mail)) == sorted(
        [w.owner, w.second_instructor]
    )
    assert await found(("mail[nin][0]", "IVAN@acme.test"), ("mail[nin][1]", w.owner_mail)) == (
        sorted([w.instructor, deleted])
    )
    assert await found(("username[eq]", "ines")) == [w.instructor]
    assert await found(("username[eq]", "INES")) == []  # usernames are compared exactly
    assert await found(("username[in]", "ines"), ("username[in]", "x")) == [w.instructor]
    # Users without a username differ from any username given.
    assert await found(("username[ne]", "ines")) == sorted(set(everyone) - {w.instructor})
    assert await found(("username[nin]", "ines")) == sorted(set(everyone) - {w.instructor})
    assert await found(("status[ne]", "deleted")) == sorted(set(everyone) - {deleted})
    assert await found(("status[eq]", "deleted")) == [deleted]
    assert await found(("status[eq]", "invited")) == []
    assert await found(("status[ne]", "deleted"), ("mail[eq]", w.deleted_mail)) == []


@pytest.mark.parametrize(
    "param",
    [("status[eq]", "gone"), ("status[in]", "active"), ("mail[lt]", "a"), ("lang[eq]", "en")],
)
async def test_a_bad_user_filter_is_a_bad_request(
    client: httpx.AsyncClient, loaded: World, param: tuple[str, str]
) -> None:
    r = await get(client, "/api/v2/users", [param])
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "badRequest"


async def test_users_come_500_a_page_with_their_filter(
    client: httpx.AsyncClient, db: Database, loaded: World
) -> None:
    active = await add_users(db, "7e", 510)
    await add_users(db, "7d", 20, status="deleted")
    world_users = [loaded.owner, loaded.instructor, loaded.second_instructor]
    found = await pages(client, "/api/v2/users", [("status[ne]", "deleted")])
    assert [len(page) for page in found] == [500, 13]
    assert [i for page in found for i in ids(page)] == sorted([*world_users, *active])
    assert all(u["status"] == "active" and "firstName" not in u for u in found[1][3:])


async def test_roles_come_1000_a_page(
    client: httpx.AsyncClient, db: Database, loaded: World
) -> None:
    members = await add_users(db, "7e", 1005)
    await db.executemany(
        "INSERT INTO user_roles (user_id, group_id, role) VALUES (?, ?, 'learner')",
        [(m, loaded.root_group) for m in members],
    )
    found = await pages(client, f"/api/v2/groups/{loaded.root_group}/roles")
    assert [len(page) for page in found] == [1000, 5]
    assert [i for page in found for i in ids(page, "userId")] == members

    groups = [object_id("7f", i) for i in range(1001)]
    await db.executemany(
        "INSERT INTO company_groups (id, company_id, name, public, created_at)"
        " VALUES (?, ?, ?, FALSE, 0)",
        [(g, loaded.company, f"Group {g}") for g in groups],
    )
    await db.executemany(
        "INSERT INTO user_roles (user_id, group_id, role) VALUES (?, ?, 'coach')",
        [(loaded.second_instructor, g) for g in groups],
    )
    found = await pages(client, f"/api/v2/users/{loaded.second_instructor}/roles")
    assert [len(page) for page in found] == [1000, 1]
    assert [i for page in found for i in ids(page, "groupId")] == groups
    assert {m["role"] for page in found for m in page} == {"coach"}


async def test_a_roles_page_token_is_its_own_lists(
    client: httpx.AsyncClient, db: Database, loaded: World
) -> None:
    """A token of one group's roles is refused for another group, and one of a user's roles
    for another user: it carries the position in one list only."""
    members = await add_users(db, "7e", 1001)
    await db.executemany(
        "INSERT INTO user_roles (user_id, group_id, role) VALUES (?, ?, 'learner')",
        [(m, loaded.root_group) for m in members],
    )
    r = await get(client, f"/api/v2/groups/{loaded.root_group}/roles")
    m = LINK.fullmatch(r.headers["link"])
    assert m is not None
    token = m["url"].split("?", 1)[1]
    h = await v2_headers(client)
    r = await client.get(f"/api/v2/groups/{loaded.sales_group}/roles?{token}", headers=h)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "badRequest"
    r = await client.get(f"/api/v2/users/{loaded.instructor}/roles?{token}", headers=h)
    assert r.status_code == 400, r.text
    # The same token, in any case of the group's id, goes on.
    r = await client.get(f"/api/v2/groups/{loaded.root_group.upper()}/roles?{token}", headers=h)
    assert r.status_code == 200, r.text
    assert ids(r.json(), "userId") == members[1000:]


# --- v1 over the same data ---------------------------------------------------------------


V1_READS = [
    "/api/v1/paths",
    f"/api/v1/paths/{WORLD.path}",
    "/api/v1/users",
    f"/api/v1/users/{WORLD.instructor}",
    f"/api/v1/users/{WORLD.instructor_mail}",
    f"/api/v1/groups/{WORLD.sales_group}",
]


async def test_v1_answers_are_unchanged_by_v2_fields(
    client: httpx.AsyncClient, db: Database, settable_clock: SettableClock
) -> None:
    settable_clock.set(ms(T0))
    await load_document(db, world_document(), clock=settable_clock)
    before = [(await client.get(url, headers=WORLD.headers)).content for url in V1_READS]
    await load_document(db, with_v2_fields(), clock=settable_clock)
    after = [(await client.get(url, headers=WORLD.headers)).content for url in V1_READS]
    assert after == before
    assert b'"Trainer"' not in b"".join(after)
    assert b"pt_BR" not in b"".join(after)
