"""Hostile input through the real app: never a 5xx, only documented answers, and a refused
request changes nothing.

The property-based tests throw arbitrary JSON values, whole bodies, forms, raw bytes and path
segments at every endpoint that reads them, and hold each answer to what the OpenAPI document
(`openapi.OPERATIONS`, built from the error table) lists for that operation. The plain tests
after them reach what generation rarely does: depth, exact size boundaries, broken encodings,
NUL, injection strings, huge headers and query strings, repeated parameters and headers.
Cases test_body.py and test_conventions.py already cover are not repeated here.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pathsessions.storage.migrations
from pathsessions.api.answers import not_found_body
from pathsessions.api.v1.errors import STATUS
from pathsessions.api.v1.openapi import OPERATIONS
from pathsessions.api.v1.routes import ROUTES
from pathsessions.app import App
from pathsessions.core.values import normalize_email
from pathsessions.storage import Database
from pathsessions.web.body import MAX_FORM_FIELDS
from pathsessions.web.pipeline import PUBLIC_MAX_BODY_BYTES
from pathsessions.web.routing import Route
from support import ACME, ACME_KEY, JSON_TYPE, OTHER, WORLD, World, created_id, error, valid_body
from support.catalogue import CATALOGUE, REQUESTS

MIB = 1024 * 1024
FORM = "application/x-www-form-urlencoded"

# Enough to find the shapes that break a decoder or a rule within a few seconds per backend;
# a failure is saved in .hypothesis/ and replayed first on the next run.
FIELD_EXAMPLES = 20
BODY_EXAMPLES = 60
PATH_EXAMPLES = 200


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,  # PostgreSQL round trips vary too much for a per-example deadline
        # The app, database and world are made once per test and shared by its examples:
        # each example compares the tables with what the example before it left.
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# --- What the database holds -------------------------------------------------------------------

_MIGRATIONS = Path(pathsessions.storage.migrations.__file__).parent
_SQL = "".join(sql.read_text() for sql in sorted(_MIGRATIONS.glob("*.sql")))
# Tables created, less those a later migration renamed away (rebuilt under the old name).
TABLES = sorted(
    set(re.findall(r"CREATE TABLE (\w+)", _SQL))
    - set(re.findall(r"ALTER TABLE (\w+) RENAME", _SQL))
)

Snapshot = dict[str, list[str]]


async def snapshot(db: Database) -> Snapshot:
    """Every row of every table, not just counts: a refused update must not change a field."""
    return {
        table: sorted(repr(tuple(row)) for row in await db.fetchall(f"SELECT * FROM {table}"))
        for table in TABLES
    }


def test_every_table_is_watched() -> None:
    written_by_the_api = {"path_sessions", "session_instructors", "session_users", "session_groups"}
    assert written_by_the_api | {"companies", "api_keys", "users", "server_secrets"} <= set(TABLES)


# --- What each operation may answer ----------------------------------------------------------

ROUTE_BY_OPERATION = {route.operation_id: route for route in ROUTES}


def documented_codes(operation: str) -> set[str]:
    codes = {"payload_too_large", *OPERATIONS[operation]["errors"]}
    if ROUTE_BY_OPERATION[operation].authenticated:
        codes.add("tooManyRequests")
    return codes


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes

    @classmethod
    def of(cls, r: httpx.Response) -> Answer:
        return cls(r.status_code, r.headers.get("content-type", ""), r.content)


# Routes whose parameter names a file the server has (an API's document, an asset of /docs):
# any other name is answered as an unknown route is.
NAMED_FILES = {"openapiPart", "docsAsset"}


def assert_documented(answer: Answer, operation: str | None, docs_url: str) -> bool:
    """The answer is one the docs give for `operation` (None: no route matched); answers
    whether it was a success."""
    assert answer.status < 500, (answer.status, answer.body)
    if operation in NAMED_FILES and answer.status != 404:
        assert answer.status == 200, answer
        return True  # a file of /docs (test_docs_page.py checks them)
    assert answer.content_type == JSON_TYPE, answer
    if operation is None or operation in NAMED_FILES:
        assert (answer.status, answer.body) == (404, not_found_body(docs_url))
        return False
    if 200 <= answer.status < 300:
        assert answer.status == OPERATIONS[operation]["success"]["status"], answer
        value = msgspec.json.decode(answer.body)
        if isinstance(value, dict):
            assert "error" not in value
            assert "message" not in value
        return True
    value = msgspec.json.decode(answer.body)
    assert isinstance(value, dict), answer
    assert list(value) == ["error"], answer
    code = value["error"]
    assert code in documented_codes(operation), (operation, answer)
    assert answer.status == STATUS[code], answer
    assert answer.body == error(code)
    return False


class Tables:
    """The database as the last answer left it: a refusal must leave it as it was."""

    def __init__(self, db: Database, state: Snapshot, docs_url: str) -> None:
        self.db = db
        self.state = state
        self.docs_url = docs_url

    async def check(self, answer: Answer, operation: str | None) -> bool:
        """The answer is documented; a refusal changed no row, a success is the new state.
        Answers whether it was a success."""
        before, self.state = self.state, await snapshot(self.db)
        success = assert_documented(answer, operation, self.docs_url)
        if not success:
            assert self.state == before, (operation, answer)
        return success

    async def succeeded(self, answer: Answer, operation: str, context: object = None) -> None:
        assert 200 <= answer.status < 300, (context, answer)
        await self.check(answer, operation)

    async def refused(self, answer: Answer, code: str, context: object = None) -> None:
        """Exactly `{"error": code}` with its status, and no row changed."""
        expected = (STATUS[code], JSON_TYPE, error(code))
        assert (answer.status, answer.content_type, answer.body) == expected, context
        assert await snapshot(self.db) == self.state, (context, answer)


@pytest.fixture
async def tables(app: App, db: Database, session: str) -> Tables:
    return Tables(db, await snapshot(db), app.settings.docs_url)


# --- Endpoints with a body -------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One operation with a valid body; `{session}` in the URL is the test's session."""

    operation: str
    method: str
    url: str
    body: dict[str, Any]
    fields: tuple[str, ...]


