"""The conventions every v2 endpoint shares, through the real app on its groups endpoints:
the order of the checks and their exact answers, page tokens, filters, bodies and dates."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import msgspec
import pytest

from pathsessions.api.context import Context
from pathsessions.api.v2 import bodies, dates, filters
from pathsessions.api.v2.errors import ERRORS, BadRequest
from pathsessions.api.v2.operations import Operation
from pathsessions.api.v2.pagination import Listing
from pathsessions.api.v2.routes import OPERATIONS
from pathsessions.api.v2.routes import ROUTES as V2_ROUTES
from pathsessions.api.v2.routes import SCHEMAS as V2_SCHEMAS
from pathsessions.app import App, create_app
from pathsessions.core import directory
from pathsessions.core.errors import DomainError, ErrorCode
from pathsessions.core.listing import Condition, ListQuery, Page
from pathsessions.core.model import Client, Company
from pathsessions.settings import Settings
from pathsessions.storage import Database
from pathsessions.storage.listing import fetch_page
from pathsessions.web.asgi import Request
from pathsessions.web.ratelimit import SharedTable
from support import UNKNOWN_ID, World
from support.v2 import VERSION_HEADER, v2_headers
from support.world import ACME_DIRECTORY_READ, ACME_FULL, ACME_PATHS_READ, OTHER_FULL
from test_v2_groups import GROUPS, LINK, add_groups

INVALID_TOKEN = b'{"error":"invalid_token"}'


def assert_nested(r: httpx.Response, status: int, code: str) -> str:
    """The nested envelope with `code`; answers its message."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code
    message = body["error"]["message"]
    assert isinstance(message, str)
    assert message
    return message


async def bearer(client: httpx.AsyncClient) -> dict[str, str]:
    headers = await v2_headers(client)
    return {"Authorization": headers["Authorization"]}


# --- The order of checks --------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic abc", "Bearer not-a-token", "Bearer a.b.c"],
)
async def test_no_valid_token_is_a_bare_invalid_token(
    client: httpx.AsyncClient, world: World, authorization: str | None
) -> None:
    headers = dict(VERSION_HEADER)
    if authorization is not None:
        headers["Authorization"] = authorization
    r = await client.get(GROUPS, headers=headers)
    assert r.status_code == 401
    assert r.content == INVALID_TOKEN


