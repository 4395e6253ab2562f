"""The fixture loader (docs/fixtures.md), directly and through `load`.

Every test runs on SQLite and on PostgreSQL. "Nothing changed" is checked by dumping every
table of the database, timestamps included; "the same state" by the same dump without the
`*_at` columns (a reload refreshes modification times, nothing else).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from pathsessions.core.clock import SYSTEM_CLOCK
from pathsessions.core.operators import revoke_key
from pathsessions.core.values import parse_date
from pathsessions.loader import FixtureError, load_document
from pathsessions.storage import Database, open_database
from support import (
    ABSENT,
    ACME,
    ACME_KEY,
    OTHER,
    OTHER_KEY,
    WORLD,
    World,
    valid_body,
    world_document,
)
from support.cli import Cli, LiveApp
from support.world import EXAMPLE as EXAMPLE_FILE
from support.world import EXAMPLE_KEY

OBJECT_ID = re.compile(r"[0-9a-f]{24}")
Dump = dict[str, list[tuple[Any, ...]]]


def example() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(EXAMPLE_FILE.read_text(encoding="utf-8"))
    return document


def ms(date: str) -> int:
    value = parse_date(date)
    assert value is not None
    return value


def sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def tables(db: Database) -> list[str]:
    if db.dialect == "sqlite":
        rows = await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    else:
        rows = await db.fetchall(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    return sorted(str(r[0]) for r in rows)


async def columns(db: Database, table: str) -> list[str]:
    if db.dialect == "sqlite":
        return [str(r[1]) for r in await db.fetchall(f"PRAGMA table_info({table})")]
    rows = await db.fetchall(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
        table,
    )
    return [str(r[0]) for r in rows]


async def dump(db: Database, *, timestamps: bool = True) -> Dump:
    """Every row of every table, sorted; without the `*_at` columns unless `timestamps`."""
    result: Dump = {}
    for table in await tables(db):
        names = [c for c in await columns(db, table) if timestamps or not c.endswith("_at")]
        rows = await db.fetchall(f"SELECT {', '.join(names)} FROM {table}")
        result[table] = sorted((tuple(r) for r in rows), key=repr)
    assert {"companies", "path_sessions"} <= set(result), result.keys()
    return result


async def rows(db: Database, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return sorted((tuple(r) for r in await db.fetchall(sql, *args)), key=repr)


async def user_ids(db: Database, company: str) -> dict[str, str]:
    found = await db.fetchall("SELECT mail_key, id FROM users WHERE company_id = ?", company)
    return {str(r[0]): str(r[1]) for r in found}


async def load_fails(db: Database, document: Any, *, reset: bool = False) -> FixtureError:
    """Load a bad document: it must raise FixtureError and change nothing at all."""
    before = await dump(db)
    with pytest.raises(FixtureError) as caught:
        await load_document(db, document, reset=reset)
    assert await dump(db) == before
    assert str(caught.value) == f"{caught.value.where}: {caught.value.problem}"
    return caught.value


# --- The example of the format's documentation ------------------------------------------


def test_the_example_is_acme_of_the_test_world() -> None:
    """tests/fixtures/example.json, which the real-server tests load through the CLI, is ACME
    as the `world` fixture loads it (support/world.py), but for its key and its one session:
    every id, name, mail, role and status it gives is the world's."""
    (acme,) = example()["companies"]
    world = world_document()["companies"][0]
    for field in ("id", "name", "owner"):
        assert acme[field] == world[field], field
    groups = {g["id"]: g for g in world["groups"]}
    for group in acme["groups"]:
        known = groups[group["id"]]
        assert group["name"] == known["name"]
        assert group.get("public", False) == known.get("public", False)
        assert group.get("parent") == known.get("parent")
    users = {u["mail"]: u for u in world["users"]}
    for user in acme["users"]:
        known = users[user["mail"]]
        for field in ("id", "firstName", "lastName", "status", "roles"):
            assert user.get(field, known.get(field)) == known.get(field), (user, field)
    paths = {p["name"]: p for p in world["paths"]}
    for path in acme["paths"]:
        known = paths[path["name"]]
        for field in ("id", "group", "status"):
            assert path.get(field, known.get(field)) == known.get(field), (path, field)
    assert acme["apiKeys"] == [EXAMPLE_KEY] != world["apiKeys"]