# The requests of the catalogue that have a body, the create first.
ENDPOINTS = [
    Endpoint(r.operation, r.method, r.url(sessionId="{session}"), r.json, r.fields)
    for r in REQUESTS
    if r.body is not None
]
TOKEN_OPERATION = "v2.authentication.GenerateTokenController_generateToken"
TOKEN_URL = CATALOGUE[TOKEN_OPERATION].url()
TOKEN_BODY = CATALOGUE[TOKEN_OPERATION].json
# One endpoint per operation, for the tests that replace the whole body.
_FIRST: dict[str, Endpoint] = {}
for _endpoint in ENDPOINTS:
    _FIRST.setdefault(_endpoint.operation, _endpoint)
OPERATION_ENDPOINTS = list(_FIRST.values())
BODY_OF = {operation: e.body for operation, e in _FIRST.items()}
FIELD_CASES = [(e, field) for e in ENDPOINTS for field in e.fields]
FIELD_IDS = [f"{e.operation}-{field}" for e, field in FIELD_CASES]
ALL_FIELDS = sorted({field for e in ENDPOINTS for field in e.fields})


def endpoint_id(e: Endpoint) -> str:
    return e.operation


@pytest.fixture
async def session(client: httpx.AsyncClient, world: World) -> str:
    """A session of ACME, for the routes that need one."""
    r = await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    return created_id(r)


async def send(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    session: str,
    raw: bytes,
    content_type: str | None = "application/json",
) -> Answer:
    headers = dict(WORLD.headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    url = endpoint.url.replace("{session}", session)
    return Answer.of(await client.request(endpoint.method, url, content=raw, headers=headers))


# --- Strategies ------------------------------------------------------------------------------

INJECTIONS = [
    "' OR 1=1 --",
    "' OR '1'='1",
    '"; DROP TABLE path_sessions; --',
    "'; DROP TABLE users; --",
    "1' UNION SELECT key_hash FROM api_keys --",
    "$(rm -rf /)",
    "`rm -rf /`",
    "; rm -rf / #",
    "| cat /etc/passwd",
    "%00",
    "%",
    "_",
    "*",
    "\\",
    "../../../etc/passwd",
]
HOSTILE_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\t\n\r\x0b\x0c",
    "\u202e\u200b\ufeff",
    "\u0085\u2028\u2029",
    "\u0663\u0663",  # Arabic-Indic digits: \d matches them, [0-9] does not
    "\U0001d7d8\U0001d7d9",  # mathematical digits, which int() accepts
    "\u212a",  # the Kelvin sign lower-cases to an ASCII k
    "null",
    "NaN",
    "[]",
    "{}",
    "x" * 1_001,
    "x" * 10_001,
    "2030-01-01T09:00:00.000Z",
    "2030-01-01T09:00:00.000Z\x00",
    "2030-01-01T09:00:00+24:00",
    "9999-12-31T23:59:59.999-23:59",
    "0001-01-01T00:00:00Z",
    WORLD.root_group,
    WORLD.root_group.upper(),
    WORLD.other_group,
    WORLD.instructor,
    WORLD.instructor_mail,
    f" {WORLD.instructor_mail.upper()} ",
    WORLD.deleted_mail,
    WORLD.other_user_mail,
    "client_credentials",
    ACME,
    ACME_KEY,
    *INJECTIONS,
]


def encode_json(value: Any, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only, allow_nan=True).encode()


texts = st.one_of(st.text(max_size=40), st.sampled_from(HOSTILE_STRINGS))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**60), max_value=10**60),
    # Past int64 and uint64, and near the 4,300 digits Python converts to or from a string.
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**4_000, -(10**4_000)]),
    st.floats(),  # NaN and infinities included: sent as the non-JSON tokens NaN, Infinity
    texts,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
)
# Half plain scalars: a wrong type at the top of a field is the commonest mistake a client makes.
field_values = st.one_of(scalars, json_values)
json_bodies = st.builds(
    lambda body, ascii_only: encode_json(body, ascii_only),
    st.one_of(
        json_values,
        st.dictionaries(st.one_of(st.sampled_from(ALL_FIELDS), texts), json_values, max_size=8),
    ),
    st.booleans(),
)


_form_keys = st.one_of(st.sampled_from(ALL_FIELDS), st.text(max_size=10))
_form_suffixes = st.one_of(
    st.sampled_from(
        ["", "", "[]", "[0]", "[1]", "[k]", "[a][b]", "[0][mail]", "]", "[", "[]]", "[²]", "[-1]"]
    ),
    st.sampled_from(["[99999999999999999999]", "[" + "9" * 5_000 + "]"]),
    st.text(max_size=5).map(lambda t: f"[{t}]"),
)
_form_pairs = st.builds(
    lambda key, suffix, value, raw_brackets: (
        quote_plus(key + suffix, safe="[]" if raw_brackets else "") + "=" + quote_plus(value)
    ).encode(),
    _form_keys,
    _form_suffixes,
    texts,
    st.booleans(),
)
_form_garbage = st.one_of(
    st.sampled_from([b"", b"=", b"==", b"a", b"%", b"%zz", b"%FF", b"%C3", b"%ED%A0%80", b"+"]),
    st.binary(max_size=8),
)
forms = st.lists(st.one_of(_form_pairs, _form_pairs, _form_garbage), max_size=10).map(b"&".join)