async def test_v1_credentials_are_not_accepted_on_v2(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.get(GROUPS, headers={**world.headers, **VERSION_HEADER})
    assert (r.status_code, r.content) == (401, INVALID_TOKEN)
    r = await client.get(GROUPS, params=world.query, headers=VERSION_HEADER)
    assert (r.status_code, r.content) == (401, INVALID_TOKEN)
    r = await client.post(
        "/api/v2/oauth2/token",
        json={
            "grant_type": "client_credentials",
            "client_id": world.company,
            "client_secret": world.key,
        },
    )
    assert r.status_code == 200, r.text
    v1_token = r.json()["access_token"]
    r = await client.get(GROUPS, headers={"Authorization": f"Bearer {v1_token}", **VERSION_HEADER})
    assert (r.status_code, r.content) == (401, INVALID_TOKEN)


async def test_a_token_is_checked_before_the_version_header(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.get(GROUPS)
    assert (r.status_code, r.content) == (401, INVALID_TOKEN)


@pytest.mark.parametrize("version", [None, "", "v2", "v1.0", "V2.0", "v2.0 ", "v2.1"])
async def test_a_missing_or_wrong_version_header_is_invalid_api_version(
    client: httpx.AsyncClient, world: World, version: str | None
) -> None:
    headers = await bearer(client)
    if version is not None:
        headers["360-api-version"] = version
    for url in (GROUPS, f"{GROUPS}/{world.root_group}"):
        r = await client.get(url, headers=headers)
        assert_nested(r, 400, "invalidApiVersion")


async def test_the_version_header_is_checked_before_the_scope(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await v2_headers(client, ACME_PATHS_READ)
    del headers["360-api-version"]
    assert_nested(await client.get(GROUPS, headers=headers), 400, "invalidApiVersion")


async def test_a_token_without_the_scope_is_invalid_scope(
    client: httpx.AsyncClient, world: World
) -> None:
    paths_only = await v2_headers(client, ACME_PATHS_READ)
    for url in (GROUPS, f"{GROUPS}/{world.root_group}", f"{GROUPS}/not-an-id"):
        assert_nested(await client.get(url, headers=paths_only), 403, "invalid_scope")
    directory_reader = await v2_headers(client, ACME_DIRECTORY_READ)
    assert (await client.get(GROUPS, headers=directory_reader)).status_code == 200


async def test_the_scope_is_checked_before_request_validation(
    client: httpx.AsyncClient, world: World
) -> None:
    paths_only = await v2_headers(client, ACME_PATHS_READ)
    r = await client.get(GROUPS, params={"nope[eq]": "x"}, headers=paths_only)
    assert_nested(r, 403, "invalid_scope")


@pytest.mark.backend_independent
async def test_an_unknown_v2_route_answers_as_v1_does(client: httpx.AsyncClient) -> None:
    v2 = await client.get("/api/v2/no-such-thing", headers=VERSION_HEADER)
    v1 = await client.get("/api/v1/no-such-thing")
    assert v2.status_code == v1.status_code == 404
    assert v2.content == v1.content
    wrong_method = await client.put(GROUPS, headers=VERSION_HEADER)
    assert (wrong_method.status_code, wrong_method.content) == (404, v1.content)


@pytest.mark.backend_independent
async def test_a_body_too_large_is_payload_too_large_before_anything_else(
    client: httpx.AsyncClient, app: App
) -> None:
    r = await client.request("GET", GROUPS, content=b"x" * (app.settings.max_body_bytes + 1))
    assert_nested(r, 413, "payloadTooLarge")


@pytest.fixture
async def limited(settings: Settings, world: World) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(replace(settings, rate_limits=True, read_rate_limit=2))
    await app.startup()
    assert isinstance(app.limiter, SharedTable)
    app.limiter.clock = lambda: 1000.0  # time stands still: the bucket never refills
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c
    finally:
        await app.shutdown()


async def test_over_the_rate_is_a_bare_too_many_requests_after_the_scope(
    limited: httpx.AsyncClient, world: World
) -> None:
    headers = await v2_headers(limited)
    paths_only = await v2_headers(limited, ACME_PATHS_READ)
    answers = [await limited.get(GROUPS, headers=headers) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[2].content == b'{"error":"tooManyRequests"}'
    assert int(answers[2].headers["retry-after"]) >= 1
    # Refused before counting: a missing scope or version header is answered as such.
    assert_nested(await limited.get(GROUPS, headers=paths_only), 403, "invalid_scope")
    no_version = {"Authorization": headers["Authorization"]}
    assert_nested(await limited.get(GROUPS, headers=no_version), 400, "invalidApiVersion")
    # And it comes before request validation.
    r = await limited.get(GROUPS, params={"nope[eq]": "1"}, headers=headers)
    assert r.status_code == 429
    # Another company has its own bucket.
    assert (await limited.get(GROUPS, headers=await v2_headers(limited, OTHER_FULL))).is_success


# --- Faults -----------------------------------------------------------------------------------


async def test_an_unexpected_fault_is_internal_error_with_its_id(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(directory, "get_group", broken)
    r = await client.get(f"{GROUPS}/{world.root_group}", headers=await v2_headers(client))
    message = assert_nested(r, 500, "internalError")
    assert message.endswith(r.headers["x-request-id"])
    assert "boom" not in r.text


async def test_a_code_v2_never_answers_is_a_fault(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def v1_only(*args: object) -> None:
        raise DomainError(ErrorCode.INVALID_SESSION_NAME)

    monkeypatch.setattr(directory, "get_group", v1_only)
    r = await client.get(f"{GROUPS}/{world.root_group}", headers=await v2_headers(client))
    assert_nested(r, 500, "internalError")


@pytest.mark.parametrize(
    ("code", "wire"),
    [
        (ErrorCode.SERVICE_UNAVAILABLE, "serviceUnavailable"),
        (ErrorCode.DATABASE_UNAVAILABLE, "databaseUnavailable"),
    ],
)
async def test_an_outage_is_503_with_retry_after(
    client: httpx.AsyncClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    code: ErrorCode,
    wire: str,
) -> None:
    async def out(*args: object) -> None:
        raise DomainError(code)

    monkeypatch.setattr(directory, "groups_page", out)
    r = await client.get(GROUPS, headers=await v2_headers(client))
    assert_nested(r, 503, wire)
    assert r.headers["retry-after"] == "5"


# --- Page tokens ------------------------------------------------------------------------------


async def first_link(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    r = await client.get(GROUPS, headers=headers)
    m = LINK.fullmatch(r.headers["link"])
    assert m is not None
    return m["url"].removeprefix("http://testserver")


async def test_an_altered_page_token_is_bad_request(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await add_groups(db, world.company, 600)
    headers = await v2_headers(client)
    url = await first_link(client, headers)
    token = url.partition("next=")[2]
    payload, _, mac = token.partition(".")
    forged = msgspec.json.decode(_unb64(payload))
    forged[3] = "7a" + "0" * 22  # restart from another id, keeping the signature
    altered = [
        payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + mac,
        payload + "." + mac[:-2] + ("AA" if mac[-2:] != "AA" else "BB"),
        _b64(msgspec.json.encode(forged)) + "." + mac,
        payload,
        payload + "!." + mac,
        "",
        "not a token",
        "é.é",
    ]
    for value in altered:
        r = await client.get(GROUPS, params={"next": value}, headers=headers)
        message = assert_nested(r, 400, "badRequest")
        assert message.startswith("next: "), message
    assert (await client.get(url, headers=headers)).status_code == 200


async def test_a_page_token_of_another_company_is_bad_request(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await add_groups(db, world.company, 600)
    url = await first_link(client, await v2_headers(client))
    r = await client.get(url, headers=await v2_headers(client, OTHER_FULL))
    assert_nested(r, 400, "badRequest")


async def test_with_a_page_token_other_parameters_are_ignored(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await add_groups(db, world.company, 600)
    headers = await v2_headers(client)
    url = await first_link(client, headers)
    r = await client.get(url + "&nope[eq]=1&junk", headers=headers)
    assert r.status_code == 200, r.text
    assert len(r.json()) == 102
    assert "link" not in r.headers


def request(query: bytes) -> Request:
    return Request("GET", "/api/v2/things", query, {b"host": b"h"}, b"", {})


def context() -> Context:
    return Context(None, None, b"secret", None, ())  # type: ignore[arg-type]


ACME_CLIENT = Client(Company("5f1b2c3d4e5f60718293a4b5", "Acme", None), "c", frozenset())
THINGS = Listing("things", 2, {"createdAt": filters.DATE, "pathId": filters.ID})
OTHERS = Listing("others", 2, THINGS.filters)


def test_a_page_token_carries_the_filters_and_is_bound_to_its_list() -> None:
    query = b"createdAt[gte]=2024-01-01&pathId[in]=" + b"a" * 24 + b"&pathId[in]=" + b"B" * 24
    asked = THINGS.read(request(query), context(), ACME_CLIENT)
    expected = (
        Condition("createdAt", "gte", 1704067200000),
        Condition("pathId", "in", ("a" * 24, "b" * 24)),
    )
    assert asked.query == ListQuery(expected, None, 2)
    response = asked.answer(Page(["x", "y"], "c" * 24), lambda s: s)
    link = dict(response.headers or [])[b"link"].decode()
    m = LINK.fullmatch(link)
    assert m is not None
    assert m["url"].startswith("http://h/api/v2/things?next=")
    following = request(m["url"].partition("?")[2].encode() + b"&pathId[eq]=" + b"d" * 24)
    assert THINGS.read(following, context(), ACME_CLIENT).query == ListQuery(expected, "c" * 24, 2)
    with pytest.raises(BadRequest, match=r"^next: "):
        OTHERS.read(following, context(), ACME_CLIENT)
    last = THINGS.read(following, context(), ACME_CLIENT).answer(Page(["z"], None), lambda s: s)
    assert not last.headers


# --- Filters ----------------------------------------------------------------------------------

FIELDS: filters.Filters = {
    "createdAt": filters.DATE,
    "pathId": filters.ID,
    "mail": filters.MAIL,
    "username": filters.TEXT,
    "status": filters.choice("published", "archived"),
}


def parse(query: str) -> tuple[Condition, ...]:
    return filters.parse(filters.pairs(query.encode()), FIELDS)


def test_filters_of_every_kind() -> None:
    a, b = "a" * 24, "B" * 24
    assert parse(
        f"createdAt[lt]=2024-02-01T10:00:00.000Z&createdAt[gte]=2024-01-01"
        f"&pathId[ne]={b}&pathId[nin][0]={a}&pathId[nin][1]={b}"
        "&mail[in]=Ann@X.test&mail[in]=%20bob@x.test&username[eq]=Ann&status[eq]=archived"
    ) == (
        Condition("createdAt", "lt", 1706781600000),
        Condition("createdAt", "gte", 1704067200000),
        Condition("pathId", "ne", b.lower()),
        Condition("username", "eq", "Ann"),
        Condition("status", "eq", "archived"),
        Condition("pathId", "nin", (a, b.lower())),
        Condition("mail", "in", ("ann@x.test", "bob@x.test")),
    )
    assert parse("") == ()


def test_date_filters_take_offsets_and_bare_dates() -> None:
    assert parse("createdAt[gte]=2024-01-01T01:00:00%2B01:00") == (
        Condition("createdAt", "gte", 1704067200000),
    )
    assert dates.parse_filter("2024-02-29") == 1709164800000
    assert dates.parse_filter("2023-02-29") is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("name[eq]=x", "name[eq]: is not a filter of this list"),
        ("createdAt=2024-01-01", "createdAt: is not a filter"),
        ("createdAt[eq]=2024-01-01", "createdAt[eq]: createdAt takes the operators lt, gte"),
        ("createdAt[gte]=yesterday", "createdAt[gte]: must be a date-time"),
        ("createdAt[gte]=2024-13-01", "createdAt[gte]: must be a date-time"),
        ("createdAt[gte]=", "createdAt[gte]: must be a date-time"),
        (
            "createdAt[gte]=2024-01-01&createdAt[gte]=2024-01-02",
            "createdAt[gte]: is given more than once",
        ),
        ("createdAt[gte][0]=2024-01-01", "createdAt[gte][0]: gte takes one value"),
        ("pathId[eq]=xyz", "pathId[eq]: must be an id of 24 hexadecimal digits"),
        ("pathId[in]=" + "a" * 23, "pathId[in]: must be an id"),
        ("pathId[lt]=" + "a" * 24, "pathId[lt]: pathId takes the operators eq, ne, in, nin"),
        ("status[eq]=deleted", "status[eq]: must be one of published, archived"),
        ("status[in]=published", "status[in]: status takes the operators eq, ne"),
        ("mail[eq]=", "mail[eq]: must be a non-empty string"),
        ("mail[eq]=a%00b", "mail[eq]: must be a non-empty string"),
        ("pathId[[eq]]=x", "pathId[[eq]]: is not a filter"),
    ],
)
def test_a_malformed_filter_is_bad_request_naming_it(query: str, message: str) -> None:
    with pytest.raises(BadRequest) as raised:
        parse(query)
    assert raised.value.message.startswith(message), raised.value.message


def test_a_list_filter_takes_at_most_1000_values() -> None:
    ids = "&".join(f"pathId[in]={i:024x}" for i in range(1001))
    with pytest.raises(BadRequest, match=r"^pathId\[in\]: takes at most 1000 values"):
        parse(ids)


async def test_a_filter_on_a_list_without_it_is_bad_request_through_the_app(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.get(GROUPS + "?name[eq]=Acme", headers=await v2_headers(client))
    message = assert_nested(r, 400, "badRequest")
    assert message.startswith("name[eq]: ")


async def test_conditions_become_sql_on_both_engines(world: World, db: Database) -> None:
    """storage/listing.py on the groups table, with a column map made for the test."""
    ids = await add_groups(db, world.company, 6)
    await db.execute("UPDATE company_groups SET created_at = 5000 WHERE id = ?", ids[0])
    await db.execute("UPDATE company_groups SET parent_id = ? WHERE id = ?", ids[0], ids[1])
    columns = {"groupId": "id", "createdAt": "created_at", "parentId": "parent_id"}
    select = "SELECT id FROM company_groups WHERE company_id = ?"

    async def run(*conditions: Condition, after: str | None = None, limit: int = 10) -> Page[str]:
        query = ListQuery(conditions, after, limit)
        return await fetch_page(db, select, [world.company], query, columns, lambda r: r[0])

    added = Condition("createdAt", "lt", 1)
    assert (await run(added)).items == ids[1:]
    window = (Condition("createdAt", "gte", 5000), Condition("createdAt", "lt", 5001))
    assert (await run(*window)).items == [ids[0]]
    assert (await run(added, Condition("groupId", "in", (ids[2], ids[4], ids[0])))).items == [
        ids[2],
        ids[4],
    ]
    assert (await run(added, Condition("groupId", "nin", tuple(ids[1:4])))).items == ids[4:]
    assert (await run(added, Condition("groupId", "eq", ids[3]))).items == [ids[3]]
    # `ne` and `nin` keep the rows where the column is unset.
    assert (await run(added, Condition("parentId", "ne", ids[0]))).items == ids[2:]
    assert (await run(added, Condition("parentId", "nin", (ids[0],)))).items == ids[2:]
    first = await run(added, limit=2)
    assert (first.items, first.next_after) == (ids[1:3], ids[2])
    last = await run(added, after=ids[4], limit=1)
    assert (last.items, last.next_after) == ([ids[5]], None)


# --- Bodies -----------------------------------------------------------------------------------


class Reenrollment(msgspec.Struct):
    type: str
    delayDays: int = msgspec.field(default=0)


class Body(msgspec.Struct):
    name: str
    startDate: bodies.DateTime
    endDate: bodies.DateTime | msgspec.UnsetType | None = msgspec.UNSET
    automaticReenrollment: Reenrollment | None = None
    instructorIds: list[str] = msgspec.field(default_factory=list)


def body_request(content: bytes, media: str | None = "application/json") -> Request:
    headers = {} if media is None else {b"content-type": media.encode()}
    return Request("POST", "/", b"", headers, content, {})


def test_a_body_decodes_with_dates_normalised_and_unknown_fields_ignored() -> None:
    decoded = bodies.decode(
        body_request(b'{"name":"n","startDate":"2024-01-01T01:00:00+01:00","extra":1}'), Body
    )
    assert decoded.startDate == 1704067200000
    assert decoded.endDate is msgspec.UNSET
    cleared = bodies.decode(
        body_request(b'{"name":"n","startDate":"2024-01-01T00:00:00.000Z","endDate":null}', None),
        Body,
    )
    assert cleared.endDate is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"name":"n","startDate":"2024-01-01"}', "startDate: must be a date-time"),
        (b'{"name":"n","startDate":"2024-01-01T00:00:00Z","endDate":5}', "endDate: must be a"),
        (b'{"startDate":"2024-01-01T00:00:00Z"}', "name: is required"),
        (b'{"name":1,"startDate":"2024-01-01T00:00:00Z"}', "name: must be a string"),
        (
            b'{"name":"n","startDate":"2024-01-01T00:00:00Z","automaticReenrollment":{}}',
            "automaticReenrollment.type: is required",
        ),
        (
            b'{"name":"n","startDate":"2024-01-01T00:00:00Z",'
            b'"automaticReenrollment":{"type":"x","delayDays":"1"}}',
            "automaticReenrollment.delayDays: must be an integer",
        ),
        (
            b'{"name":"n","startDate":"2024-01-01T00:00:00Z","instructorIds":[1]}',
            "instructorIds[0]: must be a string",
        ),
        (b"[]", "body: must be an object"),
        (b"", "body: must be a JSON object"),
        (b"{", "body: must be a JSON object"),
    ],
)
def test_a_bad_body_names_the_first_offending_field(content: bytes, message: str) -> None:
    with pytest.raises(BadRequest) as raised:
        bodies.decode(body_request(content), Body)
    assert raised.value.message.startswith(message), raised.value.message


def test_a_form_body_is_bad_request() -> None:
    form = body_request(b"name=n", "application/x-www-form-urlencoded")
    with pytest.raises(BadRequest, match=r"^body: must be JSON"):
        bodies.decode(form, Body)


def test_dates_go_out_in_utc_with_milliseconds() -> None:
    assert dates.to_wire(1704067200000) == "2024-01-01T00:00:00.000Z"
    assert dates.to_wire(dates.parse("2024-01-01T01:00:00.1234+01:00") or 0) == (
        "2024-01-01T00:00:00.123Z"
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- The documentation --------------------------------------------------------------------------

DOC = Path(__file__).resolve().parent.parent / "docs" / "api-v2.md"


def test_the_doc_names_every_v2_route_and_error_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    for route in V2_ROUTES:
        assert f"`{route.method} {route.path}`" in text, route.operation_id
        assert f"`{route.operation_id}`" in text, route.operation_id
    rows = re.findall(r"^\| (\w+|—) \| (\d{3}) \| `(\w+)`", text, re.MULTILINE)
    documented = {(name, int(status), code) for name, status, code in rows}
    for core, (status, code, _) in ERRORS.items():
        assert (core.name, status, code) in documented, core.name
    assert ("—", 400, "badRequest") in documented
    assert ("—", 500, "internalError") in documented
    assert len(rows) == len(ERRORS) + 2


# --- Every v2 operation -------------------------------------------------------------------------

CREDENTIALS = (ACME_FULL, ACME_PATHS_READ, ACME_DIRECTORY_READ)


def concrete(path: str) -> str:
    return re.sub(r"\{\w+\}", UNKNOWN_ID, path)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.route.operation_id)
async def test_every_v2_operation_checks_token_version_and_scope_in_order(
    client: httpx.AsyncClient, world: World, op: Operation
) -> None:
    route = op.route
    url = concrete(route.path)
    r = await client.request(route.method, url, headers=VERSION_HEADER)
    assert (r.status_code, r.content) == (401, INVALID_TOKEN)
    lacking = next((c for c in CREDENTIALS if op.scope not in c.scopes), None)
    assert lacking is not None, f"the world has no credential without {op.scope}"
    headers = await v2_headers(client, lacking)
    no_version = {"Authorization": headers["Authorization"]}
    assert_nested(
        await client.request(route.method, url, headers=no_version), 400, "invalidApiVersion"
    )
    assert_nested(await client.request(route.method, url, headers=headers), 403, "invalid_scope")


async def test_the_description_gives_v2_operations_their_header_scope_and_nested_errors(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    for op in OPERATIONS:
        route = op.route
        described = document["paths"][route.path][route.method.lower()]
        assert described["operationId"] == route.operation_id
        assert described["parameters"][0]["name"] == "360-api-version"
        assert described["security"] == [{"oauth2": [op.scope]}]
        responses = described["responses"]
        examples = responses["401"]["content"]["application/json"]["examples"]
        assert examples["invalid_token"]["value"] == {"error": "invalid_token"}
        scope = responses["403"]["content"]["application/json"]["examples"]["invalid_scope"]
        assert set(scope["value"]["error"]) == {"code", "message"}
        assert "invalidApiVersion" in responses["400"]["content"]["application/json"]["examples"]
        assert "payloadTooLarge" in responses["413"]["content"]["application/json"]["examples"]
        assert "Retry-After" in responses["429"]["headers"]
    for name in document["components"]["schemas"]:
        assert not name.startswith("v2.") or name[3:] in {"Error", *V2_SCHEMAS}, name