async def test_example_document_loads(db: Database, client: httpx.AsyncClient) -> None:
    report = await load_document(db, example())
    assert report.company_ids == [ACME]
    assert report.generated_keys == {}
    assert await rows(db, "SELECT id, name, owner_user_id FROM companies") == [
        (ACME, "Acme Learning", "6b0000000000000000000001")
    ]
    groups = await rows(db, "SELECT id, company_id, name, public, parent_id FROM company_groups")
    assert [(g[0], g[1], g[2], bool(g[3]), g[4]) for g in groups] == [
        ("6a0000000000000000000001", ACME, "Acme", True, None),
        ("6a0000000000000000000002", ACME, "Sales", False, "6a0000000000000000000001"),
    ]
    users = await rows(
        db, "SELECT mail_key, id, company_id, mail, first_name, last_name, status FROM users"
    )
    assert [u[:1] + u[2:] for u in users] == [
        ("gone@acme.test", ACME, "gone@acme.test", "", "", "deleted"),
        ("ines@acme.test", ACME, "ines@acme.test", "Ines", "Instructor", "active"),
        ("owner@acme.test", ACME, "owner@acme.test", "Olive", "Owner", "active"),
    ]
    gone, ines, owner = (u[1] for u in users)
    # The id given is kept; the ids left out are generated, ObjectId-shaped and distinct.
    assert owner == "6b0000000000000000000001"
    assert OBJECT_ID.fullmatch(ines)
    assert OBJECT_ID.fullmatch(gone)
    assert ines != gone
    assert await rows(db, "SELECT user_id, group_id, role FROM user_roles") == [
        (ines, "6a0000000000000000000002", "editor")
    ]
    paths = await rows(db, "SELECT name, id, company_id, group_id, status FROM paths")
    assert [p[:1] + p[2:] for p in paths] == [
        ("Old path", ACME, "6a0000000000000000000001", "archived"),
        ("Onboarding", ACME, "6a0000000000000000000001", "published"),
    ]
    assert paths[1][1] == "6c0000000000000000000001"
    assert OBJECT_ID.fullmatch(paths[0][1])
    assert paths[0][1] not in {ines, gone}
    sessions = await rows(
        db,
        "SELECT id, company_id, path_id, name, start_date, end_date, owner_group_id,"
        " additional_information FROM path_sessions",
    )
    assert [s[1:] for s in sessions] == [
        (
            ACME,
            "6c0000000000000000000001",
            "Cohort 1",
            ms("2030-01-01T09:00:00.000Z"),
            None,
            "6a0000000000000000000001",
            None,
        )
    ]
    assert OBJECT_ID.fullmatch(sessions[0][0])
    assert await rows(db, "SELECT session_id, position, user_id FROM session_instructors") == [
        (sessions[0][0], 0, ines)
    ]
    # The literal key is stored hashed and authenticates API calls.
    assert await rows(db, "SELECT company_id, key_hash, revoked_at FROM api_keys") == [
        (ACME, sha256(EXAMPLE_KEY), None)
    ]
    body = valid_body(instructorsMails=["INES@acme.test"])
    r = await client.post(
        "/api/v1/paths/6c0000000000000000000001/sessions/",
        json=body,
        headers={"X-company-id": ACME, "X-apiKey": EXAMPLE_KEY},
    )
    assert r.status_code == 200, r.text


# --- Owner and keys --------------------------------------------------------------------------


async def test_owner_not_in_users_is_created(db: Database) -> None:
    doc = example()
    doc["companies"][0]["owner"] = " Boss@Acme.test "
    await load_document(db, doc)
    ids = await user_ids(db, ACME)
    assert sorted(ids) == ["boss@acme.test", "gone@acme.test", "ines@acme.test", "owner@acme.test"]
    assert await rows(
        db,
        "SELECT mail, first_name, last_name, status FROM users WHERE id = ?",
        ids["boss@acme.test"],
    ) == [("Boss@Acme.test", "", "", "active")]
    assert await rows(db, "SELECT owner_user_id FROM companies") == [(ids["boss@acme.test"],)]
    # Named in a different case, the owner listed in `users` is that user, not a new one.
    doc["companies"][0]["owner"] = "OWNER@acme.TEST"
    await load_document(db, doc)
    assert await user_ids(db, ACME) == ids
    assert await rows(db, "SELECT owner_user_id FROM companies") == [(ids["owner@acme.test"],)]


async def test_api_keys_are_stored_hashed_and_work(db: Database, client: httpx.AsyncClient) -> None:
    keys = ["first-literal-key", "second literal key, with spaces"]
    doc = example()
    doc["companies"][0]["apiKeys"] = keys
    await load_document(db, doc)
    everything = repr(await dump(db))
    assert all(key not in everything for key in keys)
    assert await rows(db, "SELECT company_id, key_hash, label, revoked_at FROM api_keys") == sorted(
        [(ACME, sha256(k), "fixture", None) for k in keys], key=repr
    )
    url = "/api/v1/paths/6c0000000000000000000001/sessions/"
    for key in keys:
        r = await client.post(
            url, json=valid_body(), headers={"X-company-id": ACME, "X-apiKey": key}
        )
        assert r.status_code == 200, r.text
        r = await client.post(url, json=valid_body(), params={"company": ACME, "apiKey": key})
        assert r.status_code == 200, r.text
    r = await client.post(url, json=valid_body(), headers={"X-company-id": ACME, "X-apiKey": "x"})
    assert (r.status_code, r.json()) == (401, {"error": "unauthorized"})
    # Loading again adds no second copy of a key it has already.
    await load_document(db, doc)
    assert len(await rows(db, "SELECT id FROM api_keys")) == 2


async def test_a_key_is_generated_once_when_none_is_given(
    db: Database, client: httpx.AsyncClient
) -> None:
    doc = example()
    del doc["companies"][0]["apiKeys"]
    report = await load_document(db, doc)
    assert list(report.generated_keys) == [ACME]
    key = report.generated_keys[ACME]
    assert len(key) >= 32
    assert not [line for line in report.lines if key in line]  # the caller shows it, once
    assert "companies[0]: new API key generated (shown once, at the end)" in report.lines
    assert await rows(db, "SELECT company_id, key_hash, revoked_at FROM api_keys") == [
        (ACME, sha256(key), None)
    ]
    r = await client.post(
        "/api/v1/paths/6c0000000000000000000001/sessions/",
        json=valid_body(),
        headers={"X-company-id": ACME, "X-apiKey": key},
    )
    assert r.status_code == 200, r.text
    # The company has a key now: a second load generates none and reports none.
    second = await load_document(db, doc)
    assert second.generated_keys == {}
    assert not any("API key" in line for line in second.lines), second.lines
    assert len(await rows(db, "SELECT id FROM api_keys")) == 1