CONTENT_TYPES = [
    None,
    "application/json",
    "application/json; charset=utf-16",
    FORM,
    f"{FORM}; charset=iso-8859-1",
    "text/plain",
    "multipart/form-data; boundary=xyz",
    "application/octet-stream",
    "application/xml",
    "",
    ";;;=,,",
]
ENCODINGS = ["utf-16", "utf-16-le", "utf-32", "utf-8-sig", "latin-1", "cp1252", "utf-7"]


def raw_bodies(base: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """Bytes of every kind, and the valid body re-encoded or with bytes spliced in."""
    text = json.dumps({**base, "note": "Été ☃ 𝄞"}, ensure_ascii=False)
    valid = text.encode()
    return st.one_of(
        st.binary(max_size=300),
        st.sampled_from(ENCODINGS).map(lambda enc: text.encode(enc, errors="replace")),
        st.builds(
            lambda at, cut, inserted: valid[:at] + inserted + valid[at + cut :],
            st.integers(0, len(valid)),
            st.integers(0, 3),
            st.binary(max_size=4),
        ),
    )


# --- Property-based: bodies --------------------------------------------------------------------


@fuzz(FIELD_EXAMPLES)
@pytest.mark.parametrize(
    ("endpoint", "field"),
    FIELD_CASES,
    ids=FIELD_IDS,
)
@given(value=field_values, ascii_only=st.booleans())
async def test_one_hostile_field_in_a_valid_body(
    client: httpx.AsyncClient,
    tables: Tables,
    session: str,
    endpoint: Endpoint,
    field: str,
    value: Any,
    ascii_only: bool,
) -> None:
    raw = encode_json({**endpoint.body, field: value}, ascii_only)
    await tables.check(await send(client, endpoint, session, raw), endpoint.operation)


@fuzz(BODY_EXAMPLES)
@pytest.mark.parametrize("endpoint", OPERATION_ENDPOINTS, ids=endpoint_id)
@given(data=st.data(), content_type=st.sampled_from(CONTENT_TYPES))
async def test_hostile_body(
    client: httpx.AsyncClient,
    tables: Tables,
    session: str,
    endpoint: Endpoint,
    data: st.DataObject,
    content_type: str | None,
) -> None:
    """Whole JSON bodies, forms and raw bytes, under any content type: the bytes decide."""
    raw = data.draw(st.one_of(json_bodies, forms, raw_bodies(endpoint.body)), label="raw")
    answer = await send(client, endpoint, session, raw, content_type)
    await tables.check(answer, endpoint.operation)


# --- Property-based: path parameters -----------------------------------------------------------


async def call(
    app: App,
    method: str,
    raw_path: bytes,
    *,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
) -> Answer:
    """One request straight into the ASGI app, with the exact path, query and header bytes
    (httpx would resolve `..`, re-encode the path and refuse some header bytes)."""
    if headers is None:
        headers = [(b"x-company-id", ACME.encode()), (b"x-apikey", ACME_KEY.encode())]
    messages: list[dict[str, Any]] = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        # The client stays connected until the answer is out.
        connected: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        return await connected

    sent: list[Any] = []

    async def send_message(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        # What uvicorn derives from the request target: the decoded path beside the raw one.
        "path": unquote(raw_path.decode("latin-1")),
        "raw_path": raw_path,
        "query_string": query,
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send_message)
    start = sent[0]
    content_type = dict(start["headers"]).get(b"content-type", b"").decode()
    return Answer(start["status"], content_type, b"".join(m.get("body", b"") for m in sent[1:]))


PARAM_ROUTES = [route for route in ROUTES if "{" in route.path]

# Raw request-target text: what a client can put on the request line as it is.
_PATH_PIECES = [
    "/",
    "//",
    ".",
    "..",
    "../..",
    "%",
    "%2F",
    "%2f",
    "%2e%2e",
    "%00",
    "%zz",
    "%FF",
    "%C3",
    "%C3%A9",
    "%ED%A0%80",
    "%25",
    "%2500",
    ";",
    "\\",
    "~",
    "users",
    "groups",
    "sessions",
    "{session}",
    WORLD.path,
    WORLD.root_group.upper(),
    WORLD.instructor,
    quote(WORLD.instructor_mail),
    WORLD.instructor_mail,
    *(quote(s, safe="") for s in INJECTIONS),
]
path_segments = st.lists(
    st.one_of(
        st.sampled_from(_PATH_PIECES),
        st.text(max_size=20).map(lambda t: quote(t, safe="")),  # any Unicode, NUL included
        st.text(
            st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="?#"),
            max_size=12,
        ),
    ),
    max_size=5,
).map("".join)


@fuzz(PATH_EXAMPLES)
@given(route=st.sampled_from(PARAM_ROUTES), segment=path_segments, slash=st.booleans())
async def test_hostile_path_parameter(
    app: App, tables: Tables, session: str, route: Route[Any, Any], segment: str, slash: bool
) -> None:
    raw_path = re.sub(r"\{\w+\}", lambda _: segment.replace("{session}", session), route.path)
    raw_path += "/" if slash else ""
    body = BODY_OF.get(route.operation_id)
    answer = await call(
        app,
        route.method,
        raw_path.encode(),
        body=b"" if body is None else msgspec.json.encode(body),
    )
    # A `/` in the segment may lead to another route, or to none: judged by where it went.
    matched = app.pipeline.router.match(route.method, raw_path)
    operation = None if matched is None else matched[0].operation_id
    await tables.check(answer, operation)


