"""Fixtures: a fresh database per test on each backend, the real app, an in-process client.

Every test that takes `client`, `app` or `db` runs once on SQLite and once on PostgreSQL.
PATHSESSIONS_TEST_BACKENDS=sqlite (or postgresql) narrows that for a quick local run;
PATHSESSIONS_TEST_POSTGRES_URL names the server (default: the local one, user postgres).
"""

from __future__ import annotations

import os
import re
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
import pytest

from pathsessions.app import App, create_app
from pathsessions.core.clock import SettableClock
from pathsessions.loader import load_document
from pathsessions.settings import Settings
from pathsessions.storage import Database

if TYPE_CHECKING:
    from realserver import Servers

BACKENDS = [
    b.strip()
    for b in os.environ.get("PATHSESSIONS_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if b.strip()
]
POSTGRES_URL = os.environ.get(
    "PATHSESSIONS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


TEST_DATABASE = "pathsessions_test"


def postgres_url_for(database: str) -> str:
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + database


_created: set[str] = set()


async def postgres_test_database() -> str:
    """One database for the run (created on first use); each test gets a schema in it."""
    if TEST_DATABASE not in _created:
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            await admin.execute(f'CREATE DATABASE "{TEST_DATABASE}"')
        except asyncpg.DuplicateDatabaseError:
            pass
        finally:
            await admin.close()
        _created.add(TEST_DATABASE)
    return postgres_url_for(TEST_DATABASE)


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A new, empty database for each test: a SQLite file, or a PostgreSQL schema.

    A schema isolates exactly like a database for our SQL (every statement names tables
    unqualified and finds them through search_path) at a tenth of the cost: creating a
    PostgreSQL database per test took ~0.8 s, a schema ~0.1 s with its migrations."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = await postgres_test_database()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(base)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        # asyncpg passes unknown DSN parameters to the server as settings. Tests may skip
        # waiting for the WAL flush: nothing here must survive a crash of PostgreSQL.
        yield f"{base}?search_path={schema}&synchronous_commit=off"
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.close()


TOKEN_SECRET = "a-token-secret-for-tests-0123456789abcdef"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        access_log=False,
        pg_pool_size=4,
        token_secret=TOKEN_SECRET,
        rate_limits=False,
    )


@pytest.fixture
def settable_clock() -> SettableClock:
    """The app's clock: the machine's time until a test sets it."""
    return SettableClock()


@pytest.fixture
async def app(settings: Settings, settable_clock: SettableClock) -> AsyncIterator[App]:
    application = create_app(settings, settable_clock)
    await application.startup()
    yield application
    await application.shutdown()


@pytest.fixture
def db(app: App) -> Database:
    return app.db


@pytest.fixture
async def client(app: App) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


# --- A known world: two companies, so every test can check the other one is invisible --------

ACME = "5f1b2c3d4e5f60718293a4b5"
ACME_KEY = "acme-test-key"
OTHER = "5f1b2c3d4e5f60718293a4b6"
OTHER_KEY = "other-test-key"


@dataclass(frozen=True)
class World:
    company: str = ACME
    key: str = ACME_KEY
    root_group: str = "6a0000000000000000000001"
    sales_group: str = "6a0000000000000000000002"
    owner: str = "6b0000000000000000000001"
    owner_mail: str = "owner@acme.test"
    instructor: str = "6b0000000000000000000002"
    instructor_mail: str = "ines@acme.test"
    second_instructor: str = "6b0000000000000000000003"
    second_instructor_mail: str = "ivan@acme.test"
    deleted_mail: str = "gone@acme.test"
    path: str = "6c0000000000000000000001"
    archived_path: str = "6c0000000000000000000002"
    other_company: str = OTHER
    other_key: str = OTHER_KEY
    other_group: str = "6a0000000000000000000009"
    other_path: str = "6c0000000000000000000009"
    other_user_mail: str = "olga@other.test"

    @property
    def headers(self) -> dict[str, str]:
        return {"X-company-id": self.company, "X-apiKey": self.key}

    @property
    def other_headers(self) -> dict[str, str]:
        return {"X-company-id": self.other_company, "X-apiKey": self.other_key}

    @property
    def query(self) -> dict[str, str]:
        return {"company": self.company, "apiKey": self.key}

    def sessions_url(self, path_id: str | None = None) -> str:
        return f"/api/v1/paths/{self.path if path_id is None else path_id}/sessions/"


WORLD = World()


def world_document() -> dict[str, Any]:
    w = WORLD
    return {
        "companies": [
            {
                "id": w.company,
                "name": "Acme Learning",
                "apiKeys": [w.key],
                "owner": w.owner_mail,
                "groups": [
                    {"id": w.root_group, "name": "Acme", "public": True},
                    {"id": w.sales_group, "name": "Sales", "parent": w.root_group},
                ],
                "users": [
                    {
                        "id": w.owner,
                        "mail": w.owner_mail,
                        "firstName": "Olive",
                        "lastName": "Owner",
                    },
                    {
                        "id": w.instructor,
                        "mail": w.instructor_mail,
                        "firstName": "Ines",
                        "lastName": "Instructor",
                        "roles": {w.sales_group: "author"},
                    },
                    {
                        "id": w.second_instructor,
                        "mail": w.second_instructor_mail,
                        "firstName": "Ivan",
                        "lastName": "Instructor",
                    },
                    {"mail": w.deleted_mail, "status": "deleted"},
                ],
                "paths": [
                    {"id": w.path, "name": "Onboarding", "group": w.root_group},
                    {
                        "id": w.archived_path,
                        "name": "Old path",
                        "group": w.root_group,
                        "status": "archived",
                    },
                ],
            },
            {
                "id": w.other_company,
                "name": "Other Corp",
                "apiKeys": [w.other_key],
                "owner": "owner@other.test",
                "groups": [{"id": w.other_group, "name": "Other"}],
                "users": [{"mail": w.other_user_mail, "firstName": "Olga"}],
                "paths": [{"id": w.other_path, "name": "Elsewhere", "group": w.other_group}],
            },
        ]
    }


@pytest.fixture
async def world(db: Database) -> World:
    await load_document(db, world_document())
    return WORLD


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


JSON_TYPE = "application/json; charset=utf-8"
UNKNOWN_ID = "6f00000000000000000000ff"


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


@pytest.fixture
def servers(database_url: str, tmp_path: Path) -> Iterator[Servers]:
    """Real server processes (tests/realserver.py), all killed at the end."""
    from realserver import Servers  # realserver imports this module

    started = Servers(database_url, tmp_path)
    try:
        yield started
    finally:
        for server in started.started:
            server.stop(signal.SIGKILL)
