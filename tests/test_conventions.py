"""Conventions shared by every v1 endpoint (docs/api.md, "Conventions" and "Authentication"),
through the real app.

Routing, the 404 and 500 bodies, content types, request bodies (JSON, forms, size limit),
and authentication by query parameters or headers.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import msgspec
import pytest
from msgspec import structs

import pathsessions.core.sessions
import pathsessions.storage.sessions
from pathsessions.app import App, create_app
from pathsessions.core import operators as admin
from pathsessions.core.clock import SYSTEM_CLOCK
from pathsessions.core.model import NewSession
from pathsessions.settings import Settings
from pathsessions.storage import Database
from support import (
    JSON_TYPE,
    UNKNOWN_ID,
    World,
    assert_error,
    assert_nothing_written,
    count_rows,
    created_id,
    error,
    valid_body,
)

MIB = 1024 * 1024
INTERNAL_ERROR = re.compile(rb'\{"error":"an error occurred: ([0-9a-f]{32})"\}')


def not_found_body(app: App) -> bytes:
    url = app.settings.docs_url.encode()
    return b'{"message":"Not Found","documentation_url":"' + url + b'"}'


async def instructors(db: Database, session_id: str) -> list[tuple[str, int]]:
    rows = await db.fetchall(
        "SELECT user_id, position FROM session_instructors WHERE session_id = ? ORDER BY position",
        session_id,
    )
    return [(str(r[0]), int(r[1])) for r in rows]


# --- Routing ---------------------------------------------------------------------------------


@pytest.mark.backend_independent
def test_documentation_url_is_set(app: App) -> None:
    assert app.settings.docs_url.startswith(("http://", "https://"))


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/"),
        ("GET", "/api"),
        ("GET", "/api/v1"),
        ("GET", "/api/v1/nothing"),
        ("POST", "/api/v1/paths"),
        ("POST", "/api/v1/paths/6c0000000000000000000001"),
        ("POST", "/api/v1/paths/6c0000000000000000000001/sessions/extra"),
        ("POST", "/api/v1/paths/6c0000000000000000000001/sessions//"),
        ("POST", "/api/v1/paths/6c0000000000000000000001/session"),
        ("POST", "/api/v2/paths/6c0000000000000000000001/session"),
        ("POST", "/api/v1/paths/a/b/sessions"),
        # Wrong method on the create route.
        ("GET", "/api/v1/paths/6c0000000000000000000001/sessions/"),
        ("GET", "/api/v1/paths/6c0000000000000000000001/sessions"),
        ("PUT", "/api/v1/paths/6c0000000000000000000001/sessions/"),
        ("DELETE", "/api/v1/paths/6c0000000000000000000001/sessions/"),
        ("PATCH", "/api/v1/paths/6c0000000000000000000001/sessions/"),
        ("HEAD", "/api/v1/paths/6c0000000000000000000001/sessions/"),
        ("OPTIONS", "/api/v1/paths/6c0000000000000000000001/sessions/"),
        ("POST", "/health"),
    ],
)
@pytest.mark.parametrize("credentials", ["none", "good", "bad"])
async def test_unknown_route_or_method(
    client: httpx.AsyncClient,
    app: App,
    world: World,
    db: Database,
    method: str,
    url: str,
    credentials: str,
) -> None:
    headers = {
        "none": {},
        "good": world.headers,
        "bad": {"X-company-id": world.company, "X-apiKey": "wrong"},
    }[credentials]
    r = await client.request(method, url, headers=headers, json=valid_body())
    assert r.status_code == 404
    assert r.headers["content-type"] == JSON_TYPE
    if method != "HEAD":
        assert r.content == not_found_body(app)
    await assert_nothing_written(db)


@pytest.mark.parametrize("url", ["/api/v1/paths//sessions/", "/api/v1/paths//sessions"])
async def test_empty_path_id_reaches_the_handler(
    client: httpx.AsyncClient, world: World, db: Database, url: str
) -> None:
    r = await client.post(url, json=valid_body(), headers=world.headers)
    await assert_error(r, db, 404, "path_not_found")


@pytest.mark.parametrize("slash", ["/", ""], ids=["with-slash", "without-slash"])
async def test_trailing_slash_optional(
    client: httpx.AsyncClient, world: World, db: Database, slash: str
) -> None:
    url = f"/api/v1/paths/{world.path}/sessions{slash}"
    created_id(await client.post(url, json=valid_body(), headers=world.headers))
    assert await count_rows(db, "path_sessions") == 1
    # Errors too come from the same handler either way.
    r = await client.post(url, json=valid_body(sessionName=""), headers=world.headers)
    assert (r.status_code, r.content) == (400, error("invalid_session_name"))


@pytest.mark.parametrize("url", ["/health", "/health/"])
async def test_health(client: httpx.AsyncClient, url: str) -> None:
    r = await client.get(url)
    assert r.status_code == 200
    assert r.headers["content-type"] == JSON_TYPE
    assert r.json() == {"status": "ok"}


# --- Authentication --------------------------------------------------------------------------


async def test_auth_by_query_parameters(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    r = await client.post(world.sessions_url(), json=valid_body(), params=world.query)
    created_id(r)
    assert await count_rows(db, "path_sessions") == 1


@pytest.mark.parametrize(
    ("company_header", "key_header"),
    [
        ("X-company-id", "X-apiKey"),
        ("x-company-id", "x-apikey"),
        ("X-COMPANY-ID", "X-APIKEY"),
        ("X-Company-Id", "X-ApiKey"),
    ],
)
async def test_auth_by_headers(
    client: httpx.AsyncClient,
    world: World,
    db: Database,
    company_header: str,
    key_header: str,
) -> None:
    headers = {company_header: world.company, key_header: world.key}
    created_id(await client.post(world.sessions_url(), json=valid_body(), headers=headers))
    assert await count_rows(db, "path_sessions") == 1


async def test_other_company_authenticates_as_itself(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    body = valid_body(sessionOwnerGroup=world.other_group, instructorsMails=[])
    r = await client.post(
        world.sessions_url(world.other_path),
        json=body,
        params={"company": world.other_company, "apiKey": world.other_key},
    )
    session_id = created_id(r)
    row = await db.fetchone("SELECT company_id FROM path_sessions WHERE id = ?", session_id)
    assert row is not None
    assert row[0] == world.other_company


BAD_CREDENTIALS: list[tuple[str, dict[str, str], dict[str, str]]] = [
    ("none", {}, {}),
    ("company-only-header", {"X-company-id": World.company}, {}),
    ("key-only-header", {"X-apiKey": World.key}, {}),
    ("company-only-query", {}, {"company": World.company}),
    ("key-only-query", {}, {"apiKey": World.key}),
    ("wrong-key-header", {"X-company-id": World.company, "X-apiKey": "wrong"}, {}),
    ("wrong-key-query", {}, {"company": World.company, "apiKey": "wrong"}),
    ("key-case-changed", {"X-company-id": World.company, "X-apiKey": World.key.upper()}, {}),
    ("key-with-space", {"X-company-id": World.company, "X-apiKey": World.key + " "}, {}),
    ("other-company-key", {"X-company-id": World.company, "X-apiKey": World.other_key}, {}),
    ("other-company-key-query", {}, {"company": World.company, "apiKey": World.other_key}),
    ("key-for-other-company", {"X-company-id": World.other_company, "X-apiKey": World.key}, {}),
    ("malformed-company", {"X-company-id": "acme", "X-apiKey": World.key}, {}),
    ("malformed-company-23", {"X-company-id": World.company[:-1], "X-apiKey": World.key}, {}),
    ("malformed-company-query", {}, {"company": "not-an-id", "apiKey": World.key}),
    ("unknown-company", {"X-company-id": UNKNOWN_ID, "X-apiKey": World.key}, {}),
    ("empty-key-header", {"X-company-id": World.company, "X-apiKey": ""}, {}),
    ("empty-key-query", {}, {"company": World.company, "apiKey": ""}),
    ("empty-company-header", {"X-company-id": "", "X-apiKey": World.key}, {}),
    ("empty-both-query", {}, {"company": "", "apiKey": ""}),
    ("bearer-key", {"Authorization": f"Bearer {World.key}"}, {}),
    ("company-id-as-key", {"X-company-id": World.company, "X-apiKey": World.company}, {}),
]


@pytest.mark.parametrize(
    ("headers", "params"),
    [(h, p) for _, h, p in BAD_CREDENTIALS],
    ids=[name for name, _, _ in BAD_CREDENTIALS],
)
async def test_unauthorized(
    client: httpx.AsyncClient,
    world: World,
    db: Database,
    headers: dict[str, str],
    params: dict[str, str],
) -> None:
    r = await client.post(world.sessions_url(), json=valid_body(), headers=headers, params=params)
    await assert_error(r, db, 401, "unauthorized")


async def test_revoked_key_stops_working_at_once(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    created_id(await client.post(world.sessions_url(), json=valid_body(), headers=world.headers))
    rows = await db.fetchall("SELECT id FROM api_keys WHERE company_id = ?", world.company)
    assert len(rows) == 1
    await admin.revoke_key(db, SYSTEM_CLOCK, world.company, str(rows[0][0]))
    r = await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    assert (r.status_code, r.content) == (401, error("unauthorized"))
    r = await client.post(world.sessions_url(), json=valid_body(), params=world.query)
    assert (r.status_code, r.content) == (401, error("unauthorized"))
    assert await count_rows(db, "path_sessions") == 1
    # The other company's key is untouched.
    r = await client.post(
        world.sessions_url(world.other_path),
        json=valid_body(sessionOwnerGroup=world.other_group, instructorsMails=[]),
        headers={"X-company-id": world.other_company, "X-apiKey": world.other_key},
    )
    created_id(r)


async def test_key_revoked_by_sql(client: httpx.AsyncClient, world: World, db: Database) -> None:
    await db.execute("UPDATE api_keys SET revoked_at = 1 WHERE company_id = ?", world.company)
    r = await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    await assert_error(r, db, 401, "unauthorized")


@pytest.mark.parametrize(
    "path_id",
    ["", "not-an-id", UNKNOWN_ID, World.other_path, World.path],
    ids=["empty", "malformed", "unknown", "foreign", "good"],
)
@pytest.mark.parametrize(
    "body",
    [valid_body(), valid_body(sessionName=""), b"{not json"],
    ids=["good-body", "bad-field", "unreadable"],
)
async def test_unauthorized_comes_before_every_check(
    client: httpx.AsyncClient, world: World, db: Database, path_id: str, body: Any
) -> None:
    headers = {"X-company-id": world.company, "X-apiKey": "wrong"}
    url = world.sessions_url(path_id)
    if isinstance(body, bytes):
        r = await client.post(url, content=body, headers=headers)
    else:
        r = await client.post(url, json=body, headers=headers)
    await assert_error(r, db, 401, "unauthorized")


async def bearer_token(client: httpx.AsyncClient, company: str, key: str) -> str:
    r = await client.post(
        "/api/v2/oauth2/token",
        json={"grant_type": "client_credentials", "client_id": company, "client_secret": key},
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert isinstance(token, str)
    return token


async def test_auth_by_bearer_token(client: httpx.AsyncClient, world: World, db: Database) -> None:
    token = await bearer_token(client, world.company, world.key)
    r = await client.post(
        world.sessions_url(), json=valid_body(), headers={"Authorization": f"Bearer {token}"}
    )
    session_id = created_id(r)
    row = await db.fetchone("SELECT company_id FROM path_sessions WHERE id = ?", session_id)
    assert row is not None
    assert row[0] == world.company


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Bearer not-a-token", f"Bearer {World.key}", "Bearer {token}x"],
    ids=["no-token", "empty-token", "garbage", "raw-api-key", "tampered"],
)
async def test_bad_bearer_token(
    client: httpx.AsyncClient, world: World, db: Database, authorization: str
) -> None:
    token = await bearer_token(client, world.company, world.key)
    headers = {"Authorization": authorization.replace("{token}", token)}
    r = await client.post(world.sessions_url(), json=valid_body(), headers=headers)
    await assert_error(r, db, 401, "unauthorized")


async def test_bearer_token_of_revoked_key(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    token = await bearer_token(client, world.company, world.key)
    await db.execute("UPDATE api_keys SET revoked_at = 1 WHERE company_id = ?", world.company)
    r = await client.post(
        world.sessions_url(), json=valid_body(), headers={"Authorization": f"Bearer {token}"}
    )
    await assert_error(r, db, 401, "unauthorized")


async def test_bearer_token_is_bound_to_its_company(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    token = await bearer_token(client, world.other_company, world.other_key)
    r = await client.post(
        world.sessions_url(), json=valid_body(), headers={"Authorization": f"Bearer {token}"}
    )
    await assert_error(r, db, 404, "path_not_found")


# --- Request bodies --------------------------------------------------------------------------


def form(pairs: list[tuple[str, str]]) -> bytes:
    return urlencode(pairs).encode()


def form_fields(world: World, mails: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [
        ("sessionName", "Cohort 1"),
        ("startDate", "2030-01-01T09:00:00.000Z"),
        ("endDate", "2030-01-02T17:00:00.000Z"),
        ("sessionOwnerGroup", world.root_group),
        *mails,
        ("sessionAdditionalInformation", "REG-42"),
    ]


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "content_type", [FORM, "application/json", "text/plain", None, f"{FORM}; charset=utf-8"]
)
async def test_form_body_with_bracket_array(
    client: httpx.AsyncClient, world: World, db: Database, content_type: str | None
) -> None:
    # Brackets as a browser or `qs.stringify` sends them: raw in one test, encoded in another.
    raw = (
        "sessionName=Cohort+1&startDate=2030-01-01T09%3A00%3A00.000Z"
        "&endDate=2030-01-02T17%3A00%3A00.000Z"
        f"&sessionOwnerGroup={world.root_group}"
        f"&instructorsMails[]={quote(world.second_instructor_mail)}"
        f"&instructorsMails[]={quote(world.instructor_mail)}"
        "&sessionAdditionalInformation=REG-42"
    ).encode()
    headers = dict(world.headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    session_id = created_id(await client.post(world.sessions_url(), content=raw, headers=headers))
    row = await db.fetchone(
        "SELECT name, start_date, end_date, owner_group_id, additional_information"
        " FROM path_sessions WHERE id = ?",
        session_id,
    )
    assert row is not None
    assert tuple(row) == (
        "Cohort 1",
        1_893_488_400_000,
        1_893_603_600_000,
        world.root_group,
        "REG-42",
    )
    assert await instructors(db, session_id) == [
        (world.second_instructor, 0),
        (world.instructor, 1),
    ]


@pytest.mark.parametrize(
    "mails",
    [
        # Percent-encoded brackets.
        [
            ("instructorsMails[]", World.second_instructor_mail),
            ("instructorsMails[]", World.instructor_mail),
        ],
        # Indexed, sent out of order: the index decides.
        [
            ("instructorsMails[1]", World.instructor_mail),
            ("instructorsMails[0]", World.second_instructor_mail),
        ],
        # A repeated plain name.
        [
            ("instructorsMails", World.second_instructor_mail),
            ("instructorsMails", World.instructor_mail),
        ],
    ],
    ids=["brackets-encoded", "indexed", "repeated"],
)
async def test_form_body_array_shapes(
    client: httpx.AsyncClient, world: World, db: Database, mails: list[tuple[str, str]]
) -> None:
    r = await client.post(
        world.sessions_url(),
        content=form(form_fields(world, mails)),
        headers={**world.headers, "Content-Type": FORM},
    )
    assert await instructors(db, created_id(r)) == [
        (world.second_instructor, 0),
        (world.instructor, 1),
    ]


async def test_form_body_single_indexed_instructor(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    body = form(form_fields(world, [("instructorsMails[0]", world.instructor_mail)]))
    r = await client.post(
        world.sessions_url(), content=body, headers={**world.headers, "Content-Type": FORM}
    )
    assert await instructors(db, created_id(r)) == [(world.instructor, 0)]


async def test_form_body_without_instructors_uses_owner(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    r = await client.post(
        world.sessions_url(),
        content=form(form_fields(world, [])),
        headers={**world.headers, "Content-Type": "application/json"},
    )
    assert await instructors(db, created_id(r)) == [(world.owner, 0)]


async def test_form_body_offset_date(client: httpx.AsyncClient, world: World, db: Database) -> None:
    fields = [
        ("sessionName", "Offset"),
        ("startDate", "2022-05-16T23:00:00+01:00"),  # urlencode sends `+` as %2B
        ("sessionOwnerGroup", world.root_group),
    ]
    r = await client.post(
        world.sessions_url(), content=form(fields), headers={**world.headers, "Content-Type": FORM}
    )
    row = await db.fetchone(
        "SELECT start_date, end_date FROM path_sessions WHERE id = ?", created_id(r)
    )
    assert row is not None
    assert tuple(row) == (1_652_738_400_000, None)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        # A single plain value is a string, not an array.
        ("instructorsMails=ines%40acme.test", "invalid_instructors"),
        # An empty endDate is present, not null.
        ("endDate=", "invalid_end_date"),
        # `a[k]=` is an object.
        ("sessionAdditionalInformation[k]=v", "invalid_session_additional_information"),
        ("sessionName[]=Cohort", "invalid_session_name"),
        ("sessionOwnerGroup[k]=6a0000000000000000000001", "invalid_session_owner_group"),
        # A `+` not percent-encoded is a space: the date is no longer valid.
        ("startDate=2030-01-01T09:00:00+01:00", "invalid_start_date"),
        # An index that str.isdigit() accepts but int() does not: a field error, not a 500.
        ("sessionName[%C2%B2]=Cohort", "invalid_session_name"),
    ],
)
async def test_form_body_field_errors(
    client: httpx.AsyncClient, world: World, db: Database, raw: str, code: str
) -> None:
    base = {
        "sessionName": "Cohort 1",
        "startDate": "2030-01-01T09:00:00Z",
        "sessionOwnerGroup": world.root_group,
    }
    name = raw.split("=", 1)[0].split("[", 1)[0]
    body = urlencode([(k, v) for k, v in base.items() if k != name]) + "&" + raw
    r = await client.post(
        world.sessions_url(), content=body.encode(), headers={**world.headers, "Content-Type": FORM}
    )
    await assert_error(r, db, 400, code)


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"sessionName": "Cohort 1"',
        b"[1,2]",
        b"[]",
        b'"str"',
        b"42",
        b"null",
        b"true",
        b"sessionName=Cohort&broken",
        b"=x",
        b"instructorsMails[k]=a%40b.co&instructorsMails[]=c%40d.co",
        b"sessionName=%FF",
        "sessionName=été".encode(),
        b"\xff\xfe\x00",
        # JSON whose string is not UTF-8: unreadable, not a server fault.
        b'{"sessionName": "\xff"}',
    ],
)
@pytest.mark.parametrize("content_type", ["application/json", FORM])
async def test_invalid_body(
    client: httpx.AsyncClient, world: World, db: Database, raw: bytes, content_type: str
) -> None:
    r = await client.post(
        world.sessions_url(), content=raw, headers={**world.headers, "Content-Type": content_type}
    )
    await assert_error(r, db, 400, "invalid_body")


@pytest.mark.parametrize("raw", [b"", b"&", b"&&"])
async def test_empty_body_is_an_empty_form(
    client: httpx.AsyncClient, world: World, db: Database, raw: bytes
) -> None:
    r = await client.post(world.sessions_url(), content=raw, headers=world.headers)
    await assert_error(r, db, 400, "invalid_session_name")


async def test_json_body_without_content_type(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    raw = msgspec.json.encode(valid_body())
    headers = {**world.headers, "Content-Type": "text/plain"}
    created_id(await client.post(world.sessions_url(), content=raw, headers=headers))
    assert await count_rows(db, "path_sessions") == 1


async def test_unknown_body_fields_ignored(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    body = valid_body(foo="bar", sessionId=UNKNOWN_ID, instructors=None, error="x", message="y")
    created_id(await client.post(world.sessions_url(), json=body, headers=world.headers))
    raw = form(form_fields(world, [("unknown[]", "x"), ("other[k]", "v"), ("third", "")]))
    created_id(
        await client.post(
            world.sessions_url(), content=raw, headers={**world.headers, "Content-Type": FORM}
        )
    )
    assert await count_rows(db, "path_sessions") == 2


# --- Body size -------------------------------------------------------------------------------


def json_body_of_size(size: int) -> bytes:
    """A valid create body of exactly `size` bytes, padded with an unknown field."""
    base = msgspec.json.encode({**valid_body(), "padding": ""})
    padded = base[:-2] + b"x" * (size - len(base)) + base[-2:]
    assert len(padded) == size
    decoded = msgspec.json.decode(padded)
    assert decoded["sessionName"] == "Cohort 1"
    return padded


async def test_body_of_exactly_one_mib_accepted(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    raw = json_body_of_size(MIB)
    created_id(await client.post(world.sessions_url(), content=raw, headers=world.headers))
    assert await count_rows(db, "path_sessions") == 1


@pytest.mark.parametrize(
    ("url", "with_credentials"),
    [
        (None, True),
        (None, False),
        ("/api/v1/paths//sessions/", True),
        ("/api/v1/paths/not-an-id/sessions/", True),
        ("/api/v1/nothing", False),
        ("/health", False),
    ],
    ids=["good", "no-credentials", "empty-path", "bad-path", "unknown-route", "wrong-method"],
)
async def test_body_over_one_mib_refused_first(
    client: httpx.AsyncClient,
    world: World,
    db: Database,
    url: str | None,
    with_credentials: bool,
) -> None:
    raw = json_body_of_size(MIB + 1)
    headers = world.headers if with_credentials else {}
    r = await client.post(url or world.sessions_url(), content=raw, headers=headers)
    await assert_error(r, db, 413, "payload_too_large")


async def chunks(raw: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(raw), size):
        yield raw[start : start + size]


@pytest.mark.parametrize("with_credentials", [True, False])
async def test_streamed_body_over_one_mib_refused(
    client: httpx.AsyncClient, world: World, db: Database, with_credentials: bool
) -> None:
    # No Content-Length: the limit is enforced while reading, once the request is known to be
    # served; without credentials nothing of the body is read (docs/api.md, decision 70).
    raw = json_body_of_size(MIB + 1)
    headers = world.headers if with_credentials else {}
    r = await client.post(world.sessions_url(), content=chunks(raw, 64 * 1024), headers=headers)
    assert "content-length" not in r.request.headers
    if with_credentials:
        await assert_error(r, db, 413, "payload_too_large")
    else:
        await assert_error(r, db, 401, "unauthorized")


async def test_streamed_body_of_one_mib_accepted(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    raw = json_body_of_size(MIB)
    r = await client.post(world.sessions_url(), content=chunks(raw, 100_000), headers=world.headers)
    assert "content-length" not in r.request.headers
    created_id(r)


# --- Server faults ---------------------------------------------------------------------------

# Built at run time so that no source line shown in a traceback contains it.
SECRET = "secret " + "SELECT password FROM vault WHERE id = 'x'"


def fault_ids(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        m.group(1)
        for record in caplog.records
        if record.name.startswith("pathsessions")
        for m in [re.search(r"\b([0-9a-f]{32})\b", record.getMessage())]
        if m is not None
    ]


def assert_fault(r: httpx.Response, caplog: pytest.LogCaptureFixture) -> str:
    assert r.status_code == 500
    assert r.headers["content-type"] == JSON_TYPE
    m = INTERNAL_ERROR.fullmatch(r.content)
    assert m is not None, r.content
    error_id = m.group(1).decode()
    assert fault_ids(caplog) == [error_id]
    return error_id


async def test_unexpected_fault_answers_500_with_logged_id(
    client: httpx.AsyncClient,
    world: World,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def explode(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError(SECRET)

    monkeypatch.setattr(pathsessions.core.sessions, "create_session", explode)
    caplog.set_level(logging.DEBUG, logger="pathsessions")
    r = await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    error_id = assert_fault(r, caplog)
    # The log carries the id with the traceback (frames), never the exception's message.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert error_id in logged
    assert "RuntimeError" in logged
    (fault,) = [record for record in caplog.records if record.levelname == "ERROR"]
    assert getattr(fault, "request_id", None) == error_id
    assert r.headers["x-request-id"] == error_id
    assert any(frame.endswith(" in explode") for frame in getattr(fault, "frames", []))
    assert "secret" not in caplog.text
    assert "SELECT" not in caplog.text
    assert "vault" not in logged
    for record in caplog.records:
        assert record.exc_info is None or SECRET not in str(record.exc_info[1])
    assert b"secret" not in r.content
    assert b"Traceback" not in r.content
    await assert_nothing_written(db)


async def test_each_fault_has_its_own_id(
    client: httpx.AsyncClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def explode(*args: Any, **kwargs: Any) -> None:
        raise ValueError(SECRET)

    monkeypatch.setattr(pathsessions.storage.sessions, "insert_session", explode)
    caplog.set_level(logging.ERROR, logger="pathsessions")
    first = await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    second = await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    ids = []
    for r in (first, second):
        m = INTERNAL_ERROR.fullmatch(r.content)
        assert r.status_code == 500
        assert m is not None, r.content
        ids.append(m.group(1).decode())
    assert ids[0] != ids[1]
    assert fault_ids(caplog) == ids


async def test_fault_inside_the_write_rolls_back(
    client: httpx.AsyncClient,
    world: World,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A database error after the session row is written: nothing stays, and no SQL leaks."""
    real_insert = pathsessions.storage.sessions.insert_session
    bogus_user = "6bffffffffffffffffffffff"

    async def insert_with_unknown_instructor(db: Database, s: NewSession) -> None:
        await real_insert(db, structs.replace(s, instructor_ids=(*s.instructor_ids, bogus_user)))

    monkeypatch.setattr(
        pathsessions.storage.sessions, "insert_session", insert_with_unknown_instructor
    )
    caplog.set_level(logging.DEBUG, logger="pathsessions")
    r = await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    assert_fault(r, caplog)
    await assert_nothing_written(db)
    for text in (r.text, caplog.text):
        assert bogus_user not in text
        assert "foreign key" not in text.lower()
        assert "violates" not in text
        assert "constraint" not in text.lower()
    assert "INSERT" not in r.text
    # The application is still usable: no transaction was left open.
    monkeypatch.undo()
    created_id(await client.post(world.sessions_url(), json=valid_body(), headers=world.headers))
    assert await count_rows(db, "path_sessions") == 1