# --- Depth ----------------------------------------------------------------------------------

DEEP = 100_000


def unreadable(operation: str) -> str:
    return "invalid_request" if operation == TOKEN_OPERATION else "invalid_body"


def with_raw_field(endpoint: Endpoint, field: str, raw_value: bytes) -> bytes:
    """The endpoint's valid JSON body with `field` holding `raw_value` as it is."""
    return encode_json({**endpoint.body, field: "@"}, True).replace(b'"@"', raw_value)


async def test_nesting_deeper_than_the_stack_is_an_unreadable_body(
    client: httpx.AsyncClient, tables: Tables, session: str
) -> None:
    arrays = b"[" * DEEP + b"]" * DEEP
    for endpoint in ENDPOINTS:
        field = endpoint.fields[0]
        for shape, raw in {
            "arrays": arrays,
            "objects": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
            "in-a-field": with_raw_field(endpoint, field, arrays),
            "form-brackets": field.encode() + arrays + b"=x",
        }.items():
            assert len(raw) <= MIB
            answer = await send(client, endpoint, session, raw)
            # Past the 8 KiB a route open to anyone reads (decision 73), not decoded at all.
            code = "payload_too_large" if endpoint.operation == TOKEN_OPERATION else None
            await tables.refused(answer, code or unreadable(endpoint.operation), (field, shape))


async def test_nesting_within_the_stack_is_a_field_error(
    client: httpx.AsyncClient, tables: Tables, session: str
) -> None:
    # Deep enough to matter, shallow enough to decode however deep the test's own stack is.
    for endpoint, field in FIELD_CASES:
        for value in (b"[" * 200 + b"]" * 200, b'{"a":' * 200 + b"1" + b"}" * 200):
            answer = await send(client, endpoint, session, with_raw_field(endpoint, field, value))
            assert answer.status == 400, (field, answer)
            await tables.check(answer, endpoint.operation)


# --- Size ---------------------------------------------------------------------------------------


def padded(endpoint: Endpoint, size: int) -> bytes:
    """The endpoint's valid body, exactly `size` bytes long, padded in an unknown field."""
    base = msgspec.json.encode({**endpoint.body, "padding": ""})
    raw = base[:-2] + b"x" * (size - len(base)) + base[-2:]
    assert len(raw) == size
    return raw


async def in_chunks(raw: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(raw), size):
        yield raw[start : start + size]


async def test_one_mib_is_read_and_one_byte_more_is_refused(
    client: httpx.AsyncClient, tables: Tables, session: str
) -> None:
    # test_conventions.py covers the create route; these are the other routes with a body.
    for endpoint in OPERATION_ENDPOINTS[1:]:
        url = endpoint.url.replace("{session}", session)
        # The token route, open to anyone, reads 8 KiB (decision 73).
        limit = PUBLIC_MAX_BODY_BYTES if endpoint.operation == TOKEN_OPERATION else MIB
        for streamed in (False, True):
            for size in (limit + 1, limit):
                raw = padded(endpoint, size)
                content = in_chunks(raw) if streamed else raw
                r = await client.request(
                    endpoint.method, url, content=content, headers=WORLD.headers
                )
                assert ("content-length" in r.request.headers) is not streamed
                context = (endpoint.operation, size, streamed)
                if size > limit:
                    await tables.refused(Answer.of(r), "payload_too_large", context)
                else:
                    await tables.succeeded(Answer.of(r), endpoint.operation, context)


async def test_a_form_of_exactly_one_mib_is_read(
    client: httpx.AsyncClient, tables: Tables, world: World
) -> None:
    fields = (
        f"sessionName=Big&startDate=2030-01-01T09%3A00%3A00Z&sessionOwnerGroup={world.root_group}"
    )
    raw = fields.encode() + b"&padding=" + b"x" * (MIB - len(fields) - len("&padding="))
    assert len(raw) == MIB
    headers = {**world.headers, "Content-Type": FORM}
    r = await client.post(world.sessions_url(), content=raw, headers=headers)
    await tables.succeeded(Answer.of(r), "createPathSession")
    r = await client.post(world.sessions_url(), content=raw + b"x", headers=headers)
    await tables.refused(Answer.of(r), "payload_too_large")


async def test_a_form_of_more_fields_than_any_valid_body_is_refused(
    client: httpx.AsyncClient, tables: Tables, session: str
) -> None:
    """Up to MAX_FORM_FIELDS fields a form is read; one more is 413 on every route that reads
    a body, the token route included."""
    for endpoint in OPERATION_ENDPOINTS:
        form = encode_form(endpoint.body)
        # Short fields: the form fits the 8 KiB a route open to anyone reads (decision 73).
        raw = form + b"&p=" * (MAX_FORM_FIELDS - 1 - form.count(b"&"))
        assert len(raw.split(b"&")) == MAX_FORM_FIELDS
        answer = await send(client, endpoint, session, raw, FORM)
        await tables.succeeded(answer, endpoint.operation, endpoint.operation)
        answer = await send(client, endpoint, session, raw + b"&", FORM)
        await tables.refused(answer, "payload_too_large", endpoint.operation)


