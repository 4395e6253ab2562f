"""v2 path sessions through the real app: the checks every one-session operation starts with,
edit (partial, nulls, its checks in order, the ended-session rules by the server's clock, copies
to child sessions), delete, and the child-session edit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pathsessions.core.clock import SettableClock
from pathsessions.storage import Database
from support import UNKNOWN_ID, World, count_rows
from support.sessions_v2 import (
    assert_path_session,
    assert_v2_error,
    child_url,
    create,
    load_acme,
    session_url,
)
from support.v2 import v2_headers

SECOND_PATH = "6c0000000000000000000003"
ROOT = "6d0000000000000000000001"
CHILD = "6d0000000000000000000002"
SECOND_CHILD = "6d0000000000000000000003"
ELSEWHERE = "6d0000000000000000000004"
# 2030-01-01T00:00:00Z
NEW_YEAR_2030 = 1_893_456_000_000
DAY = 86_400_000


def _session(session_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": session_id,
        "path": "6c0000000000000000000001",
        "sessionName": name,
        "startDate": "2030-01-01T09:00:00.000Z",
        "endDate": "2030-01-31T09:00:00.000Z",
        "sessionOwnerGroup": "6a0000000000000000000001",
        "instructorsMails": ["ines@acme.test"],
        **extra,
    }


async def _family(db: Database, world: World) -> None:
    """A root session with two child sessions, and a session of another path."""
    await load_acme(
        db,
        paths=[{"id": SECOND_PATH, "name": "Second", "group": world.root_group}],
        sessions=[
            _session(ROOT, "Root", isAudienceBuilder=True),
            _session(CHILD, "Child", rootSession=ROOT, sessionAdditionalInformation="C-1"),
            _session(SECOND_CHILD, "Second child", rootSession=ROOT),
            _session(ELSEWHERE, "Elsewhere", path=SECOND_PATH),
        ],
    )


# --- The common checks --------------------------------------------------------------------------

_OPERATIONS = [
    ("GET", session_url, None),
    ("PATCH", session_url, {"name": "Renamed"}),
    ("DELETE", session_url, None),
    ("PATCH", child_url, {"additionalInformation": "X"}),
]


@pytest.mark.parametrize(("method", "url", "body"), _OPERATIONS)
async def test_path_then_session_then_their_link_are_checked_in_order(
    client: httpx.AsyncClient,
    world: World,
    db: Database,
    method: str,
    url: Any,
    body: Any,
) -> None:
    await _family(db, world)
    headers = await v2_headers(client)
    session = CHILD if url is child_url else ROOT
    cases = [
        (url(UNKNOWN_ID, UNKNOWN_ID), 404, "pathNotFound"),
        (url(session, "not-a-path"), 404, "pathNotFound"),
        (url(session, world.other_path), 404, "pathNotFound"),
        (url(UNKNOWN_ID), 404, "sessionNotFound"),
        (url("not-a-session"), 404, "sessionNotFound"),
        (url(session, SECOND_PATH), 400, "sessionNotBelongToPath"),
        (url(ELSEWHERE), 400, "sessionNotBelongToPath"),
    ]
    for target, status, code in cases:
        r = await client.request(method, target, json=body, headers=headers)
        assert_v2_error(r, status, code)
    assert await count_rows(db, "path_sessions") == 4


# --- Edit ----------------------------------------------------------------------------------------


async def test_an_edit_changes_what_it_names_and_null_clears(
    client: httpx.AsyncClient, world: World, settable_clock: SettableClock
) -> None:
    settable_clock.set(NEW_YEAR_2030 - 10 * DAY)
    headers = await v2_headers(client)
    created = await create(
        client,
        headers,
        endDate="2030-02-01T09:00:00.000Z",
        userLimit=5,
        automaticReenrollment={
            "type": "pathCompletionDate",
            "delayDays": 1,
            "recurrenceMonths": 12,
        },
        ipFiltering={"active": False, "authorizedAddresses": []},
        additionalInformation="REG-1",
        instructorIds=[world.second_instructor],
    )
    url = session_url(created["_id"])
    settable_clock.advance(1000)
    r = await client.patch(url, json={"name": "Renamed"}, headers=headers)
    assert r.status_code == 200, r.text
    renamed = r.json()
    assert renamed == {
        **created,
        "name": "Renamed",
        "modifiedAt": "2029-12-22T00:00:01.000Z",
    }
    settable_clock.advance(1000)
    cleared = {
        "endDate": None,
        "userLimit": None,
        "automaticReenrollment": None,
        "ipFiltering": None,
        "additionalInformation": None,
    }
    r = await client.patch(url, json=cleared, headers=headers)
    session = r.json()
    assert_path_session(session)
    assert not set(cleared) & set(session)
    assert session["modifiedAt"] == "2029-12-22T00:00:02.000Z"
    changes = {
        "startDate": "2030-03-01T09:00:00.000Z",
        "endDate": "2030-04-01T09:00:00.000Z",
        "mainInstructorId": world.second_instructor,
        "instructorIds": [world.instructor, world.second_instructor, world.owner],
        "groupId": world.root_group,
        "registrationRequestValidation": "instructors",
        "userLimit": 9,
        "automaticReenrollment": {
            "type": "pathCompletionDate",
            "delayDays": 2,
            "recurrenceMonths": 6,
        },
        "ipFiltering": {"active": True, "authorizedAddresses": ["10.*.*.*"]},
        "additionalInformation": "REG-2",
    }
    r = await client.patch(url, json=changes, headers=headers)
    session = r.json()
    assert session == {
        **session,
        **changes,
        "instructorIds": [world.instructor, world.owner],
    }
    r = await client.get(url, headers=headers)
    assert r.json() == session


async def test_an_empty_edit_moves_modified_at_only(
    client: httpx.AsyncClient, world: World, settable_clock: SettableClock
) -> None:
    settable_clock.set(NEW_YEAR_2030 - DAY)
    headers = await v2_headers(client)
    created = await create(client, headers)
    settable_clock.advance(5000)
    r = await client.patch(session_url(created["_id"]), json={}, headers=headers)
    assert r.json() == {**created, "modifiedAt": "2029-12-31T00:00:05.000Z"}


async def test_an_ended_session_cannot_be_edited_by_the_servers_clock(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    await _family(db, world)
    url = session_url(ROOT)
    end = NEW_YEAR_2030 + 30 * DAY + 9 * 3_600_000  # the root's end date
    settable_clock.set(end - 1)
    headers = await v2_headers(client)
    r = await client.patch(url, json={"name": "Still running"}, headers=headers)
    assert r.status_code == 200, r.text
    settable_clock.set(end)  # an end date at now has passed
    headers = await v2_headers(client)
    assert_v2_error(await client.patch(url, json={}, headers=headers), 400, "sessionEnded")
    r = await client.patch(url, json={"name": "Too late"}, headers=headers)
    assert_v2_error(r, 400, "sessionEnded")
    for end_date in (None, "2031-01-01T00:00:00.000Z"):
        r = await client.patch(
            url, json={"endDate": end_date, "groupId": UNKNOWN_ID}, headers=headers
        )
        assert_v2_error(r, 400, "unsupportedEndDateUpdate")
    r = await client.get(url, headers=headers)
    assert r.json()["name"] == "Still running"


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("child", 400, "childPathSession"),
        ("ended", 400, "sessionEnded"),
        ("group", 404, "groupNotFound"),
        ("other company's group", 404, "groupNotFound"),
        ("users", 404, "usersNotFound"),
        ("dates", 400, "invalidStartOrEndDate"),
        ("addresses", 400, "invalidIpFiltering"),
        ("certificate", 400, "missingCertificate"),
        ("registration", 400, "invalidRegistrationRequestOption"),
    ],
)
async def test_edit_checks_in_order(
    client: httpx.AsyncClient,
    world: World,
    db: Database,
    settable_clock: SettableClock,
    case: str,
    status: int,
    code: str,
) -> None:
    await _family(db, world)
    settable_clock.set(NEW_YEAR_2030 + 60 * DAY)  # after the root's end
    headers = await v2_headers(client)
    # Every later check broken: the group is one without managers, the option needs one.
    body: dict[str, Any] = {
        "groupId": UNKNOWN_ID,
        "mainInstructorId": UNKNOWN_ID,
        "startDate": "2031-01-02T00:00:00.000Z",
        "endDate": "2031-01-01T00:00:00.000Z",
        "ipFiltering": {"active": True, "authorizedAddresses": ["1.2.3.4/40"]},
        "automaticReenrollment": {"type": "certificationExpiryDate", "delayDays": 3},
        "registrationRequestValidation": "adminsAndManagers",
    }
    target = ROOT
    # Each step repairs the check before it.
    steps: list[tuple[str, dict[str, Any], str]] = [
        ("child", {}, CHILD),
        ("ended", {}, ROOT),
        ("group", {}, ROOT),
        ("other company's group", {"groupId": world.other_group}, ROOT),
        ("users", {"groupId": world.sales_group}, ROOT),
        ("dates", {"mainInstructorId": world.owner, "endDate": "2031-01-01T00:00:00.000Z"}, ROOT),
        ("addresses", {"endDate": None}, ROOT),
        ("certificate", {"ipFiltering": None}, ROOT),
        ("registration", {"automaticReenrollment": None}, ROOT),
    ]
    for name, repair, session in steps:
        body.update(repair)
        target = session
        if name == "group":
            settable_clock.set(NEW_YEAR_2030)  # the root has not ended now
            headers = await v2_headers(client)
        if name == case:
            break
    if case == "ended":
        body.pop("endDate")
    before = (await client.get(session_url(target), headers=headers)).json()
    r = await client.patch(session_url(target), json=body, headers=headers)
    assert_v2_error(r, status, code)
    assert (await client.get(session_url(target), headers=headers)).json() == before


async def test_the_registration_option_is_judged_on_the_group_after_the_edit(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await load_acme(db, users=[{"mail": "coach@acme.test", "roles": {world.root_group: "admin"}}])
    headers = await v2_headers(client)
    session = await create(client, headers, mainInstructorId=world.owner)
    assert session["groupId"] == world.root_group  # the owner authors nowhere: the path's group
    url = session_url(session["_id"])
    r = await client.patch(url, json={"registrationRequestValidation": "managers"}, headers=headers)
    assert r.status_code == 200, r.text
    r = await client.patch(url, json={"groupId": world.sales_group}, headers=headers)
    assert_v2_error(r, 400, "invalidRegistrationRequestOption")
    both = {"groupId": world.sales_group, "registrationRequestValidation": "disabled"}
    r = await client.patch(url, json=both, headers=headers)
    assert r.json()["groupId"] == world.sales_group


async def test_instructor_changes_are_copied_to_child_sessions(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    await _family(db, world)
    settable_clock.set(NEW_YEAR_2030)
    headers = await v2_headers(client)
    # A child session follows its root's instructors from the start.
    for child in (CHILD, SECOND_CHILD):
        r = await client.get(session_url(child), headers=headers)
        assert r.json()["mainInstructorId"] == world.instructor
        assert r.json()["rootSessionId"] == ROOT
    edit = {"mainInstructorId": world.second_instructor, "instructorIds": [world.owner]}
    r = await client.patch(session_url(ROOT), json=edit, headers=headers)
    assert r.status_code == 200, r.text
    for child in (CHILD, SECOND_CHILD):
        session = (await client.get(session_url(child), headers=headers)).json()
        assert session["mainInstructorId"] == world.second_instructor
        assert session["instructorIds"] == [world.owner]
        assert session["modifiedAt"] == "2030-01-01T00:00:00.000Z"
    # Other fields are not copied.
    await client.patch(session_url(ROOT), json={"name": "Renamed"}, headers=headers)
    assert (await client.get(session_url(CHILD), headers=headers)).json()["name"] == "Child"


# --- Delete --------------------------------------------------------------------------------------


async def test_delete_answers_204_empty_and_takes_children_and_enrolments(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await _family(db, world)
    r = await client.patch(
        f"/api/v1/paths/sessions/{ROOT}/users",
        json={"userEmails": [world.second_instructor_mail]},
        headers=world.headers,
    )
    assert r.status_code == 200, r.text
    headers = await v2_headers(client)
    r = await client.delete(session_url(ROOT), headers=headers)
    assert r.status_code == 204
    assert r.content == b""
    for gone in (ROOT, CHILD, SECOND_CHILD):
        assert_v2_error(
            await client.get(session_url(gone), headers=headers), 404, "sessionNotFound"
        )
    assert await count_rows(db, "path_sessions") == 1
    assert await count_rows(db, "session_users") == 0
    assert await count_rows(db, "session_instructors") == 1
    assert_v2_error(await client.delete(session_url(ROOT), headers=headers), 404, "sessionNotFound")


async def test_a_child_session_can_be_deleted_alone(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await _family(db, world)
    headers = await v2_headers(client)
    assert (await client.delete(session_url(CHILD), headers=headers)).status_code == 204
    assert (await client.get(session_url(SECOND_CHILD), headers=headers)).status_code == 200
    assert (await client.get(session_url(ROOT), headers=headers)).status_code == 200


# --- Child sessions --------------------------------------------------------------------------


async def test_a_child_session_edit_changes_its_instructors_and_information(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    await _family(db, world)
    settable_clock.set(NEW_YEAR_2030)
    headers = await v2_headers(client)
    before = (await client.get(session_url(CHILD), headers=headers)).json()
    assert before["additionalInformation"] == "C-1"
    edit = {
        "mainInstructorId": world.owner,
        "instructorIds": [world.instructor, world.owner],
        "additionalInformation": None,
        "name": "not a field of a child",
    }
    settable_clock.advance(1000)
    r = await client.patch(child_url(CHILD), json=edit, headers=headers)
    assert r.status_code == 200, r.text
    session = r.json()
    assert_path_session(session)
    expected = {**before, "mainInstructorId": world.owner, "instructorIds": [world.instructor]}
    del expected["additionalInformation"]
    assert session == {**expected, "modifiedAt": "2030-01-01T00:00:01.000Z"}
    # Its root and sibling are untouched.
    root = (await client.get(session_url(ROOT), headers=headers)).json()
    assert root["mainInstructorId"] == world.instructor
    r = await client.patch(child_url(CHILD), json={"additionalInformation": "C-2"}, headers=headers)
    assert r.json()["additionalInformation"] == "C-2"


async def test_a_child_session_edit_checks_in_order(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    await _family(db, world)
    settable_clock.set(NEW_YEAR_2030 + 60 * DAY)
    headers = await v2_headers(client)
    unknown = {"mainInstructorId": UNKNOWN_ID}
    assert_v2_error(
        await client.patch(child_url(ROOT), json=unknown, headers=headers), 400, "rootPathSession"
    )
    assert_v2_error(
        await client.patch(child_url(CHILD), json=unknown, headers=headers), 400, "sessionEnded"
    )
    settable_clock.set(NEW_YEAR_2030)
    headers = await v2_headers(client)
    r = await client.patch(child_url(CHILD), json={"instructorIds": [UNKNOWN_ID]}, headers=headers)
    assert_v2_error(r, 404, "usersNotFound")
    r = await client.patch(child_url(CHILD), json={"additionalInformation": ""}, headers=headers)
    assert_v2_error(r, 400, "badRequest")
