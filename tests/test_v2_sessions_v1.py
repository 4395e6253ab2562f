"""v1 and v2 over the same sessions: a session created through either is read, edited and deleted
through the other; and the fixture keys of v2's session settings."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pathsessions.loader import FixtureError
from pathsessions.storage import Database
from support import World, created_id, valid_body
from support.sessions_v2 import (
    ALL_SESSIONS,
    assert_path_session,
    assert_v2_error,
    create,
    load_acme,
    session_url,
    sessions_url,
)
from support.v2 import v2_headers


def v1_url(session_id: str) -> str:
    return f"/api/v1/paths/sessions/{session_id}"


async def test_a_v1_session_is_read_edited_and_deleted_through_v2(
    client: httpx.AsyncClient, world: World
) -> None:
    body = valid_body(
        instructorsMails=[world.second_instructor_mail, world.instructor_mail],
        sessionOwnerGroup=world.root_group,
    )
    session_id = created_id(
        await client.post(world.sessions_url(), json=body, headers=world.headers)
    )
    v1 = (await client.get(v1_url(session_id), headers=world.headers)).json()
    headers = await v2_headers(client)
    r = await client.get(session_url(session_id), headers=headers)
    assert r.status_code == 200, r.text
    session = r.json()
    assert_path_session(session)
    assert session == {
        "_id": session_id,
        "pathId": world.path,
        "name": "Cohort 1",
        "startDate": "2030-01-01T09:00:00.000Z",
        "endDate": "2030-01-02T17:00:00.000Z",
        "mainInstructorId": world.second_instructor,
        "instructorIds": [world.instructor],
        "groupId": world.root_group,
        "registrationRequestValidation": "disabled",
        "isAudienceBuilder": False,
        "additionalInformation": "REG-42",
        "translations": [],
        "createdAt": v1["createdAt"],
        "modifiedAt": v1["modifiedAt"],
    }
    listed = (await client.get(ALL_SESSIONS, headers=headers)).json()
    assert listed == [{k: v for k, v in session.items() if k != "translations"}]
    edit = {
        "name": "Renamed in v2",
        "mainInstructorId": world.owner,
        "userLimit": 3,
        "additionalInformation": None,
    }
    r = await client.patch(session_url(session_id), json=edit, headers=headers)
    assert r.status_code == 200, r.text
    v1 = (await client.get(v1_url(session_id), headers=world.headers)).json()
    assert v1["sessionName"] == "Renamed in v2"
    assert v1["instructorsMails"] == [world.owner_mail, world.instructor_mail]
    assert v1["sessionAdditionalInformation"] is None
    assert v1["modifiedAt"] == r.json()["modifiedAt"]
    r = await client.delete(session_url(session_id), headers=headers)
    assert r.status_code == 204
    r = await client.get(v1_url(session_id), headers=world.headers)
    assert r.status_code == 404


async def test_a_v2_session_is_read_edited_and_deleted_through_v1(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await v2_headers(client)
    settings: dict[str, Any] = {
        "userLimit": 4,
        "ipFiltering": {"active": True, "authorizedAddresses": ["10.0.0.0/8"]},
        "registrationRequestValidation": "instructors",
    }
    created = await create(client, headers, instructorIds=[world.owner], **settings)
    session_id = created["_id"]
    r = await client.get(v1_url(session_id), headers=world.headers)
    assert r.status_code == 200, r.text
    v1 = r.json()
    assert v1["sessionName"] == "Cohort 1"
    assert v1["sessionOwnerGroup"] == world.sales_group
    assert v1["instructorsMails"] == [world.instructor_mail, world.owner_mail]
    assert v1["endDate"] is None
    assert v1["sessionAdditionalInformation"] is None
    assert v1["createdAt"] == created["createdAt"]
    v1_list = (await client.get("/api/v1/paths/sessions", headers=world.headers)).json()
    assert [s["sessionId"] for s in v1_list] == [session_id]
    r = await client.patch(
        v1_url(session_id),
        json=valid_body(
            sessionName="Renamed in v1",
            instructorsMails=[world.second_instructor_mail],
            sessionOwnerGroup=world.root_group,
        ),
        headers=world.headers,
    )
    assert r.status_code == 200, r.text
    session = (await client.get(session_url(session_id), headers=headers)).json()
    assert session["name"] == "Renamed in v1"
    assert session["mainInstructorId"] == world.second_instructor
    assert session["instructorIds"] == []
    assert session["groupId"] == world.root_group
    assert session["endDate"] == "2030-01-02T17:00:00.000Z"
    assert session["additionalInformation"] == "REG-42"
    # What v1 does not know is kept.
    assert {k: session[k] for k in settings} == settings
    assert session["isAudienceBuilder"] is True
    r = await client.delete(v1_url(session_id), headers=world.headers)
    assert r.status_code == 200, r.text
    assert_v2_error(
        await client.get(session_url(session_id), headers=headers), 404, "sessionNotFound"
    )


# --- Fixtures --------------------------------------------------------------------------------

ROOT = "6d0000000000000000000001"
CHILD = "6d0000000000000000000002"


def _session(**extra: Any) -> dict[str, Any]:
    return {
        "id": ROOT,
        "path": "6c0000000000000000000001",
        "sessionName": "Loaded",
        "startDate": "2030-01-01T09:00:00.000Z",
        "sessionOwnerGroup": "6a0000000000000000000001",
        **extra,
    }


async def test_fixtures_set_every_session_setting_and_load_twice_alike(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    settings = {
        "registrationRequestValidation": "adminsCoachesInstructorsManagers",
        "userLimit": 30,
        "automaticReenrollment": {"type": "certificationExpiryDate", "delayDays": 14},
        "ipFiltering": {"active": False, "authorizedAddresses": ["192.168.*.*", "fe80::/10"]},
        "isAudienceBuilder": True,
        "translations": [
            {"lang": "de", "published": False, "translatorIds": [], "translatedFields": {}}
        ],
    }
    sessions = [
        _session(**settings, createdAt="2024-05-06T07:08:09.000Z"),
        _session(id=CHILD, sessionName="Child", rootSession=ROOT),
    ]
    for _ in range(2):
        await load_acme(db, sessions=sessions)
    headers = await v2_headers(client)
    root = (await client.get(session_url(ROOT), headers=headers)).json()
    assert {k: root[k] for k in settings} == settings
    assert root["createdAt"] == "2024-05-06T07:08:09.000Z"
    assert root["mainInstructorId"] == world.owner  # v1's default: the platform owner
    child = (await client.get(session_url(CHILD), headers=headers)).json()
    assert child["rootSessionId"] == ROOT
    assert child["isAudienceBuilder"] is False
    assert (await client.get(sessions_url(), headers=headers)).json()[1] == child


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ({"registrationRequestValidation": "everyone"}, "registrationRequestValidation"),
        ({"userLimit": 0}, "userLimit"),
        ({"userLimit": True}, "userLimit"),
        (
            {"automaticReenrollment": {"type": "never", "delayDays": 1}},
            "automaticReenrollment.type",
        ),
        (
            {"automaticReenrollment": {"type": "pathCompletionDate", "delayDays": 1}},
            "automaticReenrollment.recurrenceMonths",
        ),
        (
            {"automaticReenrollment": {"type": "certificationExpiryDate", "delayDays": "1"}},
            "automaticReenrollment.delayDays",
        ),
        (
            {"automaticReenrollment": {"type": "certificationExpiryDate", "delayDays": 1, "x": 1}},
            "automaticReenrollment.x",
        ),
        (
            {"ipFiltering": {"active": True, "authorizedAddresses": ["1.2.3.4", "300.1.1.1"]}},
            "ipFiltering.authorizedAddresses[1]",
        ),
        ({"ipFiltering": {"authorizedAddresses": []}}, "ipFiltering"),
        ({"isAudienceBuilder": "yes"}, "isAudienceBuilder"),
        ({"translations": [{"lang": "fr"}]}, "translations"),
        (
            {
                "translations": [
                    {
                        "lang": "fr",
                        "published": True,
                        "translatorIds": ["x"],
                        "translatedFields": {},
                    }
                ]
            },
            "translations[0].translatorIds[0]",
        ),
        ({"createdAt": "yesterday"}, "createdAt"),
        ({"rootSession": "6d00000000000000000000ff"}, "rootSession"),
    ],
)
async def test_a_bad_session_setting_in_a_fixture_names_its_path(
    world: World, db: Database, extra: dict[str, Any], where: str
) -> None:
    with pytest.raises(FixtureError) as raised:
        await load_acme(db, sessions=[_session(**extra)])
    assert raised.value.where.startswith(f"companies[0].sessions[0].{where}"), raised.value


async def test_a_root_session_must_be_a_root_of_the_same_path(world: World, db: Database) -> None:
    await load_acme(
        db,
        paths=[{"id": "6c0000000000000000000003", "name": "Second", "group": world.root_group}],
        sessions=[_session(), _session(id=CHILD, sessionName="Child", rootSession=ROOT)],
    )
    for bad in (
        _session(id="6d0000000000000000000003", path="6c0000000000000000000003", rootSession=ROOT),
        _session(id="6d0000000000000000000003", rootSession=CHILD),
        _session(rootSession=ROOT),
    ):
        with pytest.raises(FixtureError) as raised:
            await load_acme(db, sessions=[bad])
        assert raised.value.where == "companies[0].sessions[0].rootSession", raised.value
