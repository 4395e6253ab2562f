"""A dependency that fails while the server runs: 503 with `Retry-After` rather than 500, one
log line when the outage begins and one when it ends, /health failing when writes fail, and a
hung Redis costing one timeout rather than one per request."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from pathsessions import loader
from pathsessions.app import App, create_app
from pathsessions.loader import load_document
from pathsessions.settings import Settings
from pathsessions.storage import Database
from pathsessions.storage.outage import StorageUnavailable
from pathsessions.storage.sqlite import SQLiteDatabase
from pathsessions.web.ratelimit import RedisLimiter
from support import WORLD, World, created_id, valid_body, world_document
from support.realserver import HEADERS, Servers, load_example

BACKENDS = os.environ.get("PATHSESSIONS_TEST_BACKENDS", "sqlite,postgresql").split(",")
UNAVAILABLE = {"error": "service_unavailable"}
# A row that needs new pages of the file (overflow pages), whatever room is left in the others.
BIG = valid_body(sessionAdditionalInformation="x" * 10_000)


def only(backend: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(
        "database_url",
        [pytest.param(backend, marks=pytest.mark.skipif(backend not in BACKENDS, reason=backend))],
        indirect=True,
    )


def client_for(app: App) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def lines(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage()]


def assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.json() == UNAVAILABLE
    assert r.headers["retry-after"] == "5"


# --- SQLite: a full disk, a read-only file ------------------------------------------------------


@only("sqlite")
@pytest.mark.parametrize(
    ("fail", "heal"),
    [
        # No page beyond those the file has: as a full disk answers (SQLITE_FULL).
        ("PRAGMA max_page_count = {pages}", "PRAGMA max_page_count = 1073741823"),
        # Writes refused (SQLITE_READONLY), as for a file or mount made read-only.
        ("PRAGMA query_only = ON", "PRAGMA query_only = OFF"),
    ],
    ids=["full", "read-only"],
)
async def test_sqlite_that_cannot_write_answers_503_and_logs_the_outage_once(
    app: App,
    client: httpx.AsyncClient,
    world: World,
    caplog: pytest.LogCaptureFixture,
    fail: str,
    heal: str,
) -> None:
    caplog.set_level(logging.INFO, logger="pathsessions")
    conn = cast(SQLiteDatabase, app.db)._conn
    assert (await client.get("/health")).status_code == 200
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(fail.format(pages=pages))

    for _ in range(10):
        assert_unavailable(await client.post(world.sessions_url(), json=BIG, headers=world.headers))
    # Reads still work; they neither end the outage nor log anything.
    assert (await client.get("/api/v1/paths/sessions", headers=world.headers)).status_code == 200
    health = await client.get("/health")
    assert health.status_code == 503
    assert health.json() == {"error": "database_unavailable"}

    down = lines(caplog, "unavailable (")
    assert len(down) == 1
    assert down[0].levelno == logging.ERROR
    assert "SQLite database" in down[0].getMessage()
    assert not lines(caplog, "available again")
    assert not [r for r in caplog.records if "unhandled" in r.getMessage()]

    conn.execute(heal)
    created_id(await client.post(world.sessions_url(), json=BIG, headers=world.headers))
    assert (await client.get("/health")).status_code == 200
    assert len(lines(caplog, "available again")) == 1
    assert len(lines(caplog, "unavailable (")) == 1


async def test_bad_sql_is_not_an_outage(db: Database) -> None:
    with pytest.raises((sqlite3.Error, asyncpg.PostgresError)) as raised:
        await db.execute("UPDAT nothing SET x = 1")
    assert not isinstance(raised.value, StorageUnavailable)
    with pytest.raises((sqlite3.Error, asyncpg.PostgresError)) as raised:
        async with db.transaction() as tx:
            await tx.fetchall("SELECT no_such_column FROM companies")
    assert not isinstance(raised.value, StorageUnavailable)


async def test_a_database_failing_under_a_load_is_not_blamed_on_the_document(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing(*args: object) -> None:
        raise StorageUnavailable("SQLite database", "disk I/O error")

    monkeypatch.setattr(loader, "_draft", failing)
    document = world_document()
    document["companies"][0]["sessions"] = [
        {"path": WORLD.path, **valid_body(), "instructorsMails": []}
    ]
    with pytest.raises(StorageUnavailable):
        await load_document(db, document)


# --- PostgreSQL: the server goes away, then comes back -----------------------------------------


class Proxy:
    """A TCP proxy to PostgreSQL that the test can cut (every connection dropped, the port
    refusing) and restore on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._pipe, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._open += [writer, up_writer]

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                sink.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._open:
            writer.transport.abort()
        self._open.clear()
        await self._server.wait_closed()
        self._server = None


@asynccontextmanager
async def proxied_app(settings: Settings, proxy: Proxy) -> AsyncIterator[App]:
    parts = urlsplit(settings.database_url)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    url = parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}").geturl()
    app = create_app(replace(settings, database_url=url))
    await app.startup()
    try:
        yield app
    finally:
        await app.shutdown()


