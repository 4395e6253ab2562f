"""v2 path sessions through the real app: create (its shape, its owner group, its checks in
order), read one, the two lists with their pages and filters, scopes and tenancy."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pathsessions.core.clock import SettableClock
from pathsessions.storage import Database
from support import ABSENT, UNKNOWN_ID, World, count_rows
from support.sessions_v2 import (
    ALL_SESSIONS,
    LINK,
    REQUIRED,
    assert_path_session,
    assert_v2_error,
    create,
    create_body,
    load_acme,
    session_url,
    sessions_url,
)
from support.v2 import v2_headers
from support.world import ACME_DIRECTORY_READ, ACME_PATHS_READ, OTHER_FULL

SECOND_PATH = "6c0000000000000000000003"


# --- Create ---------------------------------------------------------------------------------


async def test_a_created_session_has_every_required_field_and_no_absent_one(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await v2_headers(client)
    session = await create(client, headers)
    assert_path_session(session)
    assert set(session) == REQUIRED
    assert session["pathId"] == world.path
    assert session["name"] == "Cohort 1"
    assert session["startDate"] == "2030-01-01T09:00:00.000Z"
    assert session["mainInstructorId"] == world.instructor
    assert session["instructorIds"] == []
    # The instructor authors (`author` is `editor`) in Sales only.
    assert session["groupId"] == world.sales_group
    assert session["registrationRequestValidation"] == "disabled"
    assert session["isAudienceBuilder"] is True
    assert session["translations"] == []
    assert session["createdAt"] == session["modifiedAt"]
    r = await client.get(session_url(session["_id"]), headers=headers)
    assert r.status_code == 200
    assert r.json() == session


async def test_a_created_session_keeps_every_optional_field(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await v2_headers(client)
    addresses = ["141.25.186.74", "56.231.*.85", "96.127.36.47/28", "2001:db8::/32", "::1"]
    session = await create(
        client,
        headers,
        startDate="2030-01-01T10:00:00+01:00",
        endDate="2030-02-01T09:00:00.5Z",
        userLimit=12,
        automaticReenrollment={
            "type": "pathCompletionDate",
            "delayDays": 90,
            "recurrenceMonths": 3,
        },
        ipFiltering={"active": True, "authorizedAddresses": addresses},
        additionalInformation="REG-42",
        instructorIds=[world.second_instructor.upper(), world.instructor, world.second_instructor],
    )
    assert_path_session(session)
    assert set(session) == REQUIRED | {
        "endDate",
        "userLimit",
        "automaticReenrollment",
        "ipFiltering",
        "additionalInformation",
    }
    assert session["startDate"] == "2030-01-01T09:00:00.000Z"
    assert session["endDate"] == "2030-02-01T09:00:00.500Z"
    assert session["userLimit"] == 12
    assert session["automaticReenrollment"] == {
        "type": "pathCompletionDate",
        "delayDays": 90,
        "recurrenceMonths": 3,
    }
    assert session["ipFiltering"] == {"active": True, "authorizedAddresses": addresses}
    assert session["additionalInformation"] == "REG-42"
    # Each co-instructor once, the main one not among them.
    assert session["instructorIds"] == [world.second_instructor]
    r = await client.get(session_url(session["_id"]), headers=headers)
    assert r.json() == session


async def test_the_owner_group_is_public_then_shallowest_then_largest_then_smallest_id(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    private_root, public_child = "6a00000000000000000000a1", "6a00000000000000000000a2"
    small, large = "6a00000000000000000000b2", "6a00000000000000000000b1"
    tie_high, tie_low = "6a00000000000000000000c2", "6a00000000000000000000c1"
    own = "6a00000000000000000000d1"
    users: list[dict[str, Any]] = [
        # Public beats shallow: a public child before a private root.
        {"mail": "u1@acme.test", "roles": {private_root: "editor", public_child: "admin"}},
        # Shallowest among public ones: the root Acme before its public child.
        {"mail": "u2@acme.test", "roles": {public_child: "owner", world.root_group: "editor"}},
        # Then the most members (users holding any role there).
        {"mail": "u3@acme.test", "roles": {small: "contributor", large: "contributor"}},
        {"mail": "member@acme.test", "roles": {large: "learner"}},
        # Then the smallest id.
        {"mail": "u4@acme.test", "roles": {tie_high: "editor", tie_low: "editor"}},
        # No authoring role anywhere: the path's group.
        {"mail": "u5@acme.test", "roles": {world.root_group: "coach", own: "analyst"}},
    ]
    await load_acme(
        db,
        groups=[
            {"id": private_root, "name": "Private"},
            {
                "id": public_child,
                "name": "Public child",
                "public": True,
                "parent": world.root_group,
            },
            {"id": small, "name": "Small", "public": True},
            {"id": large, "name": "Large", "public": True},
            {"id": tie_high, "name": "Tie high", "public": True},
            {"id": tie_low, "name": "Tie low", "public": True},
            {"id": own, "name": "Path owner"},
        ],
        users=users,
        paths=[{"id": SECOND_PATH, "name": "Second", "group": own}],
    )
    ids = {
        row[1]: row[0]
        for row in await db.fetchall("SELECT id, mail FROM users WHERE mail LIKE 'u_@acme.test'")
    }
    headers = await v2_headers(client)
    expected = {
        "u1@acme.test": public_child,
        "u2@acme.test": world.root_group,
        "u3@acme.test": large,
        "u4@acme.test": tie_low,
        "u5@acme.test": own,
    }
    for mail, group in expected.items():
        session = await create(client, headers, SECOND_PATH, mainInstructorId=ids[mail])
        assert session["groupId"] == group, mail


# A body that breaks every check below its own: the earlier check answers.
_ARCHIVED = "6c0000000000000000000002"


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("bad body and unknown path", 400, "badRequest"),
        ("unknown path", 404, "pathNotFound"),
        ("malformed path", 404, "pathNotFound"),
        ("other company's path", 404, "pathNotFound"),
        ("archived path", 400, "pathArchived"),
        ("deleted main instructor", 404, "usersNotFound"),
        ("unknown co-instructor", 404, "usersNotFound"),
        ("other company's user", 404, "usersNotFound"),
        ("end before start", 400, "invalidStartOrEndDate"),
        ("bad address", 400, "invalidIpFiltering"),
        ("no certificate", 400, "missingCertificate"),
        ("no manager", 400, "invalidRegistrationRequestOption"),
    ],
)
async def test_create_checks_in_order(
    client: httpx.AsyncClient, world: World, db: Database, case: str, status: int, code: str
) -> None:
    deleted = await db.fetchone("SELECT id FROM users WHERE mail = ?", world.deleted_mail)
    other = await db.fetchone("SELECT id FROM users WHERE mail = ?", world.other_user_mail)
    assert deleted is not None
    assert other is not None
    # Every later check is broken too.
    later: dict[str, Any] = {
        "registrationRequestValidation": "managers",
        "automaticReenrollment": {"type": "certificationExpiryDate", "delayDays": 30},
        "ipFiltering": {"active": True, "authorizedAddresses": ["10.0.0.1", "10.0.0.256"]},
        "endDate": "2029-12-31T09:00:00.000Z",
        "instructorIds": [UNKNOWN_ID],
    }
    # Each step repairs the check before it; the body keeps every later one broken.
    steps: list[tuple[str, dict[str, Any], str]] = [
        ("bad body and unknown path", {"name": ""}, UNKNOWN_ID),
        ("unknown path", {"name": "Cohort 1"}, UNKNOWN_ID),
        ("malformed path", {}, "not-a-path"),
        ("other company's path", {}, world.other_path),
        ("archived path", {"mainInstructorId": deleted[0]}, _ARCHIVED),
        ("deleted main instructor", {}, world.path),
        ("unknown co-instructor", {"mainInstructorId": world.instructor}, world.path),
        ("other company's user", {"instructorIds": [other[0]]}, world.path),
        ("end before start", {"instructorIds": ABSENT}, world.path),
        ("bad address", {"endDate": ABSENT}, world.path),
        ("no certificate", {"ipFiltering": ABSENT}, world.path),
        ("no manager", {"automaticReenrollment": ABSENT}, world.path),
    ]
    for name, repair, path_id in steps:
        later.update(repair)
        if name == case:
            r = await client.post(
                sessions_url(path_id), json=create_body(**later), headers=await v2_headers(client)
            )
            assert_v2_error(r, status, code)
            assert await count_rows(db, "path_sessions") == 0
            return
    raise AssertionError(case)


async def test_a_manager_based_option_needs_an_admin_or_coach_in_the_owner_group(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    headers = await v2_headers(client)
    for option in ("managers", "adminsAndManagers", "adminsCoachesInstructorsManagers"):
        r = await client.post(
            sessions_url(),
            json=create_body(registrationRequestValidation=option),
            headers=headers,
        )
        assert_v2_error(r, 400, "invalidRegistrationRequestOption")
    session = await create(client, headers, registrationRequestValidation="instructors")
    assert session["registrationRequestValidation"] == "instructors"
    await load_acme(db, users=[{"mail": "coach@acme.test", "roles": {world.sales_group: "coach"}}])
    session = await create(client, headers, registrationRequestValidation="managers")
    assert session["registrationRequestValidation"] == "managers"


async def test_certificate_reenrollment_needs_a_path_with_a_certificate(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await db.execute(
        "UPDATE paths SET certificate_id = ? WHERE id = ?", "6e0000000000000000000001", world.path
    )
    reenrollment = {"type": "certificationExpiryDate", "delayDays": 7.5}
    session = await create(client, await v2_headers(client), automaticReenrollment=reenrollment)
    assert session["automaticReenrollment"] == reenrollment


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": ABSENT}, "name: is required"),
        ({"mainInstructorId": "nope"}, "mainInstructorId: must match"),
        ({"registrationRequestValidation": "all"}, "registrationRequestValidation: "),
        ({"startDate": "2030-01-01"}, "startDate: must be a date-time"),
        ({"endDate": None}, "endDate: "),
        ({"userLimit": 0}, "userLimit: must be >= 1"),
        ({"additionalInformation": ""}, "additionalInformation: must have at least 1"),
        ({"instructorIds": ["6b0000000000000000000003"] * 101}, "instructorIds: must have at"),
        ({"automaticReenrollment": {"type": "pathCompletionDate", "delayDays": 1}}, "automa"),
        ({"automaticReenrollment": {"type": "never", "delayDays": 1}}, "automaticReenrollment"),
        ({"ipFiltering": {"active": True}}, "ipFiltering.authorizedAddresses: is required"),
        (
            {"ipFiltering": {"active": True, "authorizedAddresses": ["1.1.1.1"] * 1001}},
            "ipFiltering.authorizedAddresses: must have at most 1000",
        ),
        ({"name": "a\x00b"}, "name: must not contain NUL characters"),
    ],
)
async def test_a_malformed_create_body_is_bad_request_naming_the_field(
    client: httpx.AsyncClient, world: World, db: Database, body: dict[str, Any], message: str
) -> None:
    r = await client.post(
        sessions_url(), json=create_body(**body), headers=await v2_headers(client)
    )
    assert_v2_error(r, 400, "badRequest")
    assert r.json()["error"]["message"].startswith(message), r.json()
    assert await count_rows(db, "path_sessions") == 0


# --- Scopes and tenancy ------------------------------------------------------------------------


async def test_reading_needs_paths_read_and_writing_paths_write(
    client: httpx.AsyncClient, world: World
) -> None:
    session = await create(client, await v2_headers(client))
    read_only = await v2_headers(client, ACME_PATHS_READ)
    directory = await v2_headers(client, ACME_DIRECTORY_READ)
    one = session_url(session["_id"])
    writes = [
        ("POST", sessions_url(), create_body()),
        ("PATCH", one, {"name": "Renamed"}),
        ("DELETE", one, None),
        ("PATCH", f"/api/v2/paths/{world.path}/child-sessions/{session['_id']}", {}),
    ]
    reads = [sessions_url(), ALL_SESSIONS, one]
    for method, url, body in writes:
        for headers in (read_only, directory):
            r = await client.request(method, url, json=body, headers=headers)
            assert_v2_error(r, 403, "invalid_scope")
    for url in reads:
        assert (await client.get(url, headers=read_only)).status_code == 200
        assert_v2_error(await client.get(url, headers=directory), 403, "invalid_scope")


async def test_another_companys_path_and_session_are_not_found(
    client: httpx.AsyncClient, world: World
) -> None:
    session = await create(client, await v2_headers(client))
    other = await v2_headers(client, OTHER_FULL)
    assert_v2_error(await client.get(sessions_url(), headers=other), 404, "pathNotFound")
    r = await client.get(session_url(session["_id"]), headers=other)
    assert_v2_error(r, 404, "pathNotFound")
    for method, body in (("GET", None), ("PATCH", {}), ("DELETE", None)):
        url = session_url(session["_id"], world.other_path)
        r = await client.request(method, url, json=body, headers=other)
        assert_v2_error(r, 404, "sessionNotFound")
    r = await client.post(sessions_url(), json=create_body(), headers=other)
    assert_v2_error(r, 404, "pathNotFound")
    assert (await client.get(ALL_SESSIONS, headers=other)).json() == []


async def test_the_company_list_is_not_a_path_named_sessions(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await v2_headers(client)
    session = await create(client, headers)
    r = await client.get(ALL_SESSIONS, headers=headers)
    assert r.status_code == 200
    assert [s["_id"] for s in r.json()] == [session["_id"]]
    assert_v2_error(
        await client.get(sessions_url("sessions"), headers=headers), 404, "pathNotFound"
    )


# --- Lists ---------------------------------------------------------------------------------------


def _fixture_sessions(count: int, path: str, start: int = 0, **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": f"6d{path[-2:]}{i:020x}",
            "path": path,
            "sessionName": f"S{i}",
            "startDate": f"2030-01-{1 + i % 28:02d}T09:00:00.000Z",
            "sessionOwnerGroup": "6a0000000000000000000001",
            "instructorsMails": ["ines@acme.test", "ivan@acme.test"],
            **extra,
        }
        for i in range(start, start + count)
    ]


async def _pages(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> list[list[Any]]:
    pages = []
    next_url: str | None = url
    while next_url is not None:
        r = await client.get(next_url, headers=headers)
        assert r.status_code == 200, r.text
        pages.append(r.json())
        link = r.headers.get("link")
        next_url = None if link is None else LINK.fullmatch(link)["url"]  # type: ignore[index]
    return pages


async def test_the_sessions_of_a_path_come_100_a_page_and_keep_their_filter(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    # 101 sessions start in January 2030, 3 in 2031; 2 are on another path.
    sessions = _fixture_sessions(101, world.path)
    late = _fixture_sessions(3, world.path, 200, startDate="2031-06-01T09:00:00.000Z")
    await load_acme(
        db,
        paths=[{"id": SECOND_PATH, "name": "Second", "group": world.root_group}],
        sessions=sessions + late + _fixture_sessions(2, SECOND_PATH),
    )
    headers = await v2_headers(client)
    url = sessions_url() + "?startDate[lt]=2031-01-01"
    pages = await _pages(client, url, headers)
    assert [len(p) for p in pages] == [100, 1]
    ids = [s["_id"] for page in pages for s in page]
    assert ids == sorted(s["id"] for s in sessions)
    first = pages[0][0]
    assert_path_session(first)
    # A session loaded through v1's fields: its first instructor is the main one.
    assert first["mainInstructorId"] == world.instructor
    assert first["instructorIds"] == [world.second_instructor]
    assert first["isAudienceBuilder"] is False
    assert first["registrationRequestValidation"] == "disabled"
    assert first["translations"] == []
    assert [len(p) for p in await _pages(client, sessions_url(), headers)] == [100, 4]
    r = await client.get(sessions_url(UNKNOWN_ID), headers=headers)
    assert_v2_error(r, 404, "pathNotFound")


async def test_all_sessions_come_500_a_page_without_translations(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    translated = {
        "lang": "fr",
        "published": True,
        "translatorIds": [world.instructor],
        "translatedFields": {"name": "Cohorte"},
    }
    sessions = _fixture_sessions(499, world.path) + _fixture_sessions(
        2, world.path, 600, translations=[translated]
    )
    await load_acme(db, sessions=sessions)
    headers = await v2_headers(client)
    pages = await _pages(client, ALL_SESSIONS, headers)
    assert [len(p) for p in pages] == [500, 1]
    assert all("translations" not in s for page in pages for s in page)
    assert all(set(s) >= REQUIRED - {"translations"} for page in pages for s in page)
    one = await client.get(session_url(sessions[-1]["id"]), headers=headers)
    assert one.json()["translations"] == [translated]


async def test_every_filter_of_the_lists(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    await load_acme(
        db,
        paths=[{"id": SECOND_PATH, "name": "Second", "group": world.root_group}],
        sessions=[
            {
                **_fixture_sessions(1, world.path, 0)[0],
                "startDate": "2030-01-01T09:00:00.000Z",
                "endDate": "2030-01-10T09:00:00.000Z",
                "createdAt": "2025-01-01T00:00:00.000Z",
            },
            {
                **_fixture_sessions(1, world.path, 1)[0],
                "startDate": "2030-02-01T09:00:00.000Z",
                "createdAt": "2025-02-01T00:00:00.000Z",
            },
            {
                **_fixture_sessions(1, SECOND_PATH, 2)[0],
                "startDate": "2030-03-01T09:00:00.000Z",
                "endDate": "2030-03-10T09:00:00.000Z",
                "createdAt": "2025-03-01T00:00:00.000Z",
            },
        ],
    )
    a, b = (s["id"] for s in _fixture_sessions(2, world.path))
    c = _fixture_sessions(1, SECOND_PATH, 2)[0]["id"]
    settable_clock.set(1_900_000_000_000)  # 2030-03-17
    headers = await v2_headers(client)
    r = await client.patch(session_url(b), json={}, headers=headers)
    assert r.json()["modifiedAt"] == "2030-03-17T17:46:40.000Z"

    async def ids(url: str) -> list[str]:
        r = await client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        return [s["_id"] for s in r.json()]

    cases = {
        "createdAt[gte]=2025-02-01": [b, c],
        "createdAt[lt]=2025-02-01T00:00:00.000Z": [a],
        "modifiedAt[gte]=2030-03-17": [b],
        "startDate[gte]=2030-01-15&startDate[lt]=2030-02-15": [b],
        "endDate[lt]=2030-03-01": [a],
        "endDate[gte]=2030-01-10T09:00:00.000Z": [a, c],
        f"sessionId[eq]={a}": [a],
        f"sessionId[ne]={a}": [b, c],
        f"sessionId[in]={a}&sessionId[in]={c.upper()}": [a, c],
        f"sessionId[nin][0]={a}&sessionId[nin][1]={b}": [c],
        f"pathId[eq]={SECOND_PATH}": [c],
        f"pathId[in]={world.path}&startDate[gte]=2030-01-15": [b],
    }
    for query, expected in cases.items():
        assert await ids(f"{ALL_SESSIONS}?{query}") == expected, query
    assert await ids(sessions_url() + "?createdAt[gte]=2025-01-15") == [b]
    assert await ids(sessions_url(SECOND_PATH) + "?endDate[gte]=2030-01-01") == [c]
    # The list of a path takes no id filter.
    r = await client.get(sessions_url() + f"?pathId[eq]={world.path}", headers=headers)
    assert_v2_error(r, 400, "badRequest")
    r = await client.get(ALL_SESSIONS + "?startDate[eq]=2030-01-01", headers=headers)
    assert_v2_error(r, 400, "badRequest")
