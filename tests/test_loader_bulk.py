"""The fixture loader as a bulk path (docs/fixtures.md, "Large documents"): thousands of
sessions with their instructors and enrollments load, with or without ids, idempotently, all
or nothing, and the statements a load sends do not grow with its sessions."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from pathsessions.core.webhook_records import Subscription
from pathsessions.loader import FixtureError, load_document
from pathsessions.storage import Database, open_database
from pathsessions.storage import webhooks as webhook_store
from pathsessions.storage.database import Row

TABLES = (
    "path_sessions",
    "session_instructors",
    "session_users",
    "session_groups",
    "users",
    "user_roles",
    "company_groups",
    "paths",
)
GROUPS, USERS, PATHS = 3, 40, 10
DAY_MS = 86_400_000


def _id(rng: random.Random) -> str:
    return f"{rng.getrandbits(96):024x}"


def document(sessions: int, *, ids: bool, name: str = "Bulk Learning") -> dict[str, Any]:
    """One company of a few groups, users and paths, and `sessions` sessions, each with one
    or two instructors, three enrollments (one self-enrolled, one archived, one with
    progress) and a v1 group; the same for the same arguments."""
    rng = random.Random(f"{name}-{sessions}-{ids}")
    groups = [{"id": _id(rng), "name": f"G{i}"} for i in range(GROUPS)]
    mails = [f"u{i}@bulk.test" for i in range(USERS)]
    users = [
        {"id": _id(rng), "mail": m, "roles": {groups[i % GROUPS]["id"]: "learner"}}
        for i, m in enumerate(mails)
    ]
    paths = [{"id": _id(rng), "name": f"P{i}", "group": groups[0]["id"]} for i in range(PATHS)]
    items = []
    for i in range(sessions):
        learners = rng.sample(range(USERS), 3)
        session: dict[str, Any] = {
            "path": paths[i % PATHS]["id"],
            "sessionName": f"S{i}",
            "startDate": _date(1_924_992_000_000 + rng.randrange(700) * DAY_MS),
            "sessionOwnerGroup": groups[1]["id"],
            "instructorsMails": [mails[u] for u in rng.sample(range(USERS), 1 + i % 2)],
            "enrollments": [
                {"user": mails[learners[0]], "selfEnrolled": True},
                {"user": users[learners[1]]["id"], "status": "archived"},
                {"user": mails[learners[2]], "progress": {"progress": i % 101}},
            ],
            "groups": [groups[i % GROUPS]["id"]],
        }
        if ids:
            session["id"] = _id(rng)
        items.append(session)
    company = {
        "id": _id(rng),
        "name": name,
        "apiKeys": [f"{name}-key"],
        "owner": mails[0],
        "groups": groups,
        "users": users,
        "paths": paths,
        "sessions": items,
    }
    return {"companies": [company]}


def _date(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: sorted((tuple(r) for r in await db.fetchall(f"SELECT * FROM {table}")), key=repr)
        for table in TABLES
    }


@pytest.mark.parametrize("ids", [True, False], ids=["ids", "natural-keys"])
async def test_thousands_of_sessions_load_and_a_reload_changes_nothing(
    db: Database, ids: bool
) -> None:
    doc = document(5_000, ids=ids)
    report = await load_document(db, doc)
    assert report.counts["sessions"] == 5_000
    counts = {
        table: (await db.fetchone(f"SELECT COUNT(*) FROM {table}") or [0])[0]
        for table in ("path_sessions", "session_users", "session_groups")
    }
    assert counts == {"path_sessions": 5_000, "session_users": 15_000, "session_groups": 5_000}
    instructors = await db.fetchone("SELECT COUNT(*) FROM session_instructors")
    assert instructors == (7_500,)
    once = await snapshot(db)
    again = await load_document(db, doc)
    # Every object matched, none new; and no session rewritten, modifiedAt included (a
    # path's moves: paths are written again on every load).
    assert [line for line in again.lines if "new " in line] == []
    twice = await snapshot(db)
    del once["paths"], twice["paths"]
    assert twice == once


async def test_an_error_in_the_last_session_changes_nothing(db: Database) -> None:
    doc = document(1_000, ids=False)
    await load_document(db, doc)
    before = await snapshot(db)
    changed = document(1_000, ids=False)
    sessions = changed["companies"][0]["sessions"]
    for session in sessions:  # every session would be rewritten...
        session["sessionAdditionalInformation"] = "changed"
        session["enrollments"] = session["enrollments"][:1]
    sessions[-1]["instructorsMails"] = ["nobody@bulk.test"]  # ...but the last one is wrong
    with pytest.raises(FixtureError) as caught:
        await load_document(db, changed)
    assert str(caught.value) == (
        "companies[0].sessions[999].instructorsMails: instructors_not_found"
    )
    assert await snapshot(db) == before


async def test_a_session_listed_twice_is_refused(db: Database) -> None:
    doc = document(3, ids=False)
    sessions = doc["companies"][0]["sessions"]
    sessions.append(dict(sessions[1], sessionAdditionalInformation="again"))
    with pytest.raises(FixtureError) as caught:
        await load_document(db, doc)
    assert caught.value.where == "companies[0].sessions[3].sessionName"
    assert caught.value.problem.startswith("duplicate session")
    doc = document(3, ids=True)
    sessions = doc["companies"][0]["sessions"]
    sessions.append(dict(sessions[0], sessionName="Another name"))
    with pytest.raises(FixtureError) as caught:
        await load_document(db, doc)
    assert (caught.value.where, caught.value.problem) == (
        "companies[0].sessions[3].id",
        "duplicate session",
    )
    assert await db.fetchone("SELECT COUNT(*) FROM path_sessions") == (0,)


class Counting:
    """A `Database` that counts the statements sent through it (transactions' too)."""

    def __init__(self, db: Database, counts: list[str]) -> None:
        self.db = db
        self.dialect = db.dialect
        self.counts = counts

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        self.counts.append(sql)
        return await self.db.fetchone(sql, *args)

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        self.counts.append(sql)
        return await self.db.fetchall(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        self.counts.append(sql)
        return await self.db.execute(sql, *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.counts.append(sql)
        await self.db.executemany(sql, rows)

    async def bulk_insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        self.counts.append(f"bulk insert into {table}")
        await self.db.bulk_insert(table, columns, rows)

    def transaction(self) -> AbstractAsyncContextManager[Database]:
        @asynccontextmanager
        async def counted() -> AsyncIterator[Database]:
            async with self.db.transaction() as tx:
                yield Counting(tx, self.counts)

        return counted()

    def for_update(self) -> str:
        return self.db.for_update()

    def any_of(self, column: str) -> str:
        return self.db.any_of(column)

    def array(self, values: Sequence[str]) -> Any:
        return self.db.array(values)

    async def ping(self) -> bool:
        return await self.db.ping()

    def connections(self) -> tuple[int, int]:
        return self.db.connections()

    async def close(self) -> None:
        await self.db.close()


@pytest.mark.parametrize("ids", [True, False], ids=["ids", "natural-keys"])
async def test_the_statements_of_a_load_do_not_grow_with_its_sessions(
    db: Database, ids: bool
) -> None:
    """Matching by natural key once took a query per session, each scanning the path's
    sessions: quadratic. Now each kind is read once and matched in memory. Two companies
    alike but for their number of sessions (within one batch of rows) take the same number
    of statements, on a first load and on a reload."""
    statements: dict[int, list[list[str]]] = {}
    # A process reads a table's column types once, on its first bulk write of that kind
    # (storage/bulk.py): a load and a reload before the counted ones keep that out of them.
    before = document(300, ids=ids, name="Company before")
    for _ in range(2):
        await load_document(db, before)
    for n in (300, 1_500):
        doc = document(n, ids=ids, name=f"Company of {n}")
        loads = statements[n] = []
        for _ in range(2):
            sent: list[str] = []
            await load_document(Counting(db, sent), doc)
            loads.append(sent)
    for small, large in zip(statements[300], statements[1_500], strict=True):
        assert len(large) == len(small)
    # And a reload writes no session, instructor or enrollment: they are as the document says.
    session_tables = ("path_sessions", "session_instructors", "session_users", "session_groups")
    writes = [
        s
        for s in statements[1_500][1]
        if s.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE")
        and any(table in s for table in session_tables)
    ]
    assert writes == []


async def test_a_load_records_its_enrollment_events_in_one_batch(database_url: str) -> None:
    """With a subscription to enrollments, each new session's enrollments queue one event;
    the company's subscriptions are read once for them all, not once per event. (A database
    of its own, without the app: no delivery worker takes the events meanwhile.)"""
    db = await open_database(database_url)
    try:
        await _events_in_one_batch(db)
    finally:
        await db.close()


async def _events_in_one_batch(db: Database) -> None:
    doc = document(200, ids=True)
    company = doc["companies"][0]
    sessions, company["sessions"] = company["sessions"], []
    await load_document(db, doc)
    subscription = Subscription(
        id="6f0000000000000000000001",
        event_type="path.session.users.enrolled",
        name="enrolled",
        url="http://127.0.0.1:9/enrolled",
        status="active",
    )
    await webhook_store.insert_subscription(db, company["id"], subscription, "s" * 32, 0)
    company["sessions"] = sessions
    sent: list[str] = []
    await load_document(Counting(db, sent), doc)
    rows = await db.fetchall("SELECT subscription_id, status, payload FROM webhook_events")
    assert len(rows) == 200
    assert {(r[0], r[1]) for r in rows} == {(subscription.id, "pending")}
    assert {json.loads(r[2])["data"]["sessionId"] for r in rows} == {s["id"] for s in sessions}
    assert len([s for s in sent if "webhook_subscriptions" in s]) == 1