async def test_reloading_a_revoked_literal_key_is_not_a_crash(
    db: Database, client: httpx.AsyncClient
) -> None:
    """A literal key the operator revoked, then the same document loaded again."""
    await load_document(db, example())
    key_id = (await rows(db, "SELECT id FROM api_keys"))[0][0]
    await revoke_key(db, SYSTEM_CLOCK, ACME, key_id)
    outcome: FixtureError | None = None
    try:
        await load_document(db, example())
    except FixtureError as error:
        outcome = error
    if outcome is not None:
        # Refusing is acceptable, with the key's JSON path ...
        assert outcome.where == "companies[0].apiKeys[0]"
    else:
        # ... and so is accepting the key again, as the document asks; but not a crash.
        r = await client.post(
            "/api/v1/paths/6c0000000000000000000001/sessions/",
            json=valid_body(),
            headers={"X-company-id": ACME, "X-apiKey": EXAMPLE_KEY},
        )
        assert r.status_code == 200, r.text


# --- Idempotence and natural keys ----------------------------------------------------------


def rich_document() -> dict[str, Any]:
    """Everything the format has: ids given and left out, no keys, owner outside `users`."""
    doc = world_document()
    acme = doc["companies"][0]
    acme["owner"] = "boss@acme.test"
    acme["groups"].append({"name": "Support", "parent": WORLD.root_group, "public": True})
    acme["users"].append(
        {"mail": "Lea@Acme.test", "firstName": "Léa", "roles": {WORLD.root_group: "learner"}}
    )
    acme["paths"].append({"name": "Advanced", "group": WORLD.sales_group})
    acme["sessions"] = [
        {
            "id": "6d0000000000000000000001",
            "path": WORLD.path,
            "sessionName": "Pinned",
            "startDate": "2030-03-01T09:00:00+01:00",
            "endDate": "2030-03-02T17:00:00.123456Z",
            "sessionOwnerGroup": WORLD.sales_group,
            "instructorsMails": [WORLD.second_instructor_mail, "INES@acme.test", "ivan@acme.test"],
            "sessionAdditionalInformation": "REG-1",
        },
        {
            "path": WORLD.path,
            "sessionName": "Unpinned",
            "startDate": "2030-04-01T09:00:00Z",
            "sessionOwnerGroup": WORLD.root_group,
        },
        {
            "path": WORLD.archived_path,
            "sessionName": "Unpinned",
            "startDate": "2030-04-01T09:00:00Z",
            "sessionOwnerGroup": WORLD.root_group,
            "instructorsMails": [],
        },
    ]
    doc["companies"].append(
        {
            "name": "Gamma",
            "owner": "ann@gamma.test",
            "groups": [{"id": "6a00000000000000000000a1", "name": "Gamma"}],
            "users": [{"mail": "ann@gamma.test"}, {"mail": "bob@gamma.test"}],
            "paths": [{"name": "Intro", "group": "6a00000000000000000000a1"}],
            "sessions": [
                {
                    "path": WORLD.path,  # another company's path: replaced below
                    "sessionName": "G1",
                    "startDate": "2031-01-01T00:00:00Z",
                    "sessionOwnerGroup": "6a00000000000000000000a1",
                    "instructorsMails": ["bob@gamma.test"],
                }
            ],
        }
    )
    # Gamma's path is pinned so its session can name it.
    doc["companies"][2]["paths"][0]["id"] = "6c00000000000000000000a1"
    doc["companies"][2]["sessions"][0]["path"] = "6c00000000000000000000a1"
    return doc


async def test_the_rich_document_loads_as_described(db: Database) -> None:
    report = await load_document(db, rich_document())
    gamma = report.company_ids[2]
    assert report.company_ids[:2] == [ACME, OTHER]
    assert OBJECT_ID.fullmatch(gamma)
    assert list(report.generated_keys) == [gamma]
    ids = await user_ids(db, ACME)
    assert await rows(db, "SELECT owner_user_id FROM companies WHERE id = ?", ACME) == [
        (ids["boss@acme.test"],)
    ]
    assert await rows(
        db,
        "SELECT path_id, name, start_date, end_date, owner_group_id, additional_information"
        " FROM path_sessions WHERE id = ?",
        "6d0000000000000000000001",
    ) == [
        (
            WORLD.path,
            "Pinned",
            ms("2030-03-01T08:00:00Z"),
            ms("2030-03-02T17:00:00.123Z"),
            WORLD.sales_group,
            "REG-1",
        )
    ]
    # Instructors in the order given, a repeated address once.
    assert await rows(
        db,
        "SELECT position, user_id FROM session_instructors WHERE session_id = ?",
        "6d0000000000000000000001",
    ) == [(0, WORLD.second_instructor), (1, WORLD.instructor)]
    # No instructors given, or []: the platform owner.
    unpinned = await rows(
        db,
        "SELECT i.user_id FROM path_sessions s JOIN session_instructors i ON i.session_id = s.id"
        " WHERE s.company_id = ? AND s.name = 'Unpinned'",
        ACME,
    )
    assert unpinned == [(ids["boss@acme.test"],), (ids["boss@acme.test"],)]
    assert len(await rows(db, "SELECT id FROM path_sessions")) == 4


async def test_loading_twice_is_loading_once(db: Database) -> None:
    first = await load_document(db, rich_document())
    once = await dump(db, timestamps=False)
    second = await load_document(db, rich_document())
    assert await dump(db, timestamps=False) == once
    assert second.company_ids == first.company_ids
    assert second.generated_keys == {}
    third = await load_document(db, rich_document())
    assert third.company_ids == first.company_ids
    assert await dump(db, timestamps=False) == once


