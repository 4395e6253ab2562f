"""Requests to the API and the checks of its answers, in process."""

from __future__ import annotations

import re
from typing import Any

import httpx

from pathsessions.storage import Database

from .world import WORLD, World

JSON_TYPE = "application/json; charset=utf-8"
UNKNOWN_ID = "6f00000000000000000000ff"


def valid_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sessionName": "Cohort 1",
        "startDate": "2030-01-01T09:00:00.000Z",
        "endDate": "2030-01-02T17:00:00.000Z",
        "sessionOwnerGroup": WORLD.root_group,
        "instructorsMails": [WORLD.instructor_mail],
        "sessionAdditionalInformation": "REG-42",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not _ABSENT}


class _Absent:
    pass


ABSENT: Any = _Absent()
_ABSENT = ABSENT


async def count_rows(db: Database, table: str) -> int:
    row = await db.fetchone(f"SELECT COUNT(*) FROM {table}")
    assert row is not None
    return int(row[0])


def error(code: str) -> bytes:
    """The exact bytes of an `{"error": code}` answer."""
    return b'{"error":"' + code.encode().replace(b'"', b'\\"') + b'"}'


async def assert_nothing_written(db: Database) -> None:
    assert await count_rows(db, "path_sessions") == 0
    assert await count_rows(db, "session_instructors") == 0


async def assert_error(r: httpx.Response, db: Database, status: int, code: str) -> None:
    """The exact error answer, and no session written."""
    assert r.status_code == status, r.text
    assert r.content == error(code)
    assert r.headers["content-type"] == JSON_TYPE
    await assert_nothing_written(db)


def created_id(r: httpx.Response) -> str:
    """The id of a successful create: exactly `{"_id": "<24 lower-case hex>"}`."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == JSON_TYPE
    session_id = r.json()["_id"]
    assert isinstance(session_id, str)
    assert re.fullmatch(r"[0-9a-f]{24}", session_id), session_id
    assert r.content == b'{"_id":"' + session_id.encode() + b'"}'
    return session_id


# The keys of a session as the list shows it, in order: the documented ones first.
ITEM_KEYS = [
    "sessionName",
    "sessionId",
    "sessionOwnerGroup",
    "pathId",
    "startDate",
    "endDate",
    "instructorsMails",
    "sessionAdditionalInformation",
    "createdAt",
    "modifiedAt",
]


async def create_other(client: httpx.AsyncClient, world: World) -> str:
    """A session of the other company (its owner as instructor); answers its id."""
    r = await client.post(
        world.sessions_url(world.other_path),
        json=valid_body(sessionOwnerGroup=world.other_group, instructorsMails=[]),
        headers=world.other_headers,
    )
    return created_id(r)