@only("postgresql")
async def test_postgresql_going_away_answers_503_and_logs_one_line_each_way(
    settings: Settings, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    target = urlsplit(settings.database_url)
    proxy = Proxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    caplog.set_level(logging.INFO, logger="pathsessions")
    async with proxied_app(settings, proxy) as app, client_for(app) as c:
        created_id(await c.post(world.sessions_url(), json=valid_body(), headers=world.headers))
        await proxy.cut()

        for _ in range(20):
            assert_unavailable(await c.get("/api/v1/paths/sessions", headers=world.headers))
            assert_unavailable(
                await c.post(world.sessions_url(), json=valid_body(), headers=world.headers)
            )
        assert (await c.get("/health")).status_code == 503

        down = lines(caplog, "unavailable (")
        assert len(down) == 1, [r.getMessage() for r in down]
        assert down[0].levelno == logging.ERROR
        assert f"PostgreSQL at 127.0.0.1:{proxy.port}" in down[0].getMessage()
        assert not [r for r in caplog.records if "unhandled" in r.getMessage()]

        await proxy.start()  # the same port again
        r = await c.get("/api/v1/paths/sessions", headers=world.headers)
        assert r.status_code == 200, r.text
        assert (await c.get("/health")).status_code == 200
        assert len(lines(caplog, "available again")) == 1
        assert len(lines(caplog, "unavailable (")) == 1
    await proxy.cut()


@only("postgresql")
@pytest.mark.e2e
def test_a_real_server_logs_one_line_when_postgresql_goes_and_one_when_it_is_back(
    database_url: str, tmp_path: Path
) -> None:
    load_example(database_url)
    target = urlsplit(database_url)
    proxy = Proxy(target.hostname or "127.0.0.1", target.port or 5432)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=10)

    run(proxy.start())
    user = target.netloc.rsplit("@", 1)[0] + "@" if "@" in target.netloc else ""
    proxied = target._replace(netloc=f"{user}127.0.0.1:{proxy.port}").geturl()
    server = Servers(proxied, tmp_path).start()
    try:
        with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as c:
            assert c.get("/api/v1/paths/sessions").status_code == 200
            run(proxy.cut())
            for _ in range(20):
                assert_unavailable(c.get("/api/v1/paths/sessions"))
            run(proxy.start())
            r = c.get("/api/v1/paths/sessions")
            assert r.status_code == 200, r.text
    finally:
        server.stop()
        run(proxy.cut())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
    logged = [json.loads(line) for line in server.stderr.splitlines() if line.startswith("{")]
    down = [e for e in logged if "unavailable (" in e.get("message", "")]
    back = [e for e in logged if "available again" in e.get("message", "")]
    assert len(down) == 1, logged
    assert down[0]["level"] == "ERROR"
    assert f"PostgreSQL at 127.0.0.1:{proxy.port}" in down[0]["message"]
    assert len(back) == 1, logged
    assert not [e for e in logged if "unhandled" in e.get("message", "")]
    assert "Traceback" not in server.stderr


# --- Redis that accepts and never answers -------------------------------------------------------


@asynccontextmanager
async def hung_redis() -> AsyncIterator[str]:
    """A listener that accepts connections, reads what it is sent, and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(65536):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.close()
        for writer in held:
            writer.transport.abort()


async def test_a_hung_redis_costs_one_timeout_not_one_per_request(
    settings: Settings, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pathsessions")
    async with hung_redis() as url:
        app = create_app(replace(settings, rate_limits=True, redis_url=url))
        await app.startup()
        try:
            async with client_for(app) as c:
                started = time.monotonic()
                r = await c.get("/api/v1/paths/sessions", headers=world.headers)
                assert r.status_code == 200
                assert time.monotonic() - started >= RedisLimiter.TIMEOUT * 0.9
                started = time.monotonic()
                for _ in range(20):
                    r = await c.get("/api/v1/paths/sessions", headers=world.headers)
                    assert r.status_code == 200
                # 20 timeouts would be 10 s; skipping Redis costs nothing measurable.
                assert time.monotonic() - started < 2.0
        finally:
            await app.shutdown()
    assert len(lines(caplog, "Redis unavailable")) == 1


async def test_after_the_cool_down_one_request_asks_redis_again() -> None:
    async with hung_redis() as url:
        limiter = RedisLimiter((10, 50), url, cool_down=1.0)
        company = "0" * 24
        try:
            started = time.monotonic()
            assert await limiter.wait(company, 0) == 0.0
            assert time.monotonic() - started >= RedisLimiter.TIMEOUT * 0.9
            started = time.monotonic()
            assert await limiter.wait(company, 0) == 0.0  # open: not asked
            assert time.monotonic() - started < 0.1
            await asyncio.sleep(1.05)
            # Half-open: the first request asks (and waits), the others meanwhile do not.
            started = time.monotonic()
            probe = asyncio.create_task(limiter.wait(company, 0))
            await asyncio.sleep(0.05)
            assert await limiter.wait(company, 0) == 0.0
            assert time.monotonic() - started < 0.2
            assert await probe == 0.0
            assert time.monotonic() - started >= RedisLimiter.TIMEOUT * 0.9
        finally:
            await limiter.close()