async def test_objects_are_matched_by_natural_key(db: Database) -> None:
    doc: dict[str, Any] = {
        "companies": [
            {
                "name": "Acme Learning",
                "apiKeys": [ACME_KEY],
                "owner": "owner@acme.test",
                "groups": [
                    {"id": WORLD.root_group, "name": "Acme"},
                    {"name": "Sales", "parent": WORLD.root_group},
                    {"name": "Sales"},  # same name, no parent: another group
                ],
                "users": [{"mail": "Ines@Acme.test", "firstName": "Ines"}],
                "paths": [{"name": "Onboarding", "group": WORLD.root_group}],
                "sessions": [
                    {
                        "path": "",  # set below
                        "sessionName": "Cohort 1",
                        "startDate": "2030-01-01T09:00:00Z",
                        "sessionOwnerGroup": WORLD.root_group,
                    }
                ],
            }
        ]
    }
    company = doc["companies"][0]
    await load_document(db, {"companies": [{k: v for k, v in company.items() if k != "sessions"}]})
    path_id = (await rows(db, "SELECT id FROM paths"))[0][0]
    company["sessions"][0]["path"] = path_id
    await load_document(db, doc)
    before = {
        "companies": await rows(db, "SELECT id FROM companies"),
        "groups": await rows(db, "SELECT id, name, parent_id FROM company_groups"),
        "users": await rows(db, "SELECT id FROM users"),
        "paths": await rows(db, "SELECT id FROM paths"),
        "sessions": await rows(db, "SELECT id FROM path_sessions"),
    }
    assert [len(v) for v in before.values()] == [1, 3, 2, 1, 1]

    # The same objects by natural key, with other attributes: updated, not duplicated.
    company["groups"][1]["public"] = True
    company["users"][0] = {"mail": "  INES@acme.test ", "firstName": "Inès", "lastName": "I."}
    company["paths"][0]["status"] = "archived"
    company["sessions"][0].update(
        startDate="2030-01-01T10:00:00+01:00",  # the same instant
        endDate="2030-01-05T00:00:00Z",
        sessionAdditionalInformation="updated",
        instructorsMails=["ines@acme.test"],
    )
    await load_document(db, doc)
    assert {
        "companies": await rows(db, "SELECT id FROM companies"),
        "groups": await rows(db, "SELECT id, name, parent_id FROM company_groups"),
        "users": await rows(db, "SELECT id FROM users"),
        "paths": await rows(db, "SELECT id FROM paths"),
        "sessions": await rows(db, "SELECT id FROM path_sessions"),
    } == before
    sales = await rows(
        db, "SELECT public FROM company_groups WHERE name = 'Sales' AND parent_id IS NOT NULL"
    )
    assert [bool(r[0]) for r in sales] == [True]
    ines = await rows(
        db, "SELECT id, mail, first_name, last_name FROM users WHERE mail_key = 'ines@acme.test'"
    )
    assert [r[1:] for r in ines] == [("INES@acme.test", "Inès", "I.")]
    assert await rows(db, "SELECT status FROM paths") == [("archived",)]
    session_id = before["sessions"][0][0]
    assert await rows(
        db,
        "SELECT start_date, end_date, additional_information FROM path_sessions WHERE id = ?",
        session_id,
    ) == [(ms("2030-01-01T09:00:00Z"), ms("2030-01-05T00:00:00Z"), "updated")]
    assert await rows(
        db, "SELECT user_id FROM session_instructors WHERE session_id = ?", session_id
    ) == [(ines[0][0],)]

    # Another start date is another session; another name is another path.
    company["sessions"][0]["startDate"] = "2030-01-01T09:00:01Z"
    company["paths"].append({"name": "Onboarding 2", "group": WORLD.root_group})
    await load_document(db, doc)
    assert len(await rows(db, "SELECT id FROM path_sessions")) == 2
    assert len(await rows(db, "SELECT id FROM paths")) == 2
    # The company matched by name keeps its generated id.
    assert await rows(db, "SELECT id FROM companies") == before["companies"]


async def test_an_id_renames_the_object_it_names(db: Database, world: World) -> None:
    doc = world_document()
    acme = doc["companies"][0]
    acme["name"] = "Acme Renamed"
    acme["groups"][1]["name"] = "Sales & Marketing"
    acme["users"][1]["mail"] = "ines.new@acme.test"
    acme["paths"][0]["name"] = "Onboarding v2"
    counts = {t: len(v) for t, v in (await dump(db)).items()}
    await load_document(db, doc)
    assert {t: len(v) for t, v in (await dump(db)).items()} == counts
    assert await rows(db, "SELECT name FROM companies WHERE id = ?", ACME) == [("Acme Renamed",)]
    assert await rows(db, "SELECT name FROM company_groups WHERE id = ?", WORLD.sales_group) == [
        ("Sales & Marketing",)
    ]
    assert await rows(db, "SELECT mail_key FROM users WHERE id = ?", WORLD.instructor) == [
        ("ines.new@acme.test",)
    ]
    assert await rows(db, "SELECT name FROM paths WHERE id = ?", WORLD.path) == [("Onboarding v2",)]


# --- All or nothing ----------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]
UNKNOWN_ID = "6e0000000000000000000000"


def _last(doc: dict[str, Any]) -> dict[str, Any]:
    company: dict[str, Any] = doc["companies"][-1]
    return company


def _dup_mail(doc: dict[str, Any]) -> None:
    _last(doc)["users"].append({"mail": "ANN@gamma.TEST"})
    _last(doc)["paths"] = []
    _last(doc)["sessions"] = []


def _bad_user_id(doc: dict[str, Any]) -> None:
    _last(doc)["users"].append({"id": "6b000000000000000000000g", "mail": "cy@gamma.test"})
    _last(doc)["paths"] = []
    _last(doc)["sessions"] = []


def _bad_path_id(doc: dict[str, Any]) -> None:
    _last(doc)["paths"].append(
        {"id": "6c00", "name": "Short id", "group": "6a00000000000000000000a1"}
    )
    _last(doc)["sessions"] = []


def _unknown_path_group(doc: dict[str, Any]) -> None:
    _last(doc)["paths"].append({"name": "Lost", "group": UNKNOWN_ID})
    _last(doc)["sessions"] = []


