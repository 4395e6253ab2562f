"""Fixtures: an empty database per test on each backend, the real app, an in-process client.

Every test that takes `client`, `app`, `db` or `database_url` runs once on SQLite and once on
PostgreSQL. Its database is migrated and empty: a copy of a SQLite file migrated once per
process, or the process's PostgreSQL schema, migrated once and emptied before each test. A
test of migrating itself is marked `fresh_database` and gets one nothing has migrated.
Whatever a test changes in the schema beyond rows must be in such a test.

A test marked `backend_independent` runs on one backend only (the first of them). The rule:
only a test whose answer is decided before any storage is touched, whatever it loads to set
the scene (the world, for a request with credentials), may be marked: an unknown route or
method, a body over the size limit, the API description, settings refused before the
database is opened. A test that authenticates, reads or writes stays on both backends, even
when what it checks looks like wording.

PATHSESSIONS_TEST_BACKENDS=sqlite (or postgresql) narrows that for a quick local run;
PATHSESSIONS_TEST_POSTGRES_URL names the server (default: the local one, user postgres).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import shutil
import signal
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
import httpx
import pytest

from pathsessions.app import App, create_app
from pathsessions.fixtures import load_document
from pathsessions.settings import Settings
from pathsessions.storage import Database, migrate, open_database

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
# Every table a migration creates but this one: the data a test may write.
MIGRATIONS_TABLE = "schema_migrations"


def postgres_url_for(database: str) -> str:
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + database


def schema_url(base: str, schema: str) -> str:
    # asyncpg passes unknown DSN parameters to the server as settings. Tests may skip
    # waiting for the WAL flush: nothing here must survive a crash of PostgreSQL.
    return f"{base}?search_path={schema}&synchronous_commit=off"


_created: set[str] = set()


async def postgres_test_database() -> str:
    """One database for the run (created on first use); each test gets a schema in it."""
    if TEST_DATABASE not in _created:
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            await admin.execute(f'CREATE DATABASE "{TEST_DATABASE}"')
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            pass  # (the second when another process creates it at the same moment)
        finally:
            await admin.close()
        _created.add(TEST_DATABASE)
    return postgres_url_for(TEST_DATABASE)


T = TypeVar("T")


class Aside:
    """An event loop in a thread of its own, for session-wide set-up and its connections:
    they cannot live on the loop of a test, which closes when the test ends."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


async def _migrate(url: str) -> None:
    db = await open_database(url, pg_pool_size=1)
    try:
        await migrate(db)
    finally:
        await db.close()


