"""`PATCH /api/v1/paths/sessions/{sessionId}` (docs/api.md, "The other path-session endpoints"),
through the real app.

Errors answer in the class-validator sentence style; every error test also checks that the
session (as GET shows it) and its instructor rows did not change.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pathsessions.api.v1.errors import PATCH_FIELD_MESSAGES, PATCH_PREFIX, PATCH_RULE_MESSAGES
from pathsessions.core.clock import SYSTEM_CLOCK, SettableClock
from pathsessions.core.operators import add_group, add_user
from pathsessions.core.values import format_date, parse_date
from pathsessions.storage import Database
from support import ABSENT, ITEM_KEYS, JSON_TYPE, UNKNOWN_ID, World, error, valid_body

DETAIL_KEYS = [*ITEM_KEYS, "path", "users", "groups"]

RUNNING = PATCH_RULE_MESSAGES[0]
START_PAST = PATCH_RULE_MESSAGES[1]
END_PAST = PATCH_RULE_MESSAGES[2]
END_BEFORE_START = PATCH_RULE_MESSAGES[3]

PAST = "2020-01-01T09:00:00.000Z"
PAST_LATER = "2021-06-01T09:00:00.000Z"
FAR_FUTURE = "2099-01-01T00:00:00.000Z"
FUTURE = "2031-03-01T10:00:00.000Z"
FUTURE_LATER = "2031-03-05T18:30:00.000Z"


def field_error(message: str) -> bytes:
    return error(PATCH_PREFIX + message)


def url(session_id: str) -> str:
    return f"/api/v1/paths/sessions/{session_id}"


def patch_body(**overrides: Any) -> dict[str, Any]:
    """A full, valid update body (future dates, other values than `valid_body()`)."""
    body: dict[str, Any] = {
        "sessionName": "Cohort 2",
        "sessionOwnerGroup": "6a0000000000000000000002",
        "startDate": FUTURE,
        "endDate": FUTURE_LATER,
        "instructorsMails": ["ivan@acme.test", "ines@acme.test"],
        "sessionAdditionalInformation": "REG-43",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ABSENT}


async def create(client: httpx.AsyncClient, world: World, **overrides: Any) -> str:
    r = await client.post(world.sessions_url(), json=valid_body(**overrides), headers=world.headers)
    assert r.status_code == 200, r.text
    session_id = r.json()["_id"]
    assert isinstance(session_id, str)
    return session_id


async def get(client: httpx.AsyncClient, world: World, session_id: str) -> dict[str, Any]:
    r = await client.get(url(session_id), headers=world.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert isinstance(body, dict)
    return body


async def patch(
    client: httpx.AsyncClient, world: World, session_id: str, body: Any
) -> httpx.Response:
    return await client.patch(url(session_id), json=body, headers=world.headers)


async def instructor_rows(db: Database, session_id: str) -> list[tuple[int, str]]:
    rows = await db.fetchall(
        "SELECT position, user_id FROM session_instructors WHERE session_id = ? ORDER BY position",
        session_id,
    )
    return [(int(r[0]), str(r[1])) for r in rows]


async def snapshot(
    client: httpx.AsyncClient, world: World, db: Database, session_id: str
) -> tuple[dict[str, Any], list[tuple[int, str]]]:
    return await get(client, world, session_id), await instructor_rows(db, session_id)


async def assert_rejected(
    client: httpx.AsyncClient,
    world: World,
    db: Database,
    session_id: str,
    body: Any,
    expected: bytes,
    status: int = 400,
) -> None:
    """The PATCH answers `expected` and changes nothing."""
    before = await snapshot(client, world, db, session_id)
    r = await patch(client, world, session_id, body)
    assert r.status_code == status, r.text
    assert r.content == expected, r.text
    assert r.headers["content-type"] == JSON_TYPE
    assert await snapshot(client, world, db, session_id) == before


async def enrol_user(client: httpx.AsyncClient, world: World, session_id: str, user: str) -> None:
    r = await client.patch(
        url(session_id) + "/users", json={"userIds": [user]}, headers=world.headers
    )
    assert r.status_code == 200, r.text


async def enrol_group(client: httpx.AsyncClient, world: World, session_id: str, group: str) -> None:
    r = await client.patch(
        url(session_id) + "/groups", json={"groupIds": [group]}, headers=world.headers
    )
    assert r.status_code == 200, r.text


@pytest.fixture
def clock(settable_clock: SettableClock) -> Callable[[int], None]:
    """Sets the instant the service sees as now (creation and update)."""

    return settable_clock.set


def ms(date: str) -> int:
    value = parse_date(date)
    assert value is not None
    return value


# --- Success -----------------------------------------------------------------------------------


async def test_patch_replaces_every_field(
    client: httpx.AsyncClient, world: World, db: Database, clock: Callable[[int], None]
) -> None:
    session_id = await create(client, world)
    before = await get(client, world, session_id)
    later = SYSTEM_CLOCK.now_ms() + 5_000
    clock(later)
    r = await patch(client, world, session_id, patch_body())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == JSON_TYPE
    body = r.json()
    assert list(body) == DETAIL_KEYS
    assert body == {
        "sessionName": "Cohort 2",
        "sessionId": session_id,
        "sessionOwnerGroup": world.sales_group,
        "pathId": world.path,
        "startDate": FUTURE,
        "endDate": FUTURE_LATER,
        "instructorsMails": [world.second_instructor_mail, world.instructor_mail],
        "sessionAdditionalInformation": "REG-43",
        "createdAt": before["createdAt"],
        "modifiedAt": format_date(later),
        "path": before["path"],
        "users": [],
        "groups": [],
    }
    assert body["modifiedAt"] != before["modifiedAt"]
    assert await get(client, world, session_id) == body
    assert await instructor_rows(db, session_id) == [
        (0, world.second_instructor),
        (1, world.instructor),
    ]
    items = (await client.get("/api/v1/paths/sessions", headers=world.headers)).json()
    assert items == [{k: body[k] for k in DETAIL_KEYS[:10]}]


async def test_patch_keeps_left_out_optional_fields(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(
        client, world, instructorsMails=[world.instructor_mail, world.owner_mail]
    )
    before = await get(client, world, session_id)
    body = patch_body(
        startDate="2030-01-01T10:00:00.000Z",
        endDate=ABSENT,
        instructorsMails=ABSENT,
        sessionAdditionalInformation=ABSENT,
    )
    r = await patch(client, world, session_id, body)
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["sessionName"] == "Cohort 2"
    assert after["startDate"] == "2030-01-01T10:00:00.000Z"
    assert after["sessionOwnerGroup"] == world.sales_group
    assert after["endDate"] == before["endDate"] == "2030-01-02T17:00:00.000Z"
    assert after["instructorsMails"] == [world.instructor_mail, world.owner_mail]
    assert after["sessionAdditionalInformation"] == "REG-42"
    assert await instructor_rows(db, session_id) == [(0, world.instructor), (1, world.owner)]


async def test_patch_null_removes_end_date_and_information(
    client: httpx.AsyncClient, world: World
) -> None:
    session_id = await create(client, world)
    body = patch_body(endDate=None, sessionAdditionalInformation=None)
    r = await patch(client, world, session_id, body)
    assert r.status_code == 200, r.text
    assert r.json()["endDate"] is None
    assert r.json()["sessionAdditionalInformation"] is None
    assert b'"endDate":null' in r.content
    after = await get(client, world, session_id)
    assert after["endDate"] is None
    assert after["sessionAdditionalInformation"] is None
    # And set again.
    r = await patch(client, world, session_id, patch_body())
    assert r.json()["endDate"] == FUTURE_LATER
    assert r.json()["sessionAdditionalInformation"] == "REG-43"


async def test_patch_sets_end_date_where_there_was_none(
    client: httpx.AsyncClient, world: World
) -> None:
    session_id = await create(client, world, endDate=ABSENT, sessionAdditionalInformation=ABSENT)
    r = await patch(client, world, session_id, patch_body(sessionAdditionalInformation=""))
    assert r.status_code == 200, r.text
    assert r.json()["endDate"] == FUTURE_LATER
    assert r.json()["sessionAdditionalInformation"] == ""


async def test_patch_instructors_replaced_in_order_and_deduplicated(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)
    mails = [
        " OWNER@acme.test",
        "ivan@ACME.test",
        "owner@acme.test",
        world.instructor_mail.upper(),
    ]
    r = await patch(client, world, session_id, patch_body(instructorsMails=mails))
    assert r.status_code == 200, r.text
    assert r.json()["instructorsMails"] == [
        world.owner_mail,
        world.second_instructor_mail,
        world.instructor_mail,
    ]
    assert await instructor_rows(db, session_id) == [
        (0, world.owner),
        (1, world.second_instructor),
        (2, world.instructor),
    ]
    # Replaced, not appended.
    r = await patch(client, world, session_id, patch_body(instructorsMails=[world.owner_mail]))
    assert r.json()["instructorsMails"] == [world.owner_mail]
    assert await instructor_rows(db, session_id) == [(0, world.owner)]


async def test_patch_exactly_100_instructors(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    mails = [f"trainer{i:03d}@acme.test" for i in range(100)]
    for mail in mails:
        await add_user(db, SYSTEM_CLOCK, world.company, mail, "T", "R", "active", {})
    session_id = await create(client, world)
    r = await patch(client, world, session_id, patch_body(instructorsMails=[*mails, mails[0]]))
    assert r.status_code == 200, r.text
    assert r.json()["instructorsMails"] == mails
    assert len(await instructor_rows(db, session_id)) == 100


async def test_patch_limits_accepted(client: httpx.AsyncClient, world: World) -> None:
    session_id = await create(client, world)
    name, info = "n" * 1000, "i" * 10_000
    r = await patch(
        client, world, session_id, patch_body(sessionName=name, sessionAdditionalInformation=info)
    )
    assert r.status_code == 200, r.text
    assert r.json()["sessionName"] == name
    assert r.json()["sessionAdditionalInformation"] == info


async def test_patch_name_kept_as_sent(client: httpx.AsyncClient, world: World) -> None:
    session_id = await create(client, world)
    r = await patch(client, world, session_id, patch_body(sessionName="  Spaced  "))
    assert r.status_code == 200, r.text
    assert r.json()["sessionName"] == "  Spaced  "


async def test_patch_dates_normalised_to_utc(client: httpx.AsyncClient, world: World) -> None:
    session_id = await create(client, world)
    body = patch_body(startDate="2031-03-01T11:00:00.1239+01:00", endDate="2031-03-05T18:30:00Z")
    r = await patch(client, world, session_id, body)
    assert r.status_code == 200, r.text
    assert r.json()["startDate"] == "2031-03-01T10:00:00.123Z"
    assert r.json()["endDate"] == "2031-03-05T18:30:00.000Z"


async def test_patch_upper_case_ids(client: httpx.AsyncClient, world: World) -> None:
    session_id = await create(client, world)
    body = patch_body(sessionOwnerGroup=world.sales_group.upper())
    r = await client.patch(url(session_id.upper()), json=body, headers=world.headers)
    assert r.status_code == 200, r.text
    assert r.json()["sessionId"] == session_id
    assert r.json()["sessionOwnerGroup"] == world.sales_group


async def test_patch_form_body(client: httpx.AsyncClient, world: World) -> None:
    session_id = await create(client, world)
    form = (
        "sessionName=Form+name&sessionOwnerGroup=6a0000000000000000000002"
        "&startDate=2031-03-01T10%3A00%3A00.000Z&endDate=2031-03-05T18%3A30%3A00.000Z"
        "&instructorsMails%5B%5D=ivan%40acme.test&instructorsMails%5B%5D=owner%40acme.test"
        "&sessionAdditionalInformation=from+a+form"
    )
    r = await client.patch(
        url(session_id),
        content=form.encode(),
        headers={**world.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sessionName"] == "Form name"
    assert body["startDate"] == FUTURE
    assert body["endDate"] == FUTURE_LATER
    assert body["instructorsMails"] == [world.second_instructor_mail, world.owner_mail]
    assert body["sessionAdditionalInformation"] == "from a form"


async def test_patch_ignores_unknown_fields(client: httpx.AsyncClient, world: World) -> None:
    session_id = await create(client, world)
    body = patch_body(sessionId=UNKNOWN_ID, pathId=UNKNOWN_ID, createdAt="x", users=[1])
    r = await patch(client, world, session_id, body)
    assert r.status_code == 200, r.text
    assert r.json()["sessionId"] == session_id
    assert r.json()["pathId"] == world.path


async def test_patch_with_query_credentials_and_trailing_slash(
    client: httpx.AsyncClient, world: World
) -> None:
    session_id = await create(client, world)
    r = await client.patch(url(session_id) + "/", json=patch_body(), params=world.query)
    assert r.status_code == 200, r.text
    assert r.json()["sessionName"] == "Cohort 2"


async def test_patch_keeps_enrolments(client: httpx.AsyncClient, world: World) -> None:
    session_id = await create(client, world)
    await enrol_user(client, world, session_id, world.owner)
    await enrol_group(client, world, session_id, world.sales_group)
    r = await patch(client, world, session_id, patch_body())
    assert r.status_code == 200, r.text
    assert [u["_id"] for u in r.json()["users"]] == [world.owner]
    assert r.json()["groups"] == [{"_id": world.sales_group, "name": "Sales"}]


# --- Running sessions: the past-date rules apply only to a changed date --------------------------


async def test_rename_running_session_keeping_past_start(
    client: httpx.AsyncClient, world: World
) -> None:
    session_id = await create(client, world, startDate=PAST, endDate=ABSENT)
    await enrol_user(client, world, session_id, world.owner)
    r = await patch(
        client, world, session_id, patch_body(startDate=PAST, endDate=ABSENT, sessionName="New")
    )
    assert r.status_code == 200, r.text
    assert r.json()["sessionName"] == "New"
    assert r.json()["startDate"] == PAST
    assert r.json()["endDate"] is None


async def test_rename_running_session_same_instant_other_notation(
    client: httpx.AsyncClient, world: World
) -> None:
    """The start "changes" only when the instant does."""
    session_id = await create(client, world, startDate=PAST, endDate=FAR_FUTURE)
    await enrol_user(client, world, session_id, world.owner)
    body = patch_body(startDate="2020-01-01T10:00:00.0009+01:00", endDate=ABSENT)
    r = await patch(client, world, session_id, body)
    assert r.status_code == 200, r.text
    assert r.json()["startDate"] == PAST
    assert r.json()["endDate"] == FAR_FUTURE


async def test_rename_running_session_started_by_sql_update(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)
    await db.execute("UPDATE path_sessions SET start_date = ? WHERE id = ?", ms(PAST), session_id)
    await enrol_group(client, world, session_id, world.sales_group)
    r = await patch(client, world, session_id, patch_body(startDate=PAST, endDate=ABSENT))
    assert r.status_code == 200, r.text
    assert r.json()["startDate"] == PAST
    assert r.json()["endDate"] == "2030-01-02T17:00:00.000Z"


async def test_rename_ended_session_keeping_past_dates(
    client: httpx.AsyncClient, world: World
) -> None:
    session_id = await create(client, world, startDate=PAST, endDate=PAST_LATER)
    await enrol_user(client, world, session_id, world.owner)
    body = patch_body(startDate=PAST, endDate=PAST_LATER, sessionName="Archive")
    r = await patch(client, world, session_id, body)
    assert r.status_code == 200, r.text
    assert r.json()["sessionName"] == "Archive"
    assert r.json()["endDate"] == PAST_LATER
    # Left out, the past end is kept as well.
    r = await patch(client, world, session_id, patch_body(startDate=PAST, endDate=ABSENT))
    assert r.status_code == 200, r.text
    assert r.json()["endDate"] == PAST_LATER


async def test_extend_running_session_end(client: httpx.AsyncClient, world: World) -> None:
    session_id = await create(client, world, startDate=PAST, endDate=FAR_FUTURE)
    await enrol_user(client, world, session_id, world.owner)
    r = await patch(client, world, session_id, patch_body(startDate=PAST, endDate=FUTURE))
    assert r.status_code == 200, r.text
    assert r.json()["endDate"] == FUTURE
    r = await patch(client, world, session_id, patch_body(startDate=PAST, endDate=None))
    assert r.status_code == 200, r.text
    assert r.json()["endDate"] is None


# --- Field errors --------------------------------------------------------------------------------

TOO_MANY_MAILS = [f"x{i:03d}@acme.test" for i in range(101)]

FIELD_CASES: dict[str, list[dict[str, Any]]] = {
    "sessionName should not be empty": [
        {"sessionName": ABSENT},
        {"sessionName": None},
        {"sessionName": ""},
        {"sessionName": "  \t\n "},
    ],
    "sessionName must be a string": [
        {"sessionName": 5},
        {"sessionName": ["a"]},
        {"sessionName": {"a": "b"}},
        {"sessionName": True},
    ],
    "sessionName must be shorter than or equal to 1000 characters": [{"sessionName": "n" * 1001}],
    "sessionName must not contain NUL characters": [{"sessionName": "a\u0000b"}],
    "sessionOwnerGroup must be a mongodb id": [
        {"sessionOwnerGroup": ABSENT},
        {"sessionOwnerGroup": None},
        {"sessionOwnerGroup": ""},
        {"sessionOwnerGroup": "xyz"},
        {"sessionOwnerGroup": "6a00000000000000000000020"},
        {"sessionOwnerGroup": 6},
        {"sessionOwnerGroup": ["6a0000000000000000000002"]},
    ],
    "startDate must be a valid ISO 8601 date string": [
        {"startDate": ABSENT},
        {"startDate": None},
        {"startDate": ""},
        {"startDate": "2031-03-01"},
        {"startDate": "2031-02-30T10:00:00Z"},
        {"startDate": "2031-03-01 10:00:00Z"},
        {"startDate": "2031-03-01T10:00:00"},
        {"startDate": 1_930_000_000_000},
    ],
    "endDate must be a valid ISO 8601 date string": [
        {"endDate": ""},
        {"endDate": "2031-03-05"},
        {"endDate": "tomorrow"},
        {"endDate": 5},
        {"endDate": False},
    ],
    "instructorsMails should not be empty": [{"instructorsMails": []}],
    "instructorsMails must be an array": [
        {"instructorsMails": None},
        {"instructorsMails": "ivan@acme.test"},
        {"instructorsMails": 5},
        {"instructorsMails": {"0": "ivan@acme.test"}},
    ],
    "each value in instructorsMails must be an email": [
        {"instructorsMails": ["not-an-email"]},
        {"instructorsMails": ["ivan@acme.test", "x"]},
        {"instructorsMails": [5]},
        {"instructorsMails": [None]},
        {"instructorsMails": [""]},
        {"instructorsMails": ["ivan@acme"]},
    ],
    "instructorsMails must contain no more than 100 elements": [
        {"instructorsMails": TOO_MANY_MAILS},
    ],
    "sessionAdditionalInformation must be a string": [
        {"sessionAdditionalInformation": 5},
        {"sessionAdditionalInformation": ["x"]},
        {"sessionAdditionalInformation": True},
        {"sessionAdditionalInformation": {}},
    ],
    "sessionAdditionalInformation must be shorter than or equal to 10000 characters": [
        {"sessionAdditionalInformation": "i" * 10_001},
    ],
    "sessionAdditionalInformation must not contain NUL characters": [
        {"sessionAdditionalInformation": "REG\u0000"},
    ],
}


def test_every_field_message_is_tested() -> None:
    assert set(FIELD_CASES) == set(PATCH_FIELD_MESSAGES)
    assert len(PATCH_FIELD_MESSAGES) == len(set(PATCH_FIELD_MESSAGES))


@pytest.mark.parametrize(
    ("message", "overrides"),
    [(message, case) for message, cases in FIELD_CASES.items() for case in cases],
    ids=[
        f"{message[:40]}-{i}" for message, cases in FIELD_CASES.items() for i in range(len(cases))
    ],
)
async def test_field_error(
    client: httpx.AsyncClient,
    world: World,
    db: Database,
    message: str,
    overrides: dict[str, Any],
) -> None:
    session_id = await create(client, world)
    await assert_rejected(
        client, world, db, session_id, patch_body(**overrides), field_error(message)
    )


async def test_documented_messages_exactly(client: httpx.AsyncClient, world: World) -> None:
    """The four field messages the reference documents, byte for byte."""
    session_id = await create(client, world)
    documented = {
        "sessionName": (
            "",
            b'{"error":"Request validation failed: sessionName should not be empty"}',
        ),
        "startDate": (
            "x",
            b'{"error":"Request validation failed: startDate must be a valid ISO 8601 date'
            b' string"}',
        ),
        "endDate": (
            "x",
            b'{"error":"Request validation failed: endDate must be a valid ISO 8601 date string"}',
        ),
        "instructorsMails": (
            [],
            b'{"error":"Request validation failed: instructorsMails should not be empty"}',
        ),
    }
    for field, (value, expected) in documented.items():
        r = await patch(client, world, session_id, patch_body(**{field: value}))
        assert r.status_code == 400
        assert r.content == expected


# One bad value per field, in the documented checking order.
BAD_FIELDS: list[tuple[str, Any, str]] = [
    ("sessionName", None, "sessionName should not be empty"),
    ("sessionOwnerGroup", "xyz", "sessionOwnerGroup must be a mongodb id"),
    ("startDate", "nope", "startDate must be a valid ISO 8601 date string"),
    ("endDate", "nope", "endDate must be a valid ISO 8601 date string"),
    ("instructorsMails", [], "instructorsMails should not be empty"),
    ("sessionAdditionalInformation", 5, "sessionAdditionalInformation must be a string"),
]
PAIRS = list(itertools.combinations(BAD_FIELDS, 2))


@pytest.mark.parametrize(("first", "second"), PAIRS, ids=[f"{a[0]}+{b[0]}" for a, b in PAIRS])
async def test_field_error_order(
    client: httpx.AsyncClient,
    world: World,
    db: Database,
    first: tuple[str, Any, str],
    second: tuple[str, Any, str],
) -> None:
    session_id = await create(client, world)
    body = patch_body(**{first[0]: first[1], second[0]: second[1]})
    await assert_rejected(client, world, db, session_id, body, field_error(first[2]))


async def test_all_fields_bad_answers_session_name(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)
    body = {field: value for field, value, _ in BAD_FIELDS}
    await assert_rejected(client, world, db, session_id, body, field_error(BAD_FIELDS[0][2]))


async def test_empty_object_answers_session_name(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)
    await assert_rejected(
        client, world, db, session_id, {}, field_error("sessionName should not be empty")
    )


# --- Lookups: unknown group, unknown instructors ---------------------------------------------


@pytest.mark.parametrize(
    "group", [UNKNOWN_ID, "6a0000000000000000000009"], ids=["unknown", "other-company"]
)
async def test_session_owner_group_not_found(
    client: httpx.AsyncClient, world: World, db: Database, group: str
) -> None:
    session_id = await create(client, world)
    await assert_rejected(
        client,
        world,
        db,
        session_id,
        patch_body(sessionOwnerGroup=group),
        error("session_owner_group_not_found"),
    )


@pytest.mark.parametrize(
    "mail",
    ["nobody@acme.test", "gone@acme.test", "olga@other.test", "owner@other.test"],
    ids=["unknown", "deleted", "other-company", "other-owner"],
)
async def test_instructors_not_found(
    client: httpx.AsyncClient, world: World, db: Database, mail: str
) -> None:
    session_id = await create(client, world)
    body = patch_body(instructorsMails=[world.instructor_mail, mail])
    await assert_rejected(client, world, db, session_id, body, error("instructors_not_found"))


async def test_field_errors_before_lookups(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)
    bad_info = field_error("sessionAdditionalInformation must be a string")
    for body in (
        patch_body(sessionOwnerGroup=UNKNOWN_ID, sessionAdditionalInformation=5),
        patch_body(instructorsMails=["nobody@acme.test"], sessionAdditionalInformation=5),
    ):
        await assert_rejected(client, world, db, session_id, body, bad_info)
    body = patch_body(sessionOwnerGroup=UNKNOWN_ID, instructorsMails=["x"])
    await assert_rejected(
        client,
        world,
        db,
        session_id,
        body,
        field_error("each value in instructorsMails must be an email"),
    )


async def test_group_lookup_before_instructor_lookup(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)
    body = patch_body(sessionOwnerGroup=UNKNOWN_ID, instructorsMails=["nobody@acme.test"])
    await assert_rejected(
        client, world, db, session_id, body, error("session_owner_group_not_found")
    )


async def test_lookups_before_business_rules(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world, startDate=PAST, endDate=ABSENT)
    await enrol_user(client, world, session_id, world.owner)
    # Would break every business rule: a changed start on a running session with learners,
    # in the past, a changed end in the past, and before the start.
    rules_broken = {"startDate": PAST_LATER, "endDate": PAST}
    await assert_rejected(
        client,
        world,
        db,
        session_id,
        patch_body(**rules_broken, sessionOwnerGroup=UNKNOWN_ID),
        error("session_owner_group_not_found"),
    )
    await assert_rejected(
        client,
        world,
        db,
        session_id,
        patch_body(**rules_broken, instructorsMails=["nobody@acme.test"]),
        error("instructors_not_found"),
    )
    await assert_rejected(client, world, db, session_id, patch_body(**rules_broken), error(RUNNING))


# --- Business rules ----------------------------------------------------------------------------


@pytest.mark.parametrize("end", [ABSENT, FAR_FUTURE], ids=["no-end", "future-end"])
@pytest.mark.parametrize("new_start", [FUTURE, PAST_LATER], ids=["to-future", "to-past"])
async def test_rule1_running_with_direct_learner(
    client: httpx.AsyncClient, world: World, db: Database, end: Any, new_start: str
) -> None:
    session_id = await create(client, world, startDate=PAST, endDate=end)
    await enrol_user(client, world, session_id, world.second_instructor)
    body = patch_body(startDate=new_start, endDate=ABSENT)
    await assert_rejected(client, world, db, session_id, body, error(RUNNING))


async def test_rule1_running_with_group_member(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    """Ines has a role (author) in Sales: enrolling Sales enrols a learner."""
    session_id = await create(client, world, startDate=PAST, endDate=FAR_FUTURE)
    await enrol_group(client, world, session_id, world.sales_group)
    body = patch_body(endDate=ABSENT)
    await assert_rejected(client, world, db, session_id, body, error(RUNNING))


async def test_rule1_running_started_by_sql_update(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)
    await enrol_user(client, world, session_id, world.owner)
    await db.execute("UPDATE path_sessions SET start_date = ? WHERE id = ?", ms(PAST), session_id)
    await assert_rejected(client, world, db, session_id, patch_body(), error(RUNNING))


async def test_rule1_not_for_group_without_members(client: httpx.AsyncClient, world: World) -> None:
    """Nobody has a role in the root group (Ines is in Sales, its child: not counted)."""
    session_id = await create(client, world, startDate=PAST, endDate=ABSENT)
    await enrol_group(client, world, session_id, world.root_group)
    r = await patch(client, world, session_id, patch_body())
    assert r.status_code == 200, r.text
    assert r.json()["startDate"] == FUTURE


async def test_rule1_not_for_group_of_deleted_members(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    group = await add_group(db, SYSTEM_CLOCK, world.company, "Alumni", False, None)
    await add_user(
        db,
        SYSTEM_CLOCK,
        world.company,
        "old@acme.test",
        "Old",
        "Timer",
        "deleted",
        {group: "learner"},
    )
    session_id = await create(client, world, startDate=PAST, endDate=ABSENT)
    await enrol_group(client, world, session_id, group)
    r = await patch(client, world, session_id, patch_body())
    assert r.status_code == 200, r.text
    # An active member makes it count.
    await add_user(
        db,
        SYSTEM_CLOCK,
        world.company,
        "new@acme.test",
        "New",
        "Comer",
        "invited",
        {group: "coach"},
    )
    await db.execute("UPDATE path_sessions SET start_date = ? WHERE id = ?", ms(PAST), session_id)
    await assert_rejected(client, world, db, session_id, patch_body(), error(RUNNING))


async def test_rule1_not_for_a_directly_enrolled_user_since_deleted(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world, startDate=PAST, endDate=ABSENT)
    await enrol_user(client, world, session_id, world.second_instructor)
    await db.execute("UPDATE users SET status = 'deleted' WHERE id = ?", world.second_instructor)
    r = await patch(client, world, session_id, patch_body(instructorsMails=[world.owner_mail]))
    assert r.status_code == 200, r.text


async def test_rule1_not_once_unenrolled(client: httpx.AsyncClient, world: World) -> None:
    session_id = await create(client, world, startDate=PAST, endDate=ABSENT)
    await enrol_user(client, world, session_id, world.owner)
    await enrol_group(client, world, session_id, world.sales_group)
    r = await patch(client, world, session_id, patch_body())
    assert r.content == error(RUNNING)
    r = await client.request(
        "DELETE", url(session_id) + "/users", json={"userIds": [world.owner]}, headers=world.headers
    )
    assert r.status_code == 200
    r = await patch(client, world, session_id, patch_body())
    assert r.content == error(RUNNING)  # Sales is still enrolled
    r = await client.request(
        "DELETE",
        url(session_id) + "/groups",
        json={"groupIds": [world.sales_group]},
        headers=world.headers,
    )
    assert r.status_code == 200
    r = await patch(client, world, session_id, patch_body())
    assert r.status_code == 200, r.text


async def test_rule1_not_for_a_future_session(client: httpx.AsyncClient, world: World) -> None:
    session_id = await create(client, world)
    await enrol_user(client, world, session_id, world.owner)
    await enrol_group(client, world, session_id, world.sales_group)
    r = await patch(client, world, session_id, patch_body())
    assert r.status_code == 200, r.text
    assert r.json()["startDate"] == FUTURE


async def test_rule1_not_for_an_ended_session(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    """Ended: not running. Moving its start to another past instant breaks rule 2, moving it
    after its (kept) end breaks rule 4."""
    session_id = await create(client, world, startDate=PAST, endDate=PAST_LATER)
    await enrol_user(client, world, session_id, world.owner)
    body = patch_body(startDate="2020-06-01T09:00:00.000Z", endDate=ABSENT)
    await assert_rejected(client, world, db, session_id, body, error(START_PAST))
    body = patch_body(endDate=ABSENT)
    await assert_rejected(client, world, db, session_id, body, error(END_BEFORE_START))
    r = await patch(client, world, session_id, patch_body())
    assert r.status_code == 200, r.text


async def test_rule2_start_changed_to_past(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)
    body = patch_body(startDate=PAST, endDate=FUTURE)
    await assert_rejected(client, world, db, session_id, body, error(START_PAST))


async def test_rule2_running_without_learners(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world, startDate=PAST, endDate=ABSENT)
    body = patch_body(startDate=PAST_LATER, endDate=ABSENT)
    await assert_rejected(client, world, db, session_id, body, error(START_PAST))


async def test_rule2_before_rule3(client: httpx.AsyncClient, world: World, db: Database) -> None:
    session_id = await create(client, world)
    body = patch_body(startDate=PAST, endDate=PAST_LATER)
    await assert_rejected(client, world, db, session_id, body, error(START_PAST))


async def test_rule2_before_rule4(client: httpx.AsyncClient, world: World, db: Database) -> None:
    session_id = await create(client, world)
    body = patch_body(startDate=PAST_LATER, endDate=ABSENT)  # kept end 2030: after start
    await assert_rejected(client, world, db, session_id, body, error(START_PAST))
    body = patch_body(startDate=PAST_LATER, endDate=PAST)
    await assert_rejected(client, world, db, session_id, body, error(START_PAST))


async def test_rule3_end_changed_to_past(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world, startDate=PAST, endDate=ABSENT)
    body = patch_body(startDate=PAST, endDate=PAST_LATER)
    await assert_rejected(client, world, db, session_id, body, error(END_PAST))


async def test_rule3_before_rule4(client: httpx.AsyncClient, world: World, db: Database) -> None:
    session_id = await create(client, world)
    body = patch_body(startDate=FUTURE, endDate=PAST)
    await assert_rejected(client, world, db, session_id, body, error(END_PAST))


async def test_rule3_not_for_kept_past_end(client: httpx.AsyncClient, world: World) -> None:
    session_id = await create(client, world, startDate=PAST, endDate=PAST_LATER)
    r = await patch(client, world, session_id, patch_body(startDate=PAST, endDate=PAST_LATER))
    assert r.status_code == 200, r.text


async def test_rule4_end_before_start(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)
    body = patch_body(startDate=FUTURE_LATER, endDate=FUTURE)
    await assert_rejected(client, world, db, session_id, body, error(END_BEFORE_START))
    # One millisecond is enough.
    body = patch_body(startDate="2031-03-01T10:00:00.001Z", endDate=FUTURE)
    await assert_rejected(client, world, db, session_id, body, error(END_BEFORE_START))


async def test_rule4_start_moved_after_kept_end(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)  # ends 2030-01-02T17:00
    body = patch_body(startDate=FUTURE, endDate=ABSENT)
    await assert_rejected(client, world, db, session_id, body, error(END_BEFORE_START))


async def test_end_equal_to_start_accepted(client: httpx.AsyncClient, world: World) -> None:
    session_id = await create(client, world)
    r = await patch(client, world, session_id, patch_body(startDate=FUTURE, endDate=FUTURE))
    assert r.status_code == 200, r.text
    assert r.json()["startDate"] == r.json()["endDate"] == FUTURE


async def test_rule1_before_rule2_to_4(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world, startDate=PAST, endDate=FAR_FUTURE)
    await enrol_user(client, world, session_id, world.owner)
    body = patch_body(startDate=PAST_LATER, endDate=PAST)
    await assert_rejected(client, world, db, session_id, body, error(RUNNING))


async def test_rules_with_a_fixed_clock(
    client: httpx.AsyncClient, world: World, db: Database, clock: Callable[[int], None]
) -> None:
    """Now = 2030-01-01T12:00Z: the default session (09:00 to next day 17:00) is running."""
    now = ms("2030-01-01T12:00:00.000Z")
    clock(now)
    session_id = await create(client, world)
    # No learners yet: the start may move, but not into the past, not even by 1 ms.
    body = patch_body(startDate=format_date(now - 1), endDate=ABSENT)
    await assert_rejected(client, world, db, session_id, body, error(START_PAST))
    body = patch_body(endDate=format_date(now - 1), startDate="2030-01-01T09:00:00.000Z")
    await assert_rejected(client, world, db, session_id, body, error(END_PAST))
    r = await patch(client, world, session_id, patch_body(startDate=format_date(now + 1)))
    assert r.status_code == 200, r.text
    assert r.json()["modifiedAt"] == format_date(now)
    # Started exactly now counts as running.
    await db.execute("UPDATE path_sessions SET start_date = ? WHERE id = ?", now, session_id)
    await enrol_user(client, world, session_id, world.owner)
    await assert_rejected(client, world, db, session_id, patch_body(), error(RUNNING))
    # Ending exactly now is not running any more: the running rule does not apply.
    await db.execute("UPDATE path_sessions SET end_date = ? WHERE id = ?", now, session_id)
    r = await patch(client, world, session_id, patch_body(endDate=ABSENT))
    assert r.content == error(END_BEFORE_START)  # kept end (now) precedes the new start
    r = await patch(client, world, session_id, patch_body())
    assert r.status_code == 200, r.text


# --- Not found, credentials, unreadable bodies ---------------------------------------------------


@pytest.mark.parametrize(
    "session_id", [UNKNOWN_ID, "xyz", "6f00000000000000000000ff0"], ids=["unknown", "xyz", "25"]
)
@pytest.mark.parametrize(
    "body",
    [patch_body(), {}, patch_body(sessionName=None), b"{not json", b"[1]"],
    ids=["valid", "empty", "bad-field", "broken", "array"],
)
async def test_not_found_before_body(
    client: httpx.AsyncClient, world: World, db: Database, session_id: str, body: Any
) -> None:
    existing = await create(client, world)
    before = await snapshot(client, world, db, existing)
    if isinstance(body, bytes):
        r = await client.patch(url(session_id), content=body, headers=world.headers)
    else:
        r = await patch(client, world, session_id, body)
    assert r.status_code == 404
    assert r.content == error("path_session_not_found")
    assert await snapshot(client, world, db, existing) == before


async def test_other_company_session_not_found(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)
    before = await snapshot(client, world, db, session_id)
    r = await client.patch(url(session_id), json=patch_body(), headers=world.other_headers)
    assert r.status_code == 404
    assert r.content == error("path_session_not_found")
    assert await snapshot(client, world, db, session_id) == before


async def test_credentials_first(client: httpx.AsyncClient, world: World, db: Database) -> None:
    session_id = await create(client, world)
    before = await snapshot(client, world, db, session_id)
    for target in (session_id, UNKNOWN_ID, "xyz"):
        for body in (patch_body(), {}):
            r = await client.patch(url(target), json=body)
            assert r.status_code == 401
            assert r.content == error("unauthorized")
            r = await client.patch(
                url(target),
                json=body,
                headers={"X-company-id": world.company, "X-apiKey": "wrong"},
            )
            assert r.status_code == 401
    assert await snapshot(client, world, db, session_id) == before


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[]", b'"text"', b"null", b"42", "a=\xe9".encode()],
    ids=["broken", "array", "string", "null", "number", "non-ascii-form"],
)
async def test_invalid_body(
    client: httpx.AsyncClient, world: World, db: Database, raw: bytes
) -> None:
    session_id = await create(client, world)
    before = await snapshot(client, world, db, session_id)
    r = await client.patch(
        url(session_id), content=raw, headers={**world.headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert r.content == error("invalid_body")
    assert await snapshot(client, world, db, session_id) == before


async def test_empty_body_is_an_empty_form(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = await create(client, world)
    before = await snapshot(client, world, db, session_id)
    r = await client.patch(url(session_id), content=b"", headers=world.headers)
    assert r.status_code == 400
    assert r.content == field_error("sessionName should not be empty")
    assert await snapshot(client, world, db, session_id) == before


async def test_concurrent_updates_apply_one_after_the_other(
    client: httpx.AsyncClient, world: World
) -> None:
    """One update sets endDate, the other leaves it out (keeps it); both are valid in either
    order. Whichever runs second must see the first: the end date must end up as the one
    set. A lost update would bring back the end date from before both."""
    for _ in range(15):
        session_id = await create(client, world, endDate="2040-01-01T00:00:00.000Z")
        before = (await get(client, world, session_id))["endDate"]
        sets_end = patch_body(sessionName="sets-end", endDate=FUTURE_LATER)
        keeps_end = patch_body(sessionName="keeps-end", endDate=ABSENT, instructorsMails=ABSENT)
        first, second = await asyncio.gather(
            patch(client, world, session_id, sets_end), patch(client, world, session_id, keeps_end)
        )
        assert (first.status_code, second.status_code) == (200, 200)
        after = await get(client, world, session_id)
        assert after["endDate"] != before
        assert after["endDate"] == format_date(parse_date(FUTURE_LATER) or 0)


async def test_enrolment_racing_a_delete_is_never_a_fault(
    client: httpx.AsyncClient, world: World
) -> None:
    for _ in range(15):
        session_id = await create(client, world)
        enrol, delete = await asyncio.gather(
            client.patch(
                url(session_id) + "/users",
                json={"userIds": [world.owner, world.instructor]},
                headers=world.headers,
            ),
            client.delete(url(session_id), headers=world.headers),
        )
        assert delete.status_code == 200
        assert (enrol.status_code, enrol.json()) in [
            (200, {"status": "users_enrolled"}),
            (404, {"error": "path_session_not_found"}),
        ]