async def post_create(app: App, body: bytes, *extra_headers: tuple[bytes, bytes]) -> Answer:
    headers = [(b"x-company-id", ACME.encode()), (b"x-apikey", ACME_KEY.encode())]
    return await call(
        app, "POST", WORLD.sessions_url().encode(), headers=headers + list(extra_headers), body=body
    )


SMALL = padded(ENDPOINTS[0], 1_000)
TOO_BIG = padded(ENDPOINTS[0], MIB + 1)


async def test_a_declared_length_below_what_is_sent_does_not_lift_the_limit(
    app: App, tables: Tables
) -> None:
    answer = await post_create(app, TOO_BIG, (b"content-length", b"10"))
    await tables.refused(answer, "payload_too_large")


async def test_a_malformed_content_length_is_ignored_and_the_bytes_counted(
    app: App, tables: Tables
) -> None:
    for declared in (b"", b"-1", b"+12", b" 12", b"1e9", b"0x10", b"12abc", "١٢".encode(), b"\xff"):
        answer = await post_create(app, TOO_BIG, (b"content-length", declared))
        await tables.refused(answer, "payload_too_large", declared)
        answer = await post_create(app, SMALL, (b"content-length", declared))
        await tables.succeeded(answer, "createPathSession", declared)


async def test_a_declared_length_with_leading_zeros_is_its_value(app: App, tables: Tables) -> None:
    # Content-Length is 1*DIGIT (RFC 9110), so zeros may lead; uvicorn checks the value and
    # passes the header on as it was sent. Only the body's size decides a 413.
    for zeros in (1, 12, 20):
        declared = b"0" * zeros + str(len(SMALL)).encode()
        answer = await post_create(app, SMALL, (b"content-length", declared))
        await tables.succeeded(answer, "createPathSession", declared)


# --- Broken encodings ---------------------------------------------------------------------------

BAD_UTF8 = [
    b"\x80",  # a lone continuation byte
    b"\xc0\xaf",  # an overlong `/`
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xf4\x90\x80\x80",  # beyond U+10FFFF
    b"\xe2\x82",  # truncated
    b"\xe9",  # Latin-1
]


def encode_form(body: dict[str, Any]) -> bytes:
    """A form as `qs` writes one: lists as `key[]`."""
    pairs = [
        (f"{key}[]" if isinstance(value, list) else key, item)
        for key, value in body.items()
        for item in (value if isinstance(value, list) else [value])
    ]
    return "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in pairs).encode()


async def test_invalid_utf8_in_a_body_is_unreadable(
    client: httpx.AsyncClient, tables: Tables, session: str
) -> None:
    for endpoint, field in FIELD_CASES:
        code = unreadable(endpoint.operation)
        for bad in BAD_UTF8:
            json_body = with_raw_field(endpoint, field, b'"ines' + bad + b'@acme.test"')
            answer = await send(client, endpoint, session, json_body)
            await tables.refused(answer, code, (endpoint.operation, field, bad))
            # In a form: a percent-escape that does not decode as UTF-8.
            form = encode_form({**endpoint.body, field: "\x01"})
            form = form.replace(b"%01", b"ines" + quote(bad, safe="").encode())
            answer = await send(client, endpoint, session, form, FORM)
            await tables.refused(answer, code, (endpoint.operation, field, bad, form))


async def test_invalid_utf8_in_a_path_segment(app: App, tables: Tables, session: str) -> None:
    one = f"/api/v1/paths/sessions/{session}".encode()
    for bad in BAD_UTF8:
        escaped = quote(bad, safe="").encode()
        for method, raw_path, code in [
            ("GET", one + escaped, "path_session_not_found"),
            ("DELETE", one + escaped, "path_session_not_found"),
            ("PATCH", one + escaped, "path_session_not_found"),
            ("PATCH", b"/api/v1/paths/sessions/" + escaped + b"/users", "path_session_not_found"),
            ("GET", b"/api/v1/groups/" + escaped, "group_not_found"),
            ("GET", b"/api/v1/users/ines" + escaped + b"%40acme.test", "user_not_found"),
            ("GET", f"/api/v1/paths/{WORLD.path}".encode() + escaped, "path_not_found"),
            (
                "POST",
                f"/api/v1/paths/{WORLD.path}".encode() + escaped + b"/sessions",
                "path_not_found",
            ),
            # Raw bytes, which a lenient server might pass on as they came.
            ("GET", b"/api/v1/users/ines" + bad + b"@acme.test", "user_not_found"),
            ("DELETE", one + bad, "path_session_not_found"),
        ]:
            answer = await call(app, method, raw_path, body=msgspec.json.encode(valid_body()))
            await tables.refused(answer, code, raw_path)
        # In the fixed text of a route: no route at all.
        answer = await call(app, "GET", b"/api/v1/gr" + bad + b"oups")
        assert (answer.status, answer.body) == (404, not_found_body(app.settings.docs_url))


async def test_invalid_utf8_in_the_query_string(app: App, tables: Tables) -> None:
    good = f"company={ACME}&apiKey={ACME_KEY}".encode()
    for bad in BAD_UTF8:
        escaped = quote(bad, safe="").encode()
        for query in (
            b"company=" + escaped + b"&apiKey=" + ACME_KEY.encode(),
            b"company=" + bad + b"&apiKey=" + ACME_KEY.encode(),
            f"company={ACME}&apiKey=".encode() + escaped,
            good + bad,
            f"company={ACME}".encode() + escaped + f"&apiKey={ACME_KEY}".encode(),
        ):
            answer = await call(app, "GET", b"/api/v1/groups", query=query, headers=[])
            await tables.refused(answer, "unauthorized", query)
        # Garbage beside good credentials is not read.
        for junk in (b"&x=" + escaped, b"&" + bad + b"=" + bad, b"&" + escaped):
            answer = await call(app, "GET", b"/api/v1/groups", query=good + junk, headers=[])
            await tables.succeeded(answer, "listGroups", junk)