def _foreign_path_group(doc: dict[str, Any]) -> None:
    _last(doc)["paths"].append({"name": "Lost", "group": WORLD.other_group})
    _last(doc)["sessions"] = []


def _unknown_parent(doc: dict[str, Any]) -> None:
    _last(doc)["groups"].append({"name": "Orphan", "parent": UNKNOWN_ID})


def _unknown_role_group(doc: dict[str, Any]) -> None:
    _last(doc)["users"].append({"mail": "cy@gamma.test", "roles": {UNKNOWN_ID: "learner"}})


def _bad_role(doc: dict[str, Any]) -> None:
    _last(doc)["users"].append(
        {"mail": "cy@gamma.test", "roles": {"6a00000000000000000000a1": "boss"}}
    )


def _bad_session_date(doc: dict[str, Any]) -> None:
    _last(doc)["sessions"].append(dict(_last(doc)["sessions"][0], startDate="2031-02-30T09:00:00Z"))


def _unknown_instructor(doc: dict[str, Any]) -> None:
    session = dict(
        _last(doc)["sessions"][0], instructorsMails=["bob@gamma.test", "nobody@gamma.test"]
    )
    _last(doc)["sessions"].append(session)


def _unknown_session_field(doc: dict[str, Any]) -> None:
    _last(doc)["sessions"].append(dict(_last(doc)["sessions"][0], colour="red"))


def _foreign_session_path(doc: dict[str, Any]) -> None:
    _last(doc)["sessions"].append(dict(_last(doc)["sessions"][0], path=WORLD.other_path))


def _empty_key(doc: dict[str, Any]) -> None:
    _last(doc)["apiKeys"] = ["fine-key", ""]


def _bad_owner(doc: dict[str, Any]) -> None:
    _last(doc)["owner"] = "not an address"


BAD_LAST_ITEMS: list[tuple[str, Mutation, str, str | None]] = [
    ("duplicate-mail", _dup_mail, "companies[2].users[2].mail", "duplicate e-mail"),
    ("bad-user-id", _bad_user_id, "companies[2].users[2].id", None),
    ("bad-path-id", _bad_path_id, "companies[2].paths[1].id", None),
    ("unknown-path-group", _unknown_path_group, "companies[2].paths[1].group", None),
    ("foreign-path-group", _foreign_path_group, "companies[2].paths[1].group", None),
    ("unknown-parent", _unknown_parent, "companies[2].groups[1].parent", None),
    ("unknown-role-group", _unknown_role_group, f"companies[2].users[2].roles.{UNKNOWN_ID}", None),
    ("bad-role", _bad_role, "companies[2].users[2].roles.6a00000000000000000000a1", None),
    (
        "bad-session-date",
        _bad_session_date,
        "companies[2].sessions[1].startDate",
        "invalid_start_date",
    ),
    (
        "unknown-instructor",
        _unknown_instructor,
        "companies[2].sessions[1].instructorsMails",
        "instructors_not_found",
    ),
    ("unknown-field", _unknown_session_field, "companies[2].sessions[1].colour", None),
    ("foreign-path", _foreign_session_path, "companies[2].sessions[1].path", "path_not_found"),
    ("empty-key", _empty_key, "companies[2].apiKeys[1]", None),
    ("bad-owner", _bad_owner, "companies[2].owner", None),
]


@pytest.mark.parametrize(
    ("mutate", "where", "problem"),
    [case[1:] for case in BAD_LAST_ITEMS],
    ids=[case[0] for case in BAD_LAST_ITEMS],
)
@pytest.mark.parametrize("reset", [False, True], ids=["load", "reset"])
async def test_a_bad_last_item_changes_nothing(
    db: Database,
    world: World,
    client: httpx.AsyncClient,
    mutate: Mutation,
    where: str,
    problem: str | None,
    reset: bool,
) -> None:
    # A non-empty database: the world, plus a session made through the API.
    r = await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    assert r.status_code == 200, r.text
    doc = rich_document()  # would update Acme and Other, and create Gamma ...
    # (pinned, so this test does not depend on matching groups by name, tested elsewhere)
    doc["companies"][0]["groups"][2]["id"] = "6a00000000000000000000c1"
    mutate(doc)  # ... but its very last item is bad
    error = await load_fails(db, doc, reset=reset)
    assert error.where == where
    if problem is not None:
        assert error.problem == problem
    # The keys of before still work: nothing was reset either.
    r = await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    assert r.status_code == 200, r.text


async def test_the_documented_error_message(db: Database) -> None:
    doc = example()
    doc["companies"][0]["users"].append({"mail": "Ines@ACME.test"})
    error = await load_fails(db, doc)
    assert str(error) == "companies[0].users[3].mail: duplicate e-mail"


# --- Sessions: the validation of POST /api/v1/paths/{pathId}/sessions/ ----------------------


def _session(**fields: Any) -> dict[str, Any]:
    session: dict[str, Any] = {
        "path": WORLD.path,
        "sessionName": "Cohort",
        "startDate": "2030-01-01T09:00:00Z",
        "sessionOwnerGroup": WORLD.root_group,
    }
    session.update(fields)
    return {k: v for k, v in session.items() if v is not None}


