"""What the v2 path-session tests share: URLs, a create body, more of ACME loaded on top of the
world, and the check of a v2 error answer."""

from __future__ import annotations

import re
from typing import Any

import httpx

from pathsessions.core.clock import Clock
from pathsessions.loader import load_document
from pathsessions.storage import Database

from .api import ABSENT
from .world import ACME, WORLD

V2_PATHS = "/api/v2/paths"
ALL_SESSIONS = f"{V2_PATHS}/sessions"
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
LINK = re.compile(r'<(?P<url>[^>]+)>; rel="next"')

# Every PathSession carries these; the optional ones only when set.
REQUIRED = {
    "_id",
    "pathId",
    "name",
    "startDate",
    "mainInstructorId",
    "instructorIds",
    "groupId",
    "registrationRequestValidation",
    "isAudienceBuilder",
    "createdAt",
    "modifiedAt",
    "translations",
}
OPTIONAL = {
    "endDate",
    "userLimit",
    "automaticReenrollment",
    "ipFiltering",
    "additionalInformation",
    "rootSessionId",
}


def sessions_url(path_id: str = WORLD.path) -> str:
    return f"{V2_PATHS}/{path_id}/sessions"


def session_url(session_id: str, path_id: str = WORLD.path) -> str:
    return f"{V2_PATHS}/{path_id}/sessions/{session_id}"


def child_url(session_id: str, path_id: str = WORLD.path) -> str:
    return f"{V2_PATHS}/{path_id}/child-sessions/{session_id}"


def create_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "mainInstructorId": WORLD.instructor,
        "registrationRequestValidation": "disabled",
        "startDate": "2030-01-01T09:00:00.000Z",
        "name": "Cohort 1",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ABSENT}


async def create(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    path_id: str = WORLD.path,
    **overrides: Any,
) -> dict[str, Any]:
    """A session created through v2; answers the PathSession."""
    r = await client.post(sessions_url(path_id), json=create_body(**overrides), headers=headers)
    assert r.status_code == 200, r.text
    session = r.json()
    assert isinstance(session, dict)
    return session


async def load_acme(db: Database, clock: Clock | None = None, **parts: Any) -> None:
    """More of ACME (groups, users, paths, sessions...) loaded on top of the world."""
    company = {"id": ACME, "name": "Acme Learning", "owner": WORLD.owner_mail, **parts}
    document = {"companies": [company]}
    if clock is None:
        await load_document(db, document)
    else:
        await load_document(db, document, clock=clock)


def assert_v2_error(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body


def assert_path_session(session: dict[str, Any]) -> None:
    """Every required field, only known fields, no null, dates in the wire format."""
    assert REQUIRED <= set(session) <= REQUIRED | OPTIONAL, sorted(session)
    assert None not in session.values(), session
    for key in ("startDate", "endDate", "createdAt", "modifiedAt"):
        if key in session:
            assert DATE.fullmatch(session[key]), (key, session[key])