async def test_invalid_utf8_in_credential_headers(app: App, tables: Tables) -> None:
    for bad in BAD_UTF8:
        for headers in (
            [(b"x-company-id", ACME.encode()), (b"x-apikey", ACME_KEY.encode() + bad)],
            [(b"x-company-id", bad * 24), (b"x-apikey", ACME_KEY.encode())],
            [(b"x-company-id", ACME.encode()[:-1] + bad), (b"x-apikey", ACME_KEY.encode())],
        ):
            answer = await call(app, "GET", b"/api/v1/groups", headers=headers)
            await tables.refused(answer, "unauthorized", headers)


# --- NUL ---------------------------------------------------------------------------------------

PATCH = "Request validation failed: "
# The NUL cases of create's and update's sessionName and sessionAdditionalInformation are in
# test_create_session.py and test_patch_session.py.
NUL_CASES: list[tuple[str, str, Any, str]] = [
    ("createPathSession", "startDate", "2030-01-01T09:00:00.000Z\x00", "invalid_start_date"),
    ("createPathSession", "endDate", "2030-01-02T17:00:00.000Z\x00", "invalid_end_date"),
    (
        "createPathSession",
        "sessionOwnerGroup",
        WORLD.root_group + "\x00",
        "invalid_session_owner_group",
    ),
    (
        "createPathSession",
        "instructorsMails",
        [WORLD.instructor_mail + "\x00"],
        "invalid_instructors",
    ),
    (
        "createPathSession",
        "instructorsMails",
        ["\x00" + WORLD.instructor_mail],
        "invalid_instructors",
    ),
    (
        "updatePathSession",
        "startDate",
        "2030-01-01T09:00:00.000Z\x00",
        PATCH + "startDate must be a valid ISO 8601 date string",
    ),
    (
        "updatePathSession",
        "endDate",
        "\x00",
        PATCH + "endDate must be a valid ISO 8601 date string",
    ),
    (
        "updatePathSession",
        "sessionOwnerGroup",
        WORLD.root_group + "\x00",
        PATCH + "sessionOwnerGroup must be a mongodb id",
    ),
    (
        "updatePathSession",
        "instructorsMails",
        [WORLD.instructor_mail + "\x00"],
        PATCH + "each value in instructorsMails must be an email",
    ),
    ("enrolPathSessionUsers", "userEmails", [WORLD.instructor_mail + "\x00"], "invalid_users"),
    ("enrolPathSessionUsers", "userIds", [WORLD.instructor + "\x00"], "invalid_users"),
    ("unenrolPathSessionUsers", "userEmails", ["ines\x00@acme.test"], "invalid_users"),
    ("unenrolPathSessionUsers", "userIds", ["\x00"], "invalid_users"),
    ("enrolPathSessionGroups", "groupIds", [WORLD.sales_group + "\x00"], "invalid_groups"),
    ("unenrolPathSessionGroups", "groupIds", ["\x00" * 24], "invalid_groups"),
    (
        TOKEN_OPERATION,
        "grant_type",
        "client_credentials\x00",
        "unsupported_grant_type",
    ),
    (
        TOKEN_OPERATION,
        "client_id",
        ACME + "\x00",
        "invalid_client",
    ),
    (
        TOKEN_OPERATION,
        "client_secret",
        ACME_KEY + "\x00",
        "invalid_client",
    ),
    (
        TOKEN_OPERATION,
        "client_secret",
        "\x00",
        "invalid_client",
    ),
]


@pytest.mark.parametrize("encoding", ["json", "form"])
async def test_nul_in_every_string_field(
    client: httpx.AsyncClient, tables: Tables, session: str, encoding: str
) -> None:
    for operation, field, value, code in NUL_CASES:
        endpoint = next(e for e in ENDPOINTS if e.operation == operation and field in e.fields)
        body = {**endpoint.body, field: value}
        if encoding == "json":
            answer = await send(client, endpoint, session, msgspec.json.encode(body))
        else:
            answer = await send(client, endpoint, session, encode_form(body), FORM)
        await tables.refused(answer, code, (operation, field, value))


async def test_nul_in_path_parameters_and_credentials(
    client: httpx.AsyncClient, app: App, tables: Tables, session: str
) -> None:
    for method, url, code in [
        ("GET", f"/api/v1/paths/sessions/{session}%00", "path_session_not_found"),
        ("DELETE", f"/api/v1/paths/sessions/%00{session}", "path_session_not_found"),
        ("PATCH", f"/api/v1/paths/sessions/{session}%00/users", "path_session_not_found"),
        ("GET", f"/api/v1/groups/{WORLD.root_group}%00", "group_not_found"),
        ("GET", f"/api/v1/users/{WORLD.instructor}%00", "user_not_found"),
        ("GET", "/api/v1/users/ines%40acme.test%00", "user_not_found"),
        ("GET", "/api/v1/users/%00", "user_not_found"),
        ("GET", f"/api/v1/paths/{WORLD.path}%00", "path_not_found"),
        ("POST", f"/api/v1/paths/{WORLD.path}%00/sessions", "path_not_found"),
    ]:
        r = await client.request(method, url, headers=WORLD.headers, json=valid_body())
        await tables.refused(Answer.of(r), code, url)
    for query in (f"company={ACME}%00&apiKey={ACME_KEY}", f"company={ACME}&apiKey={ACME_KEY}%00"):
        r = await client.get(f"/api/v1/groups?{query}")
        await tables.refused(Answer.of(r), "unauthorized", query)
    for headers in (
        [(b"x-company-id", ACME.encode()), (b"x-apikey", ACME_KEY.encode() + b"\x00")],
        [(b"x-company-id", ACME.encode() + b"\x00"), (b"x-apikey", ACME_KEY.encode())],
        [(b"authorization", b"Bearer \x00")],
    ):
        answer = await call(app, "GET", b"/api/v1/groups", headers=headers)
        await tables.refused(answer, "unauthorized", headers)