SESSION_ERRORS: list[tuple[dict[str, Any], str]] = [
    (_session(path=UNKNOWN_ID), "path: path_not_found"),
    (_session(path=WORLD.other_path), "path: path_not_found"),
    (_session(sessionName="   "), "sessionName: invalid_session_name"),
    (_session(sessionName=7), "sessionName: invalid_session_name"),
    (_session(startDate="2030-01-01"), "startDate: invalid_start_date"),
    (_session(startDate="2030-01-01 09:00:00Z"), "startDate: invalid_start_date"),
    (_session(startDate=1893488400000), "startDate: invalid_start_date"),
    (_session(endDate="2030-13-01T00:00:00Z"), "endDate: invalid_end_date"),
    (_session(endDate="2029-12-31T23:59:59Z"), "endDate: invalid_end_date"),
    (_session(sessionOwnerGroup="root"), "sessionOwnerGroup: invalid_session_owner_group"),
    (_session(sessionOwnerGroup=UNKNOWN_ID), "sessionOwnerGroup: session_owner_group_not_found"),
    (
        _session(sessionOwnerGroup=WORLD.other_group),
        "sessionOwnerGroup: session_owner_group_not_found",
    ),
    (_session(instructorsMails=WORLD.instructor_mail), "instructorsMails: invalid_instructors"),
    (_session(instructorsMails=["not-an-address"]), "instructorsMails: invalid_instructors"),
    (_session(instructorsMails=["nobody@acme.test"]), "instructorsMails: instructors_not_found"),
    (_session(instructorsMails=[WORLD.deleted_mail]), "instructorsMails: instructors_not_found"),
    (
        _session(instructorsMails=[WORLD.other_user_mail]),
        "instructorsMails: instructors_not_found",
    ),
    (
        _session(sessionAdditionalInformation=42),
        "sessionAdditionalInformation: invalid_session_additional_information",
    ),
]


@pytest.mark.parametrize(("session", "message"), SESSION_ERRORS)
async def test_sessions_get_the_api_validation(
    db: Database, world: World, session: dict[str, Any], message: str
) -> None:
    doc = world_document()
    doc["companies"][0]["sessions"] = [_session(sessionName="Fine"), session]
    error = await load_fails(db, doc)
    assert str(error) == f"companies[0].sessions[1].{message}"


async def test_a_session_without_its_path_is_refused(db: Database, world: World) -> None:
    doc = world_document()
    doc["companies"][0]["sessions"] = [_session(path=None)]
    error = await load_fails(db, doc)
    assert error.where == "companies[0].sessions[0].path"


async def test_the_documented_session_error(db: Database) -> None:
    doc = example()
    doc["companies"][0]["sessions"][0]["startDate"] = "01/01/2030"
    error = await load_fails(db, doc)
    assert str(error) == "companies[0].sessions[0].startDate: invalid_start_date"


# --- Reset -------------------------------------------------------------------------------------


async def test_reset_deletes_the_named_companies_first(
    db: Database, world: World, client: httpx.AsyncClient
) -> None:
    other_headers = {"X-company-id": OTHER, "X-apiKey": OTHER_KEY}
    for headers, path, group in (
        (world.headers, world.path, world.root_group),
        (other_headers, world.other_path, world.other_group),
    ):
        body = valid_body(sessionOwnerGroup=group, instructorsMails=ABSENT)
        r = await client.post(f"/api/v1/paths/{path}/sessions/", json=body, headers=headers)
        assert r.status_code == 200, r.text

    async def other_rows() -> list[list[tuple[Any, ...]]]:
        return [
            await rows(db, f"SELECT * FROM {table} WHERE {column} = ?", OTHER)
            for table, column in (
                ("companies", "id"),
                ("api_keys", "company_id"),
                ("company_groups", "company_id"),
                ("users", "company_id"),
                ("paths", "company_id"),
                ("path_sessions", "company_id"),
            )
        ] + [
            await rows(
                db,
                "SELECT i.* FROM session_instructors i JOIN path_sessions s"
                " ON s.id = i.session_id WHERE s.company_id = ?",
                OTHER,
            )
        ]

    other_before = await other_rows()
    small = {
        "companies": [
            {
                "id": ACME,
                "name": "Acme Learning",
                "apiKeys": ["the-new-key"],
                "owner": "owner@acme.test",
                "groups": [{"id": world.root_group, "name": "Acme"}],
                "paths": [{"id": world.path, "name": "Onboarding", "group": world.root_group}],
            }
        ]
    }
    # Without --reset, a smaller document leaves what it does not name.
    await load_document(db, small)
    assert len(await rows(db, "SELECT id FROM path_sessions WHERE company_id = ?", ACME)) == 1
    report = await load_document(db, small, reset=True)
    assert report.lines[0] == f"companies[0]: deleted company {ACME}"
    assert await rows(db, "SELECT id FROM path_sessions WHERE company_id = ?", ACME) == []
    assert await rows(db, "SELECT mail_key FROM users WHERE company_id = ?", ACME) == [
        ("owner@acme.test",)
    ]
    assert await rows(db, "SELECT id FROM company_groups WHERE company_id = ?", ACME) == [
        (world.root_group,)
    ]
    assert await rows(db, "SELECT key_hash FROM api_keys WHERE company_id = ?", ACME) == [
        (sha256("the-new-key"),)
    ]
    assert await rows(db, "SELECT COUNT(*) FROM user_roles") == [(0,)]
    r = await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    assert (r.status_code, r.json()) == (401, {"error": "unauthorized"})
    new_headers = {"X-company-id": ACME, "X-apiKey": "the-new-key"}
    body = valid_body(instructorsMails=ABSENT)
    r = await client.post(world.sessions_url(), json=body, headers=new_headers)
    assert r.status_code == 200, r.text
    # The other company is untouched.
    assert await other_rows() == other_before
    assert [len(t) for t in other_before] == [1, 1, 1, 2, 1, 1, 1]


async def test_reset_matches_a_company_by_name(db: Database, world: World) -> None:
    doc = world_document()
    del doc["companies"][0]["id"]
    del doc["companies"][1]
    report = await load_document(db, doc, reset=True)
    assert report.lines[0] == f"companies[0]: deleted company {ACME}"
    new_id = report.company_ids[0]
    assert new_id != ACME
    assert sorted(await rows(db, "SELECT id, name FROM companies")) == sorted(
        [(new_id, "Acme Learning"), (OTHER, "Other Corp")]
    )


