"""Bearer tokens (docs/api.md, "Authentication"), through the real app.

`POST /api/v2/oauth2/token` exchanges an API key for a one-hour token; the token then
authenticates every v1 endpoint, alone when its header is present.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

import httpx
import pytest

from pathsessions.api.v1.routes import ROUTES
from pathsessions.app import App, create_app
from pathsessions.core.clock import SYSTEM_CLOCK, SettableClock
from pathsessions.core.operators import create_key, list_keys, revoke_key
from pathsessions.settings import Settings
from pathsessions.storage import Database
from pathsessions.web.routing import Route
from support import JSON_TYPE, OTHER, TOKEN_SECRET, UNKNOWN_ID, World, error, valid_body
from support.catalogue import CATALOGUE

TOKEN_URL = "/api/v2/oauth2/token"
UNAUTHORIZED = b'{"error":"unauthorized"}'
HOUR_MS = 3_600_000
FIXED_NOW = 1_900_000_000_000  # 2030-03-17, a fixed issuing instant


def credentials(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "grant_type": "client_credentials",
        "client_id": world.company,
        "client_secret": world.key,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


async def issue(client: httpx.AsyncClient, company: str, key: str) -> str:
    r = await client.post(
        TOKEN_URL,
        json={"grant_type": "client_credentials", "client_id": company, "client_secret": key},
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert isinstance(token, str)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_session(client: httpx.AsyncClient, headers: dict[str, str], path: str) -> str:
    r = await client.post(f"/api/v1/paths/{path}/sessions", json=valid_body(), headers=headers)
    assert r.status_code == 200, r.text
    session_id = r.json()["_id"]
    assert isinstance(session_id, str)
    return session_id


def other_body(world: World) -> dict[str, Any]:
    return valid_body(sessionOwnerGroup=world.other_group, instructorsMails=[])


async def acme_key_id(db: Database, world: World) -> str:
    rows = await list_keys(db, world.company)
    assert len(rows) == 1
    return rows[0].id


# --- Issuing -----------------------------------------------------------------------------------


async def test_issue_token_json(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(TOKEN_URL, json=credentials(world))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == JSON_TYPE
    body = r.json()
    assert list(body) == ["token_type", "access_token", "expires_in"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == "3600"
    token = body["access_token"]
    assert isinstance(token, str)
    assert token
    assert re.fullmatch(r"[A-Za-z0-9._~+/=-]+", token), token
    assert r.content == (
        b'{"token_type":"Bearer","access_token":"' + token.encode() + b'","expires_in":"3600"}'
    )
    # And it works.
    r = await client.get("/api/v1/groups", headers=bearer(token))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "application/json", None]
)
async def test_issue_token_form(
    client: httpx.AsyncClient, world: World, content_type: str | None
) -> None:
    form = (
        f"grant_type=client_credentials&client_id={world.company}&client_secret={world.key}"
    ).encode()
    headers = {} if content_type is None else {"Content-Type": content_type}
    r = await client.post(TOKEN_URL, content=form, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == "3600"
    r = await client.get("/api/v1/paths", headers=bearer(body["access_token"]))
    assert r.status_code == 200, r.text


async def test_issue_token_trailing_slash(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(TOKEN_URL + "/", json=credentials(world))
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "Bearer"


async def test_issue_token_upper_case_client_id(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(TOKEN_URL, json=credentials(world, client_id=world.company.upper()))
    assert r.status_code == 200, r.text
    r = await client.get("/api/v1/groups", headers=bearer(r.json()["access_token"]))
    assert r.status_code == 200, r.text


async def test_issue_token_needs_no_credentials(client: httpx.AsyncClient, world: World) -> None:
    """The token route is not authenticated: a bad Authorization header does not matter."""
    r = await client.post(
        TOKEN_URL, json=credentials(world), headers={"Authorization": "Bearer nonsense"}
    )
    assert r.status_code == 200, r.text


async def test_each_issue_gives_a_working_token(client: httpx.AsyncClient, world: World) -> None:
    first = await issue(client, world.company, world.key)
    second = await issue(client, world.company, world.key)
    for token in (first, second):
        r = await client.get("/api/v1/users", headers=bearer(token))
        assert r.status_code == 200, r.text


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_token_route_other_methods_not_found(
    client: httpx.AsyncClient, app: App, world: World, method: str
) -> None:
    r = await client.request(method, TOKEN_URL)
    assert r.status_code == 404
    assert r.json() == {"message": "Not Found", "documentation_url": app.settings.docs_url}


# --- Issuing errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{not json",
        b"[]",
        b'"client_credentials"',
        b"null",
        b"42",
        b'[{"grant_type":"client_credentials"}]',
        "grant_type=client_credentials&client_id=é".encode(),
        b'{"grant_type":"client_credentials","client_id":"5f1b2c3d4e5f60718293a4b5",'
        b'"client_secret":"\\ud800"}',
    ],
    ids=[
        "empty",
        "broken-json",
        "array",
        "string",
        "null",
        "number",
        "array-of-object",
        "utf8",
        "lone-surrogate",
    ],
)
async def test_unreadable_body_invalid_request(
    client: httpx.AsyncClient, world: World, raw: bytes
) -> None:
    r = await client.post(TOKEN_URL, content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.content == error("invalid_request")
    assert r.headers["content-type"] == JSON_TYPE


@pytest.mark.parametrize("field", ["grant_type", "client_id", "client_secret"])
@pytest.mark.parametrize(
    "value",
    ["", None, 42, True, ["x"], {"a": "b"}],
    ids=["empty", "null", "int", "bool", "list", "obj"],
)
async def test_field_invalid_request(
    client: httpx.AsyncClient, world: World, field: str, value: Any
) -> None:
    body = credentials(world)
    body[field] = value
    r = await client.post(TOKEN_URL, json=body)
    assert r.status_code == 400
    assert r.content == error("invalid_request")


@pytest.mark.parametrize("field", ["grant_type", "client_id", "client_secret"])
async def test_field_missing_invalid_request(
    client: httpx.AsyncClient, world: World, field: str
) -> None:
    body = credentials(world)
    del body[field]
    r = await client.post(TOKEN_URL, json=body)
    assert r.status_code == 400
    assert r.content == error("invalid_request")


async def test_form_missing_field_invalid_request(client: httpx.AsyncClient, world: World) -> None:
    form = f"grant_type=client_credentials&client_id={world.company}".encode()
    r = await client.post(TOKEN_URL, content=form)
    assert r.status_code == 400
    assert r.content == error("invalid_request")


async def test_missing_field_before_grant_type(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(TOKEN_URL, json={"grant_type": "password", "client_id": world.company})
    assert r.status_code == 400
    assert r.content == error("invalid_request")


@pytest.mark.parametrize(
    "grant_type", ["password", "authorization_code", "CLIENT_CREDENTIALS", "client_credentials "]
)
async def test_unsupported_grant_type(
    client: httpx.AsyncClient, world: World, grant_type: str
) -> None:
    r = await client.post(TOKEN_URL, json=credentials(world, grant_type=grant_type))
    assert r.status_code == 400
    assert r.content == error("unsupported_grant_type")


async def test_grant_type_before_client(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(
        TOKEN_URL, json=credentials(world, grant_type="password", client_secret="wrong")
    )
    assert r.status_code == 400
    assert r.content == error("unsupported_grant_type")


@pytest.mark.parametrize(
    ("client_id", "client_secret"),
    [
        (UNKNOWN_ID, "acme-test-key"),
        (OTHER, "acme-test-key"),
        ("5f1b2c3d4e5f60718293a4b5", "other-test-key"),
        ("5f1b2c3d4e5f60718293a4b5", "wrong-key"),
        ("5f1b2c3d4e5f60718293a4b5", "ACME-TEST-KEY"),
        ("xyz", "acme-test-key"),
        ("5f1b2c3d4e5f60718293a4b", "acme-test-key"),
        ("5f1b2c3d4e5f60718293a4b55", "acme-test-key"),
        (" 5f1b2c3d4e5f60718293a4b5", "acme-test-key"),
        ("5f1b2c3d4e5f60718293a4b5", "ключ"),
        ("5f1b2c3d4e5f60718293a4b5", " acme-test-key"),
    ],
    ids=[
        "unknown-company",
        "other-company",
        "other-companys-key",
        "wrong-key",
        "key-case",
        "malformed",
        "23-hex",
        "25-hex",
        "leading-space",
        "non-ascii-key",
        "key-with-space",
    ],
)
async def test_invalid_client(
    client: httpx.AsyncClient, world: World, client_id: str, client_secret: str
) -> None:
    r = await client.post(
        TOKEN_URL, json=credentials(world, client_id=client_id, client_secret=client_secret)
    )
    assert r.status_code == 401
    assert r.content == error("invalid_client")
    assert r.headers["content-type"] == JSON_TYPE


async def test_revoked_key_invalid_client(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await revoke_key(db, SYSTEM_CLOCK, world.company, await acme_key_id(db, world))
    r = await client.post(TOKEN_URL, json=credentials(world))
    assert r.status_code == 401
    assert r.content == error("invalid_client")


# --- Using a token -----------------------------------------------------------------------------

AUTHENTICATED = [route for route in ROUTES if route.authenticated]


def test_every_v1_route_is_authenticated() -> None:
    v1 = [route for route in ROUTES if route.path.startswith("/api/v1/")]
    assert v1
    assert all(route.authenticated for route in v1)
    assert v1 == AUTHENTICATED


def route_url(route: Route[Any, Any], session_id: str) -> str:
    """The route's URL in the catalogue, with the test world's ids for reads and unknown ids
    for writes (no write happens: each write answers its 404, which comes after
    authentication)."""
    if route.method == "GET":
        return CATALOGUE[route.operation_id].url(sessionId=session_id)
    return CATALOGUE[route.operation_id].url(pathId=UNKNOWN_ID, sessionId=UNKNOWN_ID)


@pytest.mark.parametrize("route", AUTHENTICATED, ids=[r.operation_id for r in AUTHENTICATED])
async def test_bearer_works_on_every_v1_route(
    client: httpx.AsyncClient, world: World, route: Route[Any, Any]
) -> None:
    session_id = await create_session(client, world.headers, world.path)
    enrol = await client.patch(
        f"/api/v1/paths/sessions/{session_id}/users",
        json={"userIds": [world.second_instructor]},
        headers=world.headers,
    )
    assert enrol.status_code == 200, enrol.text
    token = await issue(client, world.company, world.key)
    url = route_url(route, session_id)
    body: dict[str, Any] | None = {} if route.method in ("POST", "PATCH", "DELETE") else None
    by_header = await client.request(route.method, url, json=body, headers=world.headers)
    by_token = await client.request(route.method, url, json=body, headers=bearer(token))
    assert by_token.status_code != 401, by_token.text
    assert by_token.status_code == by_header.status_code
    assert by_token.content == by_header.content
    if route.method == "GET":
        assert by_token.status_code == 200, by_token.text
    else:
        assert by_token.status_code == 404, by_token.text
        assert by_token.json()["error"] in ("path_not_found", "path_session_not_found")


@pytest.mark.parametrize("route", AUTHENTICATED, ids=[r.operation_id for r in AUTHENTICATED])
async def test_bad_bearer_decides_alone_on_every_v1_route(
    client: httpx.AsyncClient, world: World, route: Route[Any, Any]
) -> None:
    session_id = await create_session(client, world.headers, world.path)
    url = route_url(route, session_id)
    body = valid_body() if route.method in ("POST", "PATCH", "DELETE") else None
    headers = {**world.headers, "Authorization": "Bearer not-a-token"}
    r = await client.request(route.method, url, json=body, headers=headers, params=world.query)
    assert r.status_code == 401
    assert r.content == UNAUTHORIZED
    assert r.headers["content-type"] == JSON_TYPE


async def test_token_creates_and_reads_a_session(client: httpx.AsyncClient, world: World) -> None:
    token = await issue(client, world.company, world.key)
    session_id = await create_session(client, bearer(token), world.path)
    r = await client.get(f"/api/v1/paths/sessions/{session_id}", headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["sessionId"] == session_id
    assert r.json()["sessionName"] == "Cohort 1"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_scheme_is_case_insensitive(
    client: httpx.AsyncClient, world: World, scheme: str
) -> None:
    token = await issue(client, world.company, world.key)
    r = await client.get("/api/v1/groups", headers={"Authorization": f"{scheme} {token}"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "value",
    ["Bearer", "Bearer ", "Bearer x", "Bearer a.b.c.d", "Bearer {token}x", "Bearer {token} x"],
    ids=["no-token", "empty-token", "garbage", "four-parts", "suffix", "two-words"],
)
async def test_bad_bearer_beats_valid_headers(
    client: httpx.AsyncClient, world: World, value: str
) -> None:
    token = await issue(client, world.company, world.key)
    headers = {**world.headers, "Authorization": value.replace("{token}", token)}
    r = await client.get("/api/v1/groups", headers=headers)
    assert r.status_code == 401
    assert r.content == UNAUTHORIZED
    # The same credentials without the Authorization header work.
    r = await client.get("/api/v1/groups", headers=world.headers)
    assert r.status_code == 200


async def test_bad_bearer_beats_valid_query(client: httpx.AsyncClient, world: World) -> None:
    r = await client.get(
        "/api/v1/groups", params=world.query, headers={"Authorization": "Bearer nope"}
    )
    assert r.status_code == 401
    assert r.content == UNAUTHORIZED


async def test_valid_bearer_beats_bad_headers(client: httpx.AsyncClient, world: World) -> None:
    token = await issue(client, world.company, world.key)
    headers = {"X-company-id": world.company, "X-apiKey": "wrong", **bearer(token)}
    r = await client.get("/api/v1/groups", headers=headers)
    assert r.status_code == 200, r.text


async def test_other_scheme_falls_back_to_api_key(client: httpx.AsyncClient, world: World) -> None:
    headers = {**world.headers, "Authorization": "Basic dXNlcjpwYXNz"}
    r = await client.get("/api/v1/groups", headers=headers)
    assert r.status_code == 200, r.text
    r = await client.get("/api/v1/groups", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401
    assert r.content == UNAUTHORIZED


@pytest.mark.parametrize(
    "raw",
    [b"a.b.c.\xe9", b"\xe9.b.c.d", b"x\xff", b"{company}.{key}.ffff.\xe9\xe9"],
    ids=["non-ascii-signature", "non-ascii-payload", "non-ascii", "non-ascii-valid-payload"],
)
async def test_non_ascii_token_unauthorized(
    client: httpx.AsyncClient, world: World, db: Database, raw: bytes
) -> None:
    key_id = await acme_key_id(db, world)
    token = raw.replace(b"{company}", world.company.encode()).replace(b"{key}", key_id.encode())
    r = await client.get("/api/v1/groups", headers=[(b"Authorization", b"Bearer " + token)])
    assert r.status_code == 401, r.text
    assert r.content == UNAUTHORIZED


# --- Expiry ------------------------------------------------------------------------------------


async def test_token_expires_after_one_hour(
    client: httpx.AsyncClient, world: World, settable_clock: SettableClock
) -> None:
    token = await issue(client, world.company, world.key)
    now = settable_clock.now_ms()
    settable_clock.set(now + 3_599_000)
    r = await client.get("/api/v1/groups", headers=bearer(token))
    assert r.status_code == 200, r.text
    settable_clock.set(now + 3_600_001)
    r = await client.get("/api/v1/groups", headers=bearer(token))
    assert r.status_code == 401
    assert r.content == UNAUTHORIZED


@pytest.mark.parametrize(
    ("elapsed", "status"),
    [(0, 200), (1, 200), (HOUR_MS - 1, 200), (HOUR_MS, 401), (HOUR_MS + 1, 401)],
)
async def test_token_lifetime_boundary(
    client: httpx.AsyncClient,
    world: World,
    settable_clock: SettableClock,
    elapsed: int,
    status: int,
) -> None:
    settable_clock.set(FIXED_NOW)
    token = await issue(client, world.company, world.key)
    settable_clock.set(FIXED_NOW + elapsed)
    r = await client.get("/api/v1/groups", headers=bearer(token))
    assert r.status_code == status, r.text
    if status == 401:
        assert r.content == UNAUTHORIZED


async def test_expired_token_does_not_fall_back_to_headers(
    client: httpx.AsyncClient, world: World, settable_clock: SettableClock
) -> None:
    token = await issue(client, world.company, world.key)
    now = settable_clock.now_ms()
    settable_clock.set(now + 3_600_001)
    r = await client.get("/api/v1/groups", headers={**world.headers, **bearer(token)})
    assert r.status_code == 401
    assert r.content == UNAUTHORIZED


# --- Revocation and tampering ------------------------------------------------------------------


async def test_revoking_the_key_ends_its_tokens(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    token = await issue(client, world.company, world.key)
    assert (await client.get("/api/v1/groups", headers=bearer(token))).status_code == 200
    await revoke_key(db, SYSTEM_CLOCK, world.company, await acme_key_id(db, world))
    r = await client.get("/api/v1/groups", headers=bearer(token))
    assert r.status_code == 401
    assert r.content == UNAUTHORIZED


async def test_revoking_one_key_keeps_the_other_keys_tokens(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    first_key_id = await acme_key_id(db, world)
    second = await create_key(db, SYSTEM_CLOCK, world.company, "second")
    first_token = await issue(client, world.company, world.key)
    second_token = await issue(client, world.company, second.key)
    await revoke_key(db, SYSTEM_CLOCK, world.company, first_key_id)
    r = await client.get("/api/v1/groups", headers=bearer(first_token))
    assert r.status_code == 401
    r = await client.get("/api/v1/groups", headers=bearer(second_token))
    assert r.status_code == 200, r.text
    # The other company's tokens are untouched too.
    other_token = await issue(client, world.other_company, world.other_key)
    r = await client.get("/api/v1/groups", headers=bearer(other_token))
    assert r.status_code == 200, r.text


def tamper(text: str, index: int) -> str:
    """`text` with the character at `index` replaced by another of the same alphabet."""
    old = text[index]
    new = "0" if old != "0" else "1"
    if old.isalpha():
        new = "a" if old != "a" else "b"
    return text[:index] + new + text[index + 1 :]


async def test_tampered_tokens_unauthorized(client: httpx.AsyncClient, world: World) -> None:
    token = await issue(client, world.company, world.key)
    parts = token.split(".")
    assert len(parts) == 4
    assert parts[0] == world.company
    company, key_id, expiry, signature = parts
    candidates = {
        "signature-first": ".".join([company, key_id, expiry, tamper(signature, 0)]),
        "signature-last": ".".join([company, key_id, expiry, tamper(signature, -1)]),
        "signature-dropped": ".".join([company, key_id, expiry, signature[:-1]]),
        "signature-empty": ".".join([company, key_id, expiry, ""]),
        "company-one-char": ".".join([tamper(company, 3), key_id, expiry, signature]),
        "company-other": ".".join([world.other_company, key_id, expiry, signature]),
        "company-upper": ".".join([company.upper(), key_id, expiry, signature]),
        "key-id": ".".join([company, tamper(key_id, 5), expiry, signature]),
        "expiry-longer": ".".join([company, key_id, expiry + "0", signature]),
        "expiry-changed": ".".join([company, key_id, tamper(expiry, 0), signature]),
        "extra-part": token + ".x",
        "payload-only": ".".join([company, key_id, expiry]),
    }
    for name, tampered in candidates.items():
        assert tampered != token, name
        r = await client.get("/api/v1/groups", headers=bearer(tampered))
        assert r.status_code == 401, name
        assert r.content == UNAUTHORIZED, name
    # The untouched token still works.
    assert (await client.get("/api/v1/groups", headers=bearer(token))).status_code == 200


def forge(payload: str) -> str:
    """`payload` signed with the test servers' secret, as `POST /api/v2/oauth2/token` signs."""
    digest = hmac.new(TOKEN_SECRET.encode(), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


FORGED_EXPIRY = f"{FIXED_NOW + HOUR_MS:x}"  # 1ba610a2680: has letters to upper-case


def forged_payloads(company: str, key_id: str) -> dict[str, str]:
    """Payloads that are not laid out as issued, each naming a live key and, read leniently,
    an expiry still to come (or none that can be read)."""
    e = FORGED_EXPIRY
    return {
        "expiry-plus": f"{company}.{key_id}.+{e}",
        "expiry-space": f"{company}.{key_id}. {e}",
        "expiry-trailing-space": f"{company}.{key_id}.{e} ",
        "expiry-tab": f"{company}.{key_id}.\t{e}",
        "expiry-upper": f"{company}.{key_id}.{e.upper()}",
        "expiry-0x": f"{company}.{key_id}.0x{e}",
        "expiry-underscore": f"{company}.{key_id}.{e[:3]}_{e[3:]}",
        "expiry-leading-zero": f"{company}.{key_id}.0{e}",
        "expiry-empty": f"{company}.{key_id}.",
        "expiry-garbage": f"{company}.{key_id}.zz",
        "expiry-minus": f"{company}.{key_id}.-{e}",
        "expiry-14-digits": f"{company}.{key_id}.{'f' * 14}",
        "expiry-huge": f"{company}.{key_id}.{'f' * 5000}",
        "company-upper": f"{company.upper()}.{key_id}.{e}",
        "key-upper": f"{company}.{key_id.upper()}.{e}",
        "company-short": f"{company[:-1]}.{key_id}.{e}",
        "company-long": f"{company}0.{key_id}.{e}",
        "company-not-hex": f"{'g' * 24}.{key_id}.{e}",
        "key-empty": f"{company}..{e}",
        "extra-field": f"{company}.{key_id}.{e}.{e}",
        "extra-field-first": f"x.{company}.{key_id}.{e}",
        "missing-key": f"{company}.{e}",
        "missing-expiry": f"{company}.{key_id}",
        "empty": "",
    }


async def test_well_signed_malformed_tokens_unauthorized(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    """A token signed with the right secret is still refused, 401 and never 500, unless its
    fields are exactly as issued (docs/api.md, decision 60)."""
    settable_clock.set(FIXED_NOW)
    key_id = await acme_key_id(db, world)
    # The forging is right: the payload as issued is accepted.
    well_formed = forge(f"{world.company}.{key_id}.{FORGED_EXPIRY}")
    r = await client.get("/api/v1/groups", headers=bearer(well_formed))
    assert r.status_code == 200, r.text
    answers = {}
    for name, payload in forged_payloads(world.company, key_id).items():
        r = await client.get("/api/v1/groups", headers=bearer(forge(payload)))
        answers[name] = (r.status_code, r.content)
    assert answers == dict.fromkeys(answers, (401, UNAUTHORIZED))


async def test_token_of_other_company_sees_only_its_data(
    client: httpx.AsyncClient, world: World
) -> None:
    acme_session = await create_session(client, world.headers, world.path)
    r = await client.post(
        f"/api/v1/paths/{world.other_path}/sessions",
        json=other_body(world),
        headers=world.other_headers,
    )
    assert r.status_code == 200, r.text
    other_session = r.json()["_id"]
    token = bearer(await issue(client, world.other_company, world.other_key))

    r = await client.get("/api/v1/paths/sessions", headers=token)
    assert [s["sessionId"] for s in r.json()] == [other_session]
    r = await client.get("/api/v1/paths", headers=token)
    assert [p["_id"] for p in r.json()] == [world.other_path]
    r = await client.get("/api/v1/groups", headers=token)
    assert [g["_id"] for g in r.json()] == [world.other_group]
    r = await client.get("/api/v1/users", headers=token)
    assert sorted(u["mail"] for u in r.json()) == ["olga@other.test", "owner@other.test"]

    r = await client.get(f"/api/v1/paths/sessions/{acme_session}", headers=token)
    assert r.status_code == 404
    assert r.content == error("path_session_not_found")
    r = await client.delete(f"/api/v1/paths/sessions/{acme_session}", headers=token)
    assert r.status_code == 404
    r = await client.get(f"/api/v1/paths/{world.path}", headers=token)
    assert r.status_code == 404
    assert r.content == error("path_not_found")
    r = await client.get(f"/api/v1/users/{world.instructor_mail}", headers=token)
    assert r.status_code == 400
    assert r.content == error("user_not_found")
    r = await client.post(world.sessions_url(), json=valid_body(), headers=token)
    assert r.status_code == 404
    assert r.content == error("path_not_found")
    # ACME's session is still there.
    r = await client.get(f"/api/v1/paths/sessions/{acme_session}", headers=world.headers)
    assert r.status_code == 200


async def test_token_valid_on_another_app_instance(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    """The signing secret lives in the database: every worker on it accepts the token."""
    token = await issue(client, world.company, world.key)
    second = create_app(settings)
    await second.startup()
    try:
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            r = await c.get("/api/v1/groups", headers=bearer(token))
            assert r.status_code == 200, r.text
    finally:
        await second.shutdown()


async def test_token_from_another_secret_unauthorized(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    token = await issue(client, world.company, world.key)
    other = create_app(Settings(**{**settings_dict(settings), "token_secret": "b" * 40}))
    await other.startup()
    try:
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            r = await c.get("/api/v1/groups", headers=bearer(token))
            assert r.status_code == 401
            assert r.content == UNAUTHORIZED
    finally:
        await other.shutdown()


def settings_dict(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in Settings.__dataclass_fields__}