# --- Injection strings ------------------------------------------------------------------------

# Valid addresses by the WHATWG grammar, so they reach the database as lookup values; the
# `%` and `_` ones would match real users if a lookup ever used LIKE.
EMAIL_SHAPED = [
    "x'OR'1'='1@acme.test",
    "'--@acme.test",
    "`reboot`@acme.test",
    "$HOME@acme.test",
    "%@acme.test",
    "____@acme.test",
    "i_es@acme.test",
    "ines%@acme.test",
    "%00@acme.test",
    "*@acme.test",
]
NOT_EMAILS = [
    *INJECTIONS,
    "$(rm -rf /)@acme.test",
    "ines@acme.test'--",
    "ines@acme.test' OR '1'='1",
    "ines@acme.test; DROP TABLE users; --",
    "ines@acme.test`id`",
]


def test_the_injection_addresses_are_what_they_claim() -> None:
    assert [m for m in EMAIL_SHAPED if normalize_email(m) is None] == []
    assert [m for m in NOT_EMAILS if normalize_email(m) is not None] == []


async def test_injection_strings_in_ids_and_addresses_are_plain_values(
    client: httpx.AsyncClient, tables: Tables, session: str
) -> None:
    one = f"/api/v1/paths/sessions/{session}"
    cases: list[tuple[str, str, str, Any]] = []
    for text in INJECTIONS + EMAIL_SHAPED:
        segment = quote(text, safe="")
        cases += [
            ("path_session_not_found", "GET", f"/api/v1/paths/sessions/{segment}", None),
            ("path_session_not_found", "DELETE", f"/api/v1/paths/sessions/{segment}", None),
            ("path_session_not_found", "GET", f"/api/v1/paths/sessions/{segment}/users", None),
            ("group_not_found", "GET", f"/api/v1/groups/{segment}", None),
            ("user_not_found", "GET", f"/api/v1/users/{segment}", None),
            ("path_not_found", "GET", f"/api/v1/paths/{segment}", None),
            ("path_not_found", "POST", f"/api/v1/paths/{segment}/sessions", valid_body()),
            (
                "invalid_session_owner_group",
                "POST",
                WORLD.sessions_url(),
                valid_body(sessionOwnerGroup=text),
            ),
            (
                PATCH + "sessionOwnerGroup must be a mongodb id",
                "PATCH",
                one,
                valid_body(sessionOwnerGroup=text),
            ),
            ("invalid_users", "PATCH", one + "/users", {"userIds": [text]}),
            ("invalid_groups", "DELETE", one + "/groups", {"groupIds": [text]}),
            ("invalid_client", "POST", TOKEN_URL, {**TOKEN_BODY, "client_id": text}),
            ("invalid_client", "POST", TOKEN_URL, {**TOKEN_BODY, "client_secret": text}),
            ("unsupported_grant_type", "POST", TOKEN_URL, {**TOKEN_BODY, "grant_type": text}),
        ]
    for mail in EMAIL_SHAPED:
        cases += [
            (
                "instructors_not_found",
                "POST",
                WORLD.sessions_url(),
                valid_body(instructorsMails=[mail]),
            ),
            ("instructors_not_found", "PATCH", one, valid_body(instructorsMails=[mail])),
            ("users_not_found", "PATCH", one + "/users", {"userEmails": [mail]}),
            ("users_not_found", "DELETE", one + "/users", {"userEmails": [mail]}),
        ]
    for text in NOT_EMAILS:
        cases += [
            (
                "invalid_instructors",
                "POST",
                WORLD.sessions_url(),
                valid_body(instructorsMails=[text]),
            ),
            (
                PATCH + "each value in instructorsMails must be an email",
                "PATCH",
                one,
                valid_body(instructorsMails=[text]),
            ),
            ("invalid_users", "DELETE", one + "/users", {"userEmails": [text]}),
        ]
    for code, method, url, body in cases:
        r = await client.request(method, url, json=body, headers=WORLD.headers)
        await tables.refused(Answer.of(r), code, (method, url, body))
    # Every table is still there and still answers.
    r = await client.get(f"/api/v1/users/{quote(WORLD.instructor_mail)}", headers=WORLD.headers)
    assert r.status_code == 200, r.text


async def test_injection_strings_as_credentials(client: httpx.AsyncClient, tables: Tables) -> None:
    for text in INJECTIONS:
        for headers, params in [
            ({"X-company-id": text, "X-apiKey": ACME_KEY}, {}),
            ({"X-company-id": ACME, "X-apiKey": text}, {}),
            ({}, {"company": text, "apiKey": ACME_KEY}),
            ({}, {"company": ACME, "apiKey": text}),
            ({"Authorization": f"Bearer {text}"}, {}),
            ({"Authorization": f"Bearer {ACME}.{text}.9999999999999.{text}"}, {}),
        ]:
            r = await client.get("/api/v1/groups", headers=headers, params=params)
            await tables.refused(Answer.of(r), "unauthorized", (headers, params))