async def test_reset_of_a_new_company_deletes_nothing(db: Database, world: World) -> None:
    before = await dump(db, timestamps=False)
    doc = {"companies": [{"name": "Fresh", "owner": "f@fresh.test", "apiKeys": ["k"]}]}
    report = await load_document(db, doc, reset=True)
    assert not any("deleted" in line for line in report.lines)
    after = await dump(db, timestamps=False)
    assert {t: [r for r in v if r not in after[t]] for t, v in before.items()} == {
        t: [] for t in before
    }


# --- Ids of another company, unknown fields --------------------------------------------------


async def _other_session(db: Database) -> str:
    doc = world_document()
    doc["companies"][1]["sessions"] = [
        {
            "id": "6d00000000000000000000f1",
            "path": WORLD.other_path,
            "sessionName": "Theirs",
            "startDate": "2030-01-01T09:00:00Z",
            "sessionOwnerGroup": WORLD.other_group,
        }
    ]
    await load_document(db, doc)
    return "6d00000000000000000000f1"


FOREIGN_IDS: list[tuple[str, Mutation, str]] = [
    (
        "group",
        lambda c: c["groups"].append({"id": WORLD.other_group, "name": "Mine"}),
        "companies[0].groups[2].id",
    ),
    (
        "user",
        lambda c: c["users"].append({"id": "6b00000000000000000000f1", "mail": "x@acme.test"}),
        "companies[0].users[4].id",
    ),
    (
        "path",
        lambda c: c["paths"].append(
            {"id": WORLD.other_path, "name": "Mine", "group": WORLD.root_group}
        ),
        "companies[0].paths[2].id",
    ),
    (
        "session",
        lambda c: c.__setitem__("sessions", [_session(id="6d00000000000000000000f1")]),
        "companies[0].sessions[0].id",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "where"), [f[1:] for f in FOREIGN_IDS], ids=[f[0] for f in FOREIGN_IDS]
)
async def test_an_id_of_another_company_is_refused(
    db: Database, world: World, mutate: Mutation, where: str
) -> None:
    await _other_session(db)
    doc = world_document()
    doc["companies"][1]["users"].append({"id": "6b00000000000000000000f1", "mail": "o@other.test"})
    await load_document(db, {"companies": [doc["companies"][1]]})
    acme_doc = world_document()
    mutate(acme_doc["companies"][0])
    error = await load_fails(db, {"companies": [acme_doc["companies"][0]]})
    assert error.where == where


async def test_a_company_id_with_another_company_name_is_refused(
    db: Database, world: World
) -> None:
    doc = world_document()
    doc["companies"][1]["name"] = "Acme Learning"
    error = await load_fails(db, doc)
    assert error.where == "companies[1].name"


UNKNOWN_FIELDS: list[tuple[str, Mutation, str]] = [
    ("company", lambda d: d["companies"][0].update(plan="gold"), "companies[0].plan"),
    (
        "group",
        lambda d: d["companies"][0]["groups"][1].update(colour=1),
        "companies[0].groups[1].colour",
    ),
    (
        "user",
        lambda d: d["companies"][0]["users"][0].update(fax="1"),
        "companies[0].users[0].fax",
    ),
    ("path", lambda d: d["companies"][0]["paths"][0].update(tags=[]), "companies[0].paths[0].tags"),
    (
        "session",
        lambda d: d["companies"][0]["sessions"][0].update(sessionId="x"),
        "companies[0].sessions[0].sessionId",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "where"), [f[1:] for f in UNKNOWN_FIELDS], ids=[f[0] for f in UNKNOWN_FIELDS]
)
async def test_unknown_fields_are_refused(
    db: Database, world: World, mutate: Mutation, where: str
) -> None:
    doc = example()
    mutate(doc)
    error = await load_fails(db, doc)
    assert (error.where, error.problem) == (where, "unknown field")


async def test_unknown_top_level_field_and_wrong_shapes_are_refused(db: Database) -> None:
    error = await load_fails(db, {"companies": [], "version": 2})
    assert error.where.endswith("version")
    assert error.problem == "unknown field"
    not_objects: list[Any] = [[], "companies", None]
    for document in not_objects:
        assert (await load_fails(db, document)).where == "$"
    error = await load_fails(db, {"companies": {"name": "Acme"}})
    assert error.where.endswith("companies")
    doc = example()
    doc["companies"].append("Beta")
    assert (await load_fails(db, doc)).where == "companies[1]"
    doc = example()
    doc["companies"][0]["users"] = {"mail": "x@acme.test"}
    assert (await load_fails(db, doc)).where == "companies[0].users"


@pytest.mark.parametrize("kind", ["users", "paths", "groups"])
async def test_an_id_given_twice_in_one_document_is_refused(db: Database, kind: str) -> None:
    """Two different objects under one id would silently merge into one: a bad id."""
    doc = example()
    items = doc["companies"][0][kind]
    items[1]["id"] = items[0]["id"]
    items[1].pop("parent", None)
    error = await load_fails(db, doc)
    assert error.where == f"companies[0].{kind}[1].id"


# --- Through the CLI: `pathsessions load [--reset] FILE` -----------------------------------


def sync_dump(database_url: str, *, timestamps: bool = True) -> Dump:
    async def go() -> Dump:
        db = await open_database(database_url, pg_pool_size=1)
        try:
            return await dump(db, timestamps=timestamps)
        finally:
            await db.close()

    return asyncio.run(go())


def write(tmp_path: Path, document: Any, name: str = "doc.json") -> str:
    file = tmp_path / name
    file.write_text(json.dumps(document), encoding="utf-8")
    return str(file)