class MigratedSchema:
    """This process's PostgreSQL schema, migrated once; `reset` empties it for the next test.

    Emptying takes one round trip of DELETEs on a connection kept open (about 1 ms), where
    creating and migrating a schema took about 60 ms, and TRUNCATE about 25 ms."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.name = ""
        self.reset_sql = ""
        self.versions = 0
        self.admin: Any = None

    @property
    def url(self) -> str:
        return schema_url(self.base, self.name)

    async def create(self) -> None:
        self.name = f"s_{uuid.uuid4().hex[:16]}"
        if self.admin is None:
            self.admin = await asyncpg.connect(self.base)
            # A connection a test leaked inside a transaction would make a DELETE wait forever.
            await self.admin.execute("SET lock_timeout = '10s'")
        await self.admin.execute(f'CREATE SCHEMA "{self.name}"')
        await _migrate(self.url)
        # Children before their parents, so that no DELETE has a row to cascade to.
        rows = await self.admin.fetch(
            "SELECT c.relname, ARRAY(SELECT DISTINCT f.confrelid::regclass::text"
            "  FROM pg_constraint f WHERE f.conrelid = c.oid AND f.contype = 'f'"
            "  AND f.confrelid <> c.oid)"
            " FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'r'",
            self.name,
        )
        parents = {str(r[0]): {str(p).split(".")[-1].strip('"') for p in r[1]} for r in rows}
        order: list[str] = []
        while len(order) < len(parents):
            ready = [
                table
                for table in sorted(parents)
                if table not in order
                and all(child in order for child, ps in parents.items() if table in ps)
            ]
            assert ready, f"foreign keys in a cycle: {parents}"
            order += ready
        sequences = await self.admin.fetch(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = $1", self.name
        )
        # Migrations seed no rows (no INSERT in storage/migrations/*.sql): empty tables,
        # sequences restarted and the recorded versions are exactly a freshly migrated schema.
        self.reset_sql = ";".join(
            [f'DELETE FROM "{self.name}"."{t}"' for t in order if t != MIGRATIONS_TABLE]
            + [f'ALTER SEQUENCE "{self.name}"."{r[0]}" RESTART' for r in sequences]
        )
        self.versions = await self._versions()

    async def _versions(self) -> int:
        return int(
            await self.admin.fetchval(f'SELECT COUNT(*) FROM "{self.name}".{MIGRATIONS_TABLE}')
        )

    async def reset(self) -> None:
        """Empty every data table; if a test changed the recorded versions (a test of
        migrating that is not marked `fresh_database`), migrate a new schema."""
        await self.admin.execute(self.reset_sql)
        if await self._versions() != self.versions:
            await self.drop()
            await self.create()

    async def drop(self) -> None:
        await self.admin.execute(f'DROP SCHEMA "{self.name}" CASCADE')

    async def close(self) -> None:
        await self.drop()
        await self.admin.close()


@pytest.fixture(scope="session")
def aside() -> Iterator[Aside]:
    loop = Aside()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def migrated_schema(aside: Aside) -> Iterator[MigratedSchema]:
    schema = MigratedSchema(aside.run(postgres_test_database()))
    aside.run(schema.create())
    yield schema
    aside.run(schema.close())


@pytest.fixture(scope="session")
def migrated_sqlite(aside: Aside, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file to copy: a copy costs a fraction of migrating a file."""
    path = tmp_path_factory.mktemp("migrated") / "migrated.db"
    aside.run(_migrate(f"sqlite:///{path}"))
    # Closed, so in one file (WAL checkpointed, -wal and -shm gone); WAL mode is kept in it.
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database, migrated to the current version: a copied SQLite file, or this
    process's PostgreSQL schema with every table emptied.

    A test marked `fresh_database` gets one nothing has migrated instead: a new SQLite file,
    or a new PostgreSQL schema, dropped at the end. A schema isolates exactly like a database
    for our SQL (every statement names tables unqualified and finds them through
    search_path)."""
    fresh = request.node.get_closest_marker("fresh_database") is not None
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        if not fresh:
            shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        yield f"sqlite:///{path}"
        return
    if not fresh:
        schema: MigratedSchema = request.getfixturevalue("migrated_schema")
        aside: Aside = request.getfixturevalue("aside")
        aside.run(schema.reset())
        yield schema.url
        return
    base = await postgres_test_database()
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(base)
    try:
        await admin.execute(f'CREATE SCHEMA "{name}"')
        yield schema_url(base, name)
        await admin.execute(f'DROP SCHEMA "{name}" CASCADE')
    finally:
        await admin.close()


@pytest.fixture
def redis_turn() -> Iterator[None]:
    """Redis holds the rate-limit buckets of every process that counts in it, keyed by
    company: a test that counts there waits for any other such test to end, in another
    pytest-xdist worker or in another run of this suite on the machine."""
    lock = Path(tempfile.gettempdir()) / "pathsessions-tests-redis.lock"
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked `backend_independent` runs on the first backend only (module docstring):
    a parametrize mark on `database_url`, which pytest lets take precedence over the params of
    the fixture."""
    marked = metafunc.definition.get_closest_marker("backend_independent") is not None
    if marked and "database_url" in metafunc.fixturenames:
        only = pytest.mark.parametrize("database_url", BACKENDS[:1], indirect=True)
        metafunc.definition.add_marker(only)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The real-server tests first (in their order, then the others in theirs): the longest
    ones start early, so that no process is left running one at the end while the others idle."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)


class ReportLines:
    """Lines for the end of pytest's report, under a heading: a test records one with
    `record_property(f"{ReportLines.PREFIX}{heading}", line)`. As a property it reaches the
    main process from a pytest-xdist worker, where a line kept in memory would not."""

    PREFIX = "report-line:"

    def __init__(self) -> None:
        self.lines: dict[str, list[str]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name.startswith(self.PREFIX):
                lines = self.lines.setdefault(name.removeprefix(self.PREFIX), [])
                if value not in lines:  # the property is on every report of the test
                    lines.append(str(value))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        for heading, lines in self.lines.items():
            terminalreporter.write_sep("-", heading)
            for line in lines:
                terminalreporter.write_line(line)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(ReportLines(), "report-lines")


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
async def app(settings: Settings) -> AsyncIterator[App]:
    application = create_app(settings)
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