# --- Huge headers and query strings -------------------------------------------------------------

# In process nothing limits a header or the request line. A real uvicorn with httptools (what
# `serve` runs) was seen to pass a 10 MB header and 10,000 headers on to the app, and to answer
# a 1 MB request line with its own 400 "Invalid HTTP request received." before the app runs.
HUGE = 60_000


async def test_a_huge_query_string_beside_good_credentials(
    client: httpx.AsyncClient, tables: Tables
) -> None:
    good = f"company={ACME}&apiKey={ACME_KEY}"
    for query in (
        f"{good}&padding={'x' * HUGE}",
        good + "&a=1" * (HUGE // 4),
        f"padding={'%FF' * (HUGE // 3)}&{good}",
    ):
        r = await client.get(f"/api/v1/groups?{query}")
        await tables.succeeded(Answer.of(r), "listGroups", query[:100])
    r = await client.post(f"{WORLD.sessions_url()}?{good}&padding={'x' * HUGE}", json=valid_body())
    await tables.succeeded(Answer.of(r), "createPathSession")


async def test_huge_credentials_are_refused(client: httpx.AsyncClient, tables: Tables) -> None:
    big = "x" * HUGE
    for headers, params in [
        ({}, {"company": ACME, "apiKey": big}),
        ({}, {"company": ACME + "0" * HUGE, "apiKey": ACME_KEY}),
        ({"X-company-id": ACME, "X-apiKey": big}, {}),
        ({"X-company-id": big, "X-apiKey": ACME_KEY}, {}),
        ({"Authorization": f"Bearer {big}"}, {}),
        ({"Authorization": "Bearer " + "a." * (HUGE // 2)}, {}),
    ]:
        r = await client.get("/api/v1/groups", headers=headers, params=params)
        await tables.refused(Answer.of(r), "unauthorized")


async def test_thousands_of_headers(app: App, tables: Tables) -> None:
    junk = [(f"x-junk-{i}".encode(), b"v" * 30) for i in range(5_000)]
    good = [(b"x-company-id", ACME.encode()), (b"x-apikey", ACME_KEY.encode())]
    await tables.succeeded(
        await call(app, "GET", b"/api/v1/groups", headers=junk + good), "listGroups"
    )
    answer = await call(app, "GET", b"/api/v1/groups", headers=junk)
    await tables.refused(answer, "unauthorized")


# --- Repeated parameters and headers ------------------------------------------------------------


async def test_a_repeated_query_parameter_counts_by_its_first_value(
    client: httpx.AsyncClient, tables: Tables
) -> None:
    """docs/api.md, decision 24: each credential counts by its first value, empty or not."""
    for query, ok in [
        (f"company={ACME}&company={OTHER}&apiKey={ACME_KEY}", True),
        (f"company={OTHER}&company={ACME}&apiKey={ACME_KEY}", False),
        (f"company={ACME}&apiKey={ACME_KEY}&apiKey=wrong", True),
        (f"company={ACME}&apiKey=wrong&apiKey={ACME_KEY}", False),
        (f"company=&company={ACME}&apiKey={ACME_KEY}", False),
        (f"company={ACME}&apiKey=&apiKey={ACME_KEY}", False),
        (f"apiKey={ACME_KEY}&company={ACME}&company={OTHER}&apiKey=x", True),
    ]:
        r = await client.get(f"/api/v1/groups?{query}")
        if not ok:
            await tables.refused(Answer.of(r), "unauthorized", query)
            continue
        await tables.succeeded(Answer.of(r), "listGroups", query)
        ids = [group["_id"] for group in r.json()]
        assert WORLD.root_group in ids
        assert WORLD.other_group not in ids


async def test_a_repeated_header_counts_by_its_first_value(
    client: httpx.AsyncClient, app: App, tables: Tables
) -> None:
    token = (await client.post(TOKEN_URL, json=TOKEN_BODY)).json()["access_token"]
    company = (b"x-company-id", ACME.encode())
    # test_conventions.py has X-company-id with another company first.
    for good, bad in [
        ((b"x-apikey", ACME_KEY.encode()), (b"x-apikey", b"wrong")),
        ((b"authorization", f"Bearer {token}".encode()), (b"authorization", b"Bearer nonsense")),
        (company, (b"x-company-id", OTHER.encode())),
    ]:
        others = [h for h in [company, (b"x-apikey", ACME_KEY.encode())] if h[0] != good[0]]
        answer = await call(app, "GET", b"/api/v1/groups", headers=[good, bad, *others])
        await tables.succeeded(answer, "listGroups", good)
        answer = await call(app, "GET", b"/api/v1/groups", headers=[bad, good, *others])
        await tables.refused(answer, "unauthorized", bad)


async def test_a_repeated_content_length_counts_by_its_first_value(
    app: App, tables: Tables
) -> None:
    declared = [(b"content-length", str(len(SMALL)).encode()), (b"content-length", b"2000000")]
    await tables.succeeded(await post_create(app, SMALL, *declared), "createPathSession")
    answer = await post_create(app, SMALL, *declared[::-1])
    await tables.refused(answer, "payload_too_large")


async def test_repeated_content_types_do_not_decide_how_a_body_is_read(
    app: App, tables: Tables
) -> None:
    types = [(b"content-type", b"application/json"), (b"content-type", b"text/plain")]
    answer = await post_create(app, encode_form(valid_body()), *types)
    await tables.succeeded(answer, "createPathSession")