async def test_form_with_non_decimal_index_is_not_a_fault(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    r = await client.post(
        world.sessions_url(),
        content=b"instructorsMails[%C2%B2]=x",
        headers={**world.headers, "Content-Type": FORM},
    )
    assert r.status_code != 500, r.text
    await assert_nothing_written(db)


# --- Content type and body shapes ------------------------------------------------------------


async def test_every_answer_is_json_utf8(
    client: httpx.AsyncClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = world.sessions_url()
    answers = [
        (200, await client.post(url, json=valid_body(), headers=world.headers)),
        (400, await client.post(url, json=valid_body(sessionName=""), headers=world.headers)),
        (400, await client.post(url, content=b"{not json", headers=world.headers)),
        (401, await client.post(url, json=valid_body())),
        (404, await client.post(world.sessions_url(UNKNOWN_ID), json={}, headers=world.headers)),
        (404, await client.get("/nowhere")),
        (413, await client.post(url, content=b"x" * (MIB + 1))),
        (200, await client.get("/health")),
    ]

    async def explode(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(pathsessions.core.sessions, "create_session", explode)
    answers.append((500, await client.post(url, json=valid_body(), headers=world.headers)))
    assert [r.status_code for _, r in answers] == [status for status, _ in answers]
    for position, (status, r) in enumerate(answers):
        assert r.headers["content-type"] == JSON_TYPE
        assert int(r.headers["content-length"]) == len(r.content)
        value = r.json()
        assert isinstance(value, dict)
        if status == 200:
            assert "error" not in value
            assert "message" not in value
        elif position == 5:  # the unknown route
            assert list(value) == ["message", "documentation_url"]
        else:
            assert list(value) == ["error"]
            assert isinstance(value["error"], str)


async def test_access_log_has_one_json_line_per_request_without_credentials(
    settings: Settings, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(replace(settings, access_log=True))
    await app.startup()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            created = await c.post(world.sessions_url(), params=world.query, json=valid_body())
            assert created.status_code == 200
            unknown = await c.get("/nowhere%0Aforged 200", params=world.query)
            refused = await c.get("/api/v1/groups", headers={"X-apiKey": world.key})
    finally:
        await app.shutdown()  # writes out the lines still buffered
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["request_id"] for line in lines] == [
        r.headers["x-request-id"] for r in (created, unknown, refused)
    ]
    first = lines[0]
    assert first["query"] == f"company={world.company}&apiKey=REDACTED"
    assert (first["method"], first["route"], first["path"], first["status"]) == (
        "POST",
        "/api/v1/paths/{pathId}/sessions",
        world.sessions_url(),
        200,
    )
    assert first["company_id"] == world.company
    assert isinstance(first["duration_ms"], float)
    assert (lines[1]["route"], lines[1]["path"], lines[1]["status"]) == (
        None,
        "/nowhere%0Aforged%20200",
        404,
    )
    assert (lines[2]["route"], lines[2]["status"], lines[2]["company_id"]) == (
        "/api/v1/groups",
        401,
        None,
    )
    assert all(world.key not in json.dumps(line) for line in lines)


async def test_access_log_is_off_when_the_log_level_is_warning(
    settings: Settings, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(replace(settings, access_log=True, log_level="WARNING"))
    await app.startup()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            assert (await c.get("/health")).status_code == 200
    finally:
        await app.shutdown()
    assert capsys.readouterr().err == ""


async def test_a_client_gone_mid_upload_is_not_acted_on(
    app: App, world: World, db: Database
) -> None:
    form = (
        f"sessionName=Cut&startDate=2030-01-01T09%3A00%3A00Z&sessionOwnerGroup={world.root_group}"
        f"&instructorsMails[]={world.instructor_mail}&instructorsMails[]="
    ).encode()
    messages: Iterator[dict[str, Any]] = iter(
        [
            {"type": "http.request", "body": form, "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": world.sessions_url(),
        "raw_path": world.sessions_url().encode(),
        "query_string": b"",
        "headers": [(b"x-company-id", world.company.encode()), (b"x-apikey", world.key.encode())],
    }
    await app(scope, receive, send)
    assert sent == []
    assert await count_rows(db, "path_sessions") == 0


async def test_an_encoded_slash_stays_inside_its_segment(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.delete("/api/v1/paths/sessions/x%2Fusers", headers=world.headers)
    assert (r.status_code, r.content) == (404, error("path_session_not_found"))
    r = await client.get("/api/v1/users/ines%40acme.test", headers=world.headers)
    assert (r.status_code, r.json()["_id"]) == (200, world.instructor)


@pytest.mark.backend_independent
async def test_route_text_is_literal(client: httpx.AsyncClient) -> None:
    for path in ["/openapiXjson", "/openapi_json"]:
        r = await client.get(path)
        assert r.status_code == 404
        assert r.json()["message"] == "Not Found"


async def test_a_repeated_credential_header_counts_by_its_first_value(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = [
        ("X-company-id", world.other_company),
        ("X-company-id", world.company),
        ("X-apiKey", world.key),
    ]
    r = await client.post(world.sessions_url(), json=valid_body(), headers=headers)
    assert (r.status_code, r.content) == (401, error("unauthorized"))


@pytest.mark.backend_independent
async def test_an_absurd_declared_length_is_too_large(app: App) -> None:
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v2/oauth2/token",
        "raw_path": b"/api/v2/oauth2/token",
        "query_string": b"",
        "headers": [(b"content-length", b"9" * 5000)],
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert sent[1]["body"] == error("payload_too_large")