def test_cli_load_example(cli: Cli, live: LiveApp, database_url: str) -> None:
    out = cli.ok("load", str(EXAMPLE_FILE))
    assert out.splitlines()[0] == f"companies[0]: company {ACME} (Acme Learning)"
    assert EXAMPLE_KEY not in out
    r = live.request(
        "POST",
        "/api/v1/paths/6c0000000000000000000001/sessions/",
        json={
            "sessionName": "Cohort 2",
            "startDate": "2030-02-01T09:00:00Z",
            "sessionOwnerGroup": "6a0000000000000000000002",
            "instructorsMails": ["ines@acme.test"],
        },
        params={"company": ACME, "apiKey": EXAMPLE_KEY},
    )
    assert r.status_code == 200, r.text
    once = sync_dump(database_url, timestamps=False)
    cli.ok("load", str(EXAMPLE_FILE))
    assert sync_dump(database_url, timestamps=False) == once


def test_cli_load_prints_a_generated_key_once(
    cli: Cli, live: LiveApp, tmp_path: Path, database_url: str
) -> None:
    doc = example()
    del doc["companies"][0]["apiKeys"]
    file = write(tmp_path, doc)
    out = cli.ok("load", file)
    keys = re.findall(rf"^  companies\[0\]  {ACME}  (\S+)$", out, re.M)
    assert len(keys) == 1, out
    assert live.probe(ACME, keys[0]) == 404
    again = cli.ok("load", file)
    assert "new API key" not in again
    assert keys[0] not in again
    assert len(sync_dump(database_url)["api_keys"]) == 1


def test_cli_load_bad_document_changes_nothing(cli: Cli, tmp_path: Path, database_url: str) -> None:
    cli.ok("load", str(EXAMPLE_FILE))
    before = sync_dump(database_url)
    doc = example()
    doc["companies"][0]["name"] = "Renamed"
    doc["companies"][0]["users"].append({"mail": "OWNER@acme.test"})
    assert cli.failed("load", write(tmp_path, doc)) == (
        "error: companies[0].users[3].mail: duplicate e-mail\n"
    )
    assert cli.failed("load", "--reset", write(tmp_path, doc)) == (
        "error: companies[0].users[3].mail: duplicate e-mail\n"
    )
    doc = example()
    doc["companies"][0]["sessions"][0]["startDate"] = "2030-01-01T25:00:00Z"
    assert cli.failed("load", write(tmp_path, doc)) == (
        "error: companies[0].sessions[0].startDate: invalid_start_date\n"
    )
    assert sync_dump(database_url) == before


def test_cli_load_reset(cli: Cli, live: LiveApp, tmp_path: Path, database_url: str) -> None:
    cli.ok("load", str(EXAMPLE_FILE))
    doc = example()
    doc["companies"][0]["apiKeys"] = ["replacement-key"]
    doc["companies"][0]["sessions"] = []
    out = cli.ok("load", "--reset", write(tmp_path, doc))
    assert out.splitlines()[:2] == [
        f"companies[0]: deleted company {ACME}",
        f"companies[0]: company {ACME} (Acme Learning)",
    ]
    assert sync_dump(database_url)["path_sessions"] == []
    assert live.probe(ACME, EXAMPLE_KEY) == 401
    assert live.probe(ACME, "replacement-key") == 404


def test_cli_load_prints_generated_ids(cli: Cli, database_url: str) -> None:
    """fixtures.md: an id left out "is generated and printed"."""
    out = cli.ok("load", str(EXAMPLE_FILE))
    state = sync_dump(database_url)
    generated = [r[0] for r in state["users"] if r[0] != "6b0000000000000000000001"]
    generated += [r[0] for r in state["paths"] if r[0] != "6c0000000000000000000001"]
    generated += [r[0] for r in state["path_sessions"]]
    assert len(generated) == 4
    assert [i for i in generated if i not in out] == [], out


def test_cli_reload_after_revoking_a_literal_key(cli: Cli, live: LiveApp) -> None:
    """An operator revokes the document's key, then loads the document again."""
    cli.ok("load", str(EXAMPLE_FILE))
    [key] = json.loads(cli.ok("key", "list", "--company", ACME, "--json"))
    cli.ok("key", "revoke", "--company", ACME, key["id"])
    assert live.probe(ACME, EXAMPLE_KEY) == 401
    result = cli("load", str(EXAMPLE_FILE))  # must not escape as an exception/traceback
    if result.code == 1:
        assert result.err.startswith("error: companies[0].apiKeys[0]: ")
    else:
        assert result.code == 0
        assert live.probe(ACME, EXAMPLE_KEY) == 404


async def test_a_deleted_platform_owner_is_refused(db: Database) -> None:
    doc = example()
    doc["companies"][0]["users"][0]["status"] = "deleted"  # the owner, owner@acme.test
    error = await load_fails(db, doc)
    assert str(error) == "companies[0].owner: the platform owner must not be a deleted user"


async def test_two_paths_of_one_name_without_ids_are_refused(db: Database) -> None:
    doc = example()
    paths = doc["companies"][0]["paths"]
    paths.append({"name": "Old path", "group": paths[1]["group"]})
    error = await load_fails(db, doc)
    assert str(error) == "companies[0].paths[2].name: duplicate path"


async def test_keys_can_be_left_ungenerated(db: Database) -> None:
    doc = example()
    del doc["companies"][0]["apiKeys"]
    report = await load_document(db, doc, generate_keys=False)
    assert report.generated_keys == {}
    assert await rows(db, "SELECT COUNT(*) FROM api_keys") == [(0,)]


async def test_a_nul_character_is_refused_on_every_backend(db: Database) -> None:
    doc = example()
    doc["companies"][0]["groups"][1]["name"] = "Sa\u0000les"
    error = await load_fails(db, doc)
    assert str(error) == "companies[0].groups[1].name: must not contain NUL characters"
