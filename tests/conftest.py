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

The helpers the tests import are in tests/support; this file holds fixtures and the hooks
that apply the marks above. PATHSESSIONS_TEST_BACKENDS=sqlite (or postgresql) narrows the
backends for a quick local run; PATHSESSIONS_TEST_POSTGRES_URL names the PostgreSQL server
(support/databases.py).
"""

from __future__ import annotations

import fcntl
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from pathsessions.app import App, create_app
from pathsessions.core.clock import SettableClock
from pathsessions.loader import load_document
from pathsessions.settings import Settings
from pathsessions.storage import Database
from support import TOKEN_SECRET, WORLD, World, world_document
from support.cli import Cli, LiveApp, clean_environment
from support.databases import (
    BACKENDS,
    Aside,
    MigratedSchema,
    fresh_schema,
    migrate_url,
    postgres_test_database,
)
from support.realserver import Servers
from support.report import ReportLines

# --- Hooks --------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(ReportLines(), "report-lines")


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


# --- Databases ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def aside() -> Iterator[Aside]:
    loop = Aside()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def migrated_schema(aside: Aside) -> Iterator[MigratedSchema]:
    """This process's PostgreSQL schema, migrated once."""
    schema = MigratedSchema(aside.run(postgres_test_database()))
    aside.run(schema.create())
    yield schema
    aside.run(schema.close())


@pytest.fixture(scope="session")
def migrated_sqlite(aside: Aside, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file to copy: a copy costs a fraction of migrating a file."""
    path = tmp_path_factory.mktemp("migrated") / "migrated.db"
    aside.run(migrate_url(f"sqlite:///{path}"))
    # Closed, so in one file (WAL checkpointed, -wal and -shm gone); WAL mode is kept in it.
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database, migrated to the current version: a copied SQLite file, or this
    process's PostgreSQL schema with every table emptied. A test marked `fresh_database` gets
    one nothing has migrated instead: a new SQLite file, or a new PostgreSQL schema."""
    fresh = request.node.get_closest_marker("fresh_database") is not None
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        if not fresh:
            shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        yield f"sqlite:///{path}"
    elif fresh:
        async with fresh_schema() as url:
            yield url
    else:
        schema: MigratedSchema = request.getfixturevalue("migrated_schema")
        aside: Aside = request.getfixturevalue("aside")
        aside.run(schema.reset())
        yield schema.url


# --- The application ----------------------------------------------------------------------------


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


@pytest.fixture
async def world(db: Database) -> World:
    """The known world (support/world.py), loaded."""
    await load_document(db, world_document())
    return WORLD


@pytest.fixture
def cli(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Cli:
    """The operator CLI, called in process on this test's database, with no other setting."""
    clean_environment(monkeypatch)
    monkeypatch.setenv("PATHSESSIONS_DATABASE_URL", database_url)
    capsys.readouterr()
    return Cli(capsys)


@pytest.fixture
def live(database_url: str) -> Iterator[LiveApp]:
    """The application beside the CLI, on a loop of its own (support/cli.py)."""
    application = LiveApp(database_url)
    yield application
    application.close()


# --- Outside the process ------------------------------------------------------------------------


@pytest.fixture
def servers(database_url: str, tmp_path: Path) -> Iterator[Servers]:
    """Real server processes (support/realserver.py), all killed at the end."""
    started = Servers(database_url, tmp_path)
    try:
        yield started
    finally:
        for server in started.started:
            server.stop(signal.SIGKILL)


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
