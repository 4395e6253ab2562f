"""Durability end to end, on each backend: real `pathsessions serve` processes, real databases.

1. No acknowledged write is lost: concurrent creates, PATCHes and deletes while the server's
   process group is SIGKILLed at random moments and restarted. Every answered write must be in
   the database exactly as acknowledged; a write in flight at the kill may have happened or
   not, but never half.
2. Several workers, one database: `serve --workers 2` under 64 concurrent writers answers
   every request, surfaces no lock error and loses no write.
3. PostgreSQL stopped mid-write (`pg_ctl stop -m immediate`) and started again, three times,
   under a server that keeps running: no acknowledged write is lost, none is half done, the
   writes meanwhile are answered 503, and the same server takes writes again once PostgreSQL
   is back. A private PostgreSQL instance of the test's own, never the shared one.

Each client task owns the sessions it creates, so the expected state of every session is
exactly the last write acknowledged for it. `pytest -s` shows the counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import os
import pwd
import random
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from pathsessions.core.values import format_date, parse_date
from pathsessions.storage import Database, open_database
from support.realserver import (
    HEADERS,
    READY_TIMEOUT,
    ROOT_GROUP,
    SALES_GROUP,
    SESSIONS,
    Server,
    Servers,
    free_port,
    load_example,
    stop_cleanly,
)

pytestmark = pytest.mark.e2e

OWNER_MAIL = "owner@acme.test"  # the company's platform owner: the default instructor
INES_MAIL = "ines@acme.test"
INSTRUCTORS = ((INES_MAIL,), (OWNER_MAIL,), (INES_MAIL, OWNER_MAIL), (OWNER_MAIL, INES_MAIL))
GROUPS = (ROOT_GROUP, SALES_GROUP)
# 2030-01-01T00:00:00Z. Every date is later, so no PATCH meets a past-date rule and every
# request the clients send is valid: anything but a 2xx answer is a fault.
FIRST_START = 1_893_456_000_000
HOUR = 3_600_000
LIST = "/api/v1/paths/sessions"
# What a server must never log, even under lock contention or a kill.
FAULTS_IN_LOGS = ("Traceback", "database is locked", "OperationalError", '"level":"ERROR"')
GETS = 1000


def one(path: str) -> str:
    return f"{LIST}/{path}"


@dataclass(frozen=True)
class State:
    """A session's writable fields, as the API shows them."""

    name: str
    start: str
    end: str | None
    group: str
    info: str | None
    mails: tuple[str, ...]


def api_state(item: dict[str, Any]) -> State:
    return State(
        item["sessionName"],
        item["startDate"],
        item["endDate"],
        item["sessionOwnerGroup"],
        item["sessionAdditionalInformation"],
        tuple(item["instructorsMails"]),
    )


def random_dates(rng: random.Random) -> tuple[int, int | None]:
    start = FIRST_START + rng.randrange(5 * 365 * 24) * HOUR + rng.randrange(1000)
    end = None if rng.random() < 0.3 else start + rng.randrange(30 * 24) * HOUR
    return start, end


def create_body(rng: random.Random, name: str) -> tuple[dict[str, Any], State]:
    """A valid create body with a random subset of the optional fields; the state it makes."""
    start, end = random_dates(rng)
    group = rng.choice(GROUPS)
    body: dict[str, Any] = {
        "sessionName": name,
        "startDate": format_date(start),
        "sessionOwnerGroup": group,
    }
    mails: tuple[str, ...] = (OWNER_MAIL,)
    if rng.random() < 0.8:
        mails = rng.choice(INSTRUCTORS)
        body["instructorsMails"] = list(mails)
    if end is not None:
        body["endDate"] = format_date(end)
    info = None
    if rng.random() < 0.7:
        info = f"REG-{rng.randrange(10**6)} é"
        body["sessionAdditionalInformation"] = info
    state = State(name, format_date(start), body.get("endDate"), group, info, mails)
    return body, state


def patch_body(rng: random.Random, current: State, name: str) -> tuple[dict[str, Any], State]:
    """A valid PATCH of the main fields, leaving out or nulling optional ones at random."""
    start, end = random_dates(rng)
    group = rng.choice(GROUPS)
    body: dict[str, Any] = {
        "sessionName": name,
        "startDate": format_date(start),
        "sessionOwnerGroup": group,
    }
    new_end = current.end
    kept_end = current.end is None or (parse_date(current.end) or 0) >= start
    choice = rng.random()
    if choice < 0.3 and kept_end:
        pass  # left out: kept
    elif choice < 0.5:
        body["endDate"] = new_end = None
    else:
        body["endDate"] = new_end = format_date(end if end is not None else start + HOUR)
    mails = current.mails
    if rng.random() < 0.5:
        mails = rng.choice(INSTRUCTORS)
        body["instructorsMails"] = list(mails)
    info = current.info
    choice = rng.random()
    if choice < 0.3:
        body["sessionAdditionalInformation"] = info = None
    elif choice < 0.7:
        body["sessionAdditionalInformation"] = info = f"PATCHED-{rng.randrange(10**6)}"
    return body, State(name, format_date(start), new_end, group, info, mails)


# --- The database, read directly -----------------------------------------------------------


async def stored_sessions(db: Database) -> tuple[dict[str, State], list[str]]:
    """Every session in the database with its instructors, and every sign of a half-written
    one: a session without instructors, instructor or enrolment rows of no session, gaps in
    the instructor positions, instructors that are no user."""
    faults: list[str] = []
    rows = await db.fetchall(
        "SELECT id, name, start_date, end_date, owner_group_id, additional_information"
        " FROM path_sessions"
    )
    instructors = await db.fetchall(
        "SELECT si.session_id, si.position, u.mail FROM session_instructors si"
        " LEFT JOIN users u ON u.id = si.user_id ORDER BY si.session_id, si.position"
    )
    by_session: dict[str, list[tuple[int, str | None]]] = {}
    for session_id, position, mail in instructors:
        by_session.setdefault(session_id, []).append((int(position), mail))
    sessions: dict[str, State] = {}
    for session_id, name, start, end, group, info in rows:
        listed = by_session.pop(session_id, [])
        if [p for p, _ in listed] != list(range(len(listed))) or not listed:
            faults.append(f"session {session_id}: instructor positions {[p for p, _ in listed]}")
        if any(mail is None for _, mail in listed):
            faults.append(f"session {session_id}: an instructor who is no user")
        sessions[session_id] = State(
            name,
            format_date(int(start)),
            None if end is None else format_date(int(end)),
            group,
            info,
            tuple(str(mail) for _, mail in listed),
        )
    for session_id in by_session:
        faults.append(f"instructor rows of a session that does not exist: {session_id}")
    for table in ("session_users", "session_groups"):
        orphans = await db.fetchone(
            f"SELECT COUNT(*) FROM {table} WHERE session_id NOT IN (SELECT id FROM path_sessions)"
        )
        if orphans is None or int(orphans[0]) != 0:
            faults.append(f"{table}: rows of sessions that do not exist")
    return sessions, faults


def differences(expected: dict[str, State], actual: dict[str, State], where: str) -> list[str]:
    found = [f"{where}: missing {i} {expected[i]}" for i in sorted(expected.keys() - actual)]
    found += [f"{where}: unexpected {i} {actual[i]}" for i in sorted(actual.keys() - expected)]
    found += [
        f"{where}: {i} is {actual[i]}, acknowledged {expected[i]}"
        for i in sorted(expected.keys() & actual.keys())
        if expected[i] != actual[i]
    ]
    return found


async def check_database(db: Database, expected: dict[str, State], where: str) -> list[str]:
    stored, faults = await stored_sessions(db)
    return [f"{where}: {fault}" for fault in faults] + differences(expected, stored, where)


async def check_api(
    base_url: str, expected: dict[str, State], deleted: Iterable[str], where: str
) -> list[str]:
    """The list of every session, then a GET of each live one and of deleted ones (up to
    `GETS` of each, at random: the list and the database have already shown all of them)."""
    found: list[str] = []
    async with httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=30.0) as http:
        r = await http.get(LIST)
        assert r.status_code == 200, r.text
        listed = {item["sessionId"]: api_state(item) for item in r.json()}
        found += differences(expected, listed, f"{where}, list")
        live, gone = sorted(expected), sorted(deleted)
        ids = random.sample(live, min(len(live), GETS)) + random.sample(gone, min(len(gone), GETS))
        queue = iter(ids)

        async def fetch() -> None:
            for session_id in queue:
                r = await http.get(one(session_id))
                if session_id in expected:
                    if r.status_code != 200 or api_state(r.json()) != expected[session_id]:
                        found.append(f"{where}, GET {session_id}: {r.status_code} {r.text}")
                elif r.status_code != 404:
                    found.append(f"{where}, GET of deleted {session_id}: {r.status_code}")

        await asyncio.gather(*(fetch() for _ in range(8)))
    return found


def log_faults(server: Server) -> list[str]:
    logs = server.stdout + server.stderr
    return [f"server {server.port} logged {fault}" for fault in FAULTS_IN_LOGS if fault in logs]


async def wait_ready(server: Server) -> None:
    """`Server.wait_ready`, without blocking the event loop the clients run on."""
    deadline = time.monotonic() + READY_TIMEOUT
    async with httpx.AsyncClient(timeout=1.0) as http:
        while time.monotonic() < deadline:
            assert server.process.poll() is None, server.stderr
            try:
                if (await http.get(f"{server.base_url}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.02)
    pytest.fail(f"server not ready after {READY_TIMEOUT} s:\n{server.stderr}")


def backend(database_url: str) -> str:
    return database_url.split(":", 1)[0]


# --- 1. Kills ------------------------------------------------------------------------------

KILL_WORKERS = 12
MANY_LISTS = {"PATHSESSIONS_MAX_LISTS_PER_COMPANY": str(KILL_WORKERS)}
KILLS = 12
# Load between two kills, in seconds: random, so that kills land at any point of a request.
KILL_DELAY = (0.2, 1.5)
# A client stops creating past this many live sessions: most writes then land on sessions
# written before, some of them before a kill.
MAX_OWNED = 25


@dataclass
class Tally:
    acknowledged: Counter[str] = field(default_factory=Counter)
    uncertain: Counter[str] = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)
    kills: int = 0
    checkpoints: int = 0


class Killer:
    """Kills and restarts the server while the clients write.

    After each restart, the clients settle the writes the kill left uncertain and park; with
    nothing in flight, the whole database is compared with what they acknowledged. A write
    acknowledged before a kill is thus checked right after it, before a later write to the
    same session could hide its loss."""

    def __init__(self, servers: Servers, db: Database, clients: int, rng: random.Random) -> None:
        self.servers = servers
        self.db = db
        self.clients = clients
        self.rng = rng
        self.server = servers.start(env=MANY_LISTS)
        self.url = self.server.base_url
        self.gate = asyncio.Event()  # clear: clients park before their next request
        self.gate.set()
        self.up = asyncio.Event()  # set: `url` answers
        self.up.set()
        self.all_parked = asyncio.Event()
        self.parked = 0
        self.stopping = False
        self.owners: list[Owner] = []
        self.tally = Tally()

    def expected(self, fixture: dict[str, State]) -> dict[str, State]:
        merged = dict(fixture)
        for owner in self.owners:
            merged.update(owner.sessions)
        return merged

    async def checkpoint(self) -> bool:
        """Wait while the gate is closed; answer False once the run is over."""
        while not self.gate.is_set():
            self.parked += 1
            if self.parked == self.clients:
                self.all_parked.set()
            try:
                await self.gate.wait()
            finally:
                self.parked -= 1
        return not self.stopping

    async def run(self, fixture: dict[str, State]) -> None:
        for _ in range(KILLS):
            await asyncio.sleep(self.rng.uniform(*KILL_DELAY))
            # No await between closing the gate and the kill: the requests in flight now
            # are exactly those the kill interrupts.
            self.gate.clear()
            self.up.clear()
            self.all_parked.clear()
            os.killpg(self.server.process.pid, signal.SIGKILL)
            assert self.server.stop(signal.SIGKILL) == -signal.SIGKILL
            self.tally.kills += 1
            # The clients settle by listing every session at once: above the list cap.
            self.server = self.servers.start(ready=False, env=MANY_LISTS)
            await wait_ready(self.server)
            self.url = self.server.base_url
            self.up.set()
            await asyncio.wait_for(self.all_parked.wait(), 60)
            self.tally.checkpoints += 1
            self.tally.mismatches += await check_database(
                self.db, self.expected(fixture), f"after kill {self.tally.kills}"
            )
            self.gate.set()
        await asyncio.sleep(self.rng.uniform(*KILL_DELAY))
        self.stopping = True


class Owner:
    """One client task and the sessions it created: their last acknowledged states."""

    def __init__(self, index: int, killer: Killer, rng: random.Random) -> None:
        self.index = index
        self.killer = killer
        self.rng = rng
        self.sessions: dict[str, State] = {}
        self.deleted: set[str] = set()
        self.count = 0

    def name(self, what: str) -> str:
        self.count += 1
        return f"{what} {self.index}-{self.count}"

    async def run(self) -> None:
        async with httpx.AsyncClient(headers=HEADERS, timeout=30.0) as http:
            while await self.killer.checkpoint():
                await self.step(http)

    async def step(self, http: httpx.AsyncClient) -> None:
        tally = self.killer.tally
        live = list(self.sessions)
        roll = self.rng.random()
        session_id = ""
        if len(live) < 3 or (roll < 0.35 and len(live) < MAX_OWNED):
            kind = "create"
            body, after = create_body(self.rng, self.name("Created"))
            method, path = "POST", SESSIONS
        elif roll < 0.8:
            kind, session_id = "patch", self.rng.choice(live)
            body, after = patch_body(self.rng, self.sessions[session_id], self.name("Patched"))
            method, path = "PATCH", one(session_id)
        else:
            kind, session_id = "delete", self.rng.choice(live)
            body, after = {}, self.sessions[session_id]
            method, path = "DELETE", one(session_id)
        try:
            r = await http.request(method, self.killer.url + path, json=body or None)
        except httpx.TransportError as exc:
            if self.killer.gate.is_set():
                tally.mismatches.append(f"{kind} failed with no kill: {exc!r}")
            await self.killer.up.wait()
            await self.settle(http, kind, session_id, after)
            return
        if not 200 <= r.status_code < 300:
            # Every request is valid, and a kill never answers: a fault. Settle it too, so the
            # model stays exact for the checks that follow.
            tally.mismatches.append(f"{kind} answered {r.status_code}: {r.text}")
            await self.settle(http, kind, session_id, after)
            return
        tally.acknowledged[kind] += 1
        if kind == "create":
            self.sessions[r.json()["_id"]] = after
        elif kind == "patch":
            if api_state(r.json()) != after:
                tally.mismatches.append(f"PATCH {session_id} answered {r.text}, sent {body}")
            self.sessions[session_id] = after
        else:
            del self.sessions[session_id]
            self.deleted.add(session_id)

    async def settle(
        self, http: httpx.AsyncClient, kind: str, session_id: str, after: State
    ) -> None:
        """A write with no answer happened entirely or not at all: find which, adopt it."""
        tally = self.killer.tally
        url = self.killer.url
        if kind == "create":
            r = await http.get(url + LIST)
            assert r.status_code == 200, r.text
            made = [item for item in r.json() if item["sessionName"] == after.name]
            if not made:
                tally.uncertain["create not done"] += 1
                return
            if len(made) > 1 or api_state(made[0]) != after:
                tally.mismatches.append(f"uncertain create of {after} left {made}")
            tally.uncertain["create done"] += 1
            for item in made:
                self.sessions[item["sessionId"]] = api_state(item)
            return
        before = self.sessions[session_id]
        r = await http.get(url + one(session_id))
        if r.status_code == 404:
            if kind != "delete":
                tally.mismatches.append(f"uncertain {kind} of {session_id} lost the session")
            tally.uncertain[f"{kind} done"] += 1
            del self.sessions[session_id]
            self.deleted.add(session_id)
            return
        assert r.status_code == 200, r.text
        now = api_state(r.json())
        if now == before:
            tally.uncertain[f"{kind} not done"] += 1
        elif kind == "patch" and now == after:
            tally.uncertain[f"{kind} done"] += 1
        else:
            tally.mismatches.append(f"uncertain {kind} of {session_id}: {before} -> {now}")
        self.sessions[session_id] = now


async def test_no_acknowledged_write_is_lost_across_kills(
    database_url: str, servers: Servers
) -> None:
    started = time.monotonic()
    load_example(database_url)
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    db = await open_database(database_url, pg_pool_size=2)
    try:
        fixture, faults = await stored_sessions(db)
        assert faults == []
        killer = Killer(servers, db, KILL_WORKERS, random.Random(rng.random()))
        killer.owners = [Owner(i, killer, random.Random(rng.random())) for i in range(KILL_WORKERS)]
        async with asyncio.TaskGroup() as group:
            group.create_task(killer.run(fixture))
            for owner in killer.owners:
                group.create_task(owner.run())

        tally = killer.tally
        expected = killer.expected(fixture)
        deleted = set().union(*(owner.deleted for owner in killer.owners))
        tally.mismatches += await check_database(db, expected, "at the end")
        tally.mismatches += await check_api(killer.url, expected, deleted, "at the end")
    finally:
        await db.close()
    stop_cleanly(killer.server)
    for server in servers.started:
        tally.mismatches += log_faults(server)

    print(
        f"\n[kills, {backend(database_url)}] seed {seed}: {sum(tally.acknowledged.values())}"
        f" writes acknowledged ({dict(tally.acknowledged)}), {len(deleted)} sessions deleted,"
        f" {len(expected) - len(fixture)} live; {tally.kills} kills, uncertain writes settled:"
        f" {dict(tally.uncertain)}; {tally.checkpoints + 1} full database checks;"
        f" mismatches: {len(tally.mismatches)}; {time.monotonic() - started:.1f} s"
    )
    for mismatch in tally.mismatches[:20]:
        print("  ", mismatch)
    assert tally.kills >= 10
    assert sum(tally.uncertain.values()) > 0  # the kills did land on writes in flight
    assert tally.mismatches == []


# --- 2. Several workers ----------------------------------------------------------------------

WRITERS = 64
LOAD_SECONDS = 5.0
REQUESTS_PER_CONNECTION = 20


@dataclass
class Load:
    statuses: Counter[int] = field(default_factory=Counter)
    acknowledged: Counter[str] = field(default_factory=Counter)
    by_worker: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    transport_errors: int = 0
    sessions: dict[str, State] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)


class Connection:
    """HTTP/1.1 requests on one keep-alive connection, written and parsed by hand.

    httpx spends about a millisecond of CPU on each request: 64 writers on it in one process
    measured the client (~500 requests/s whatever the server), not the server. Our answers to
    writes always carry a Content-Length, which is all this needs to read them."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.preamble = (
            f"Host: {host}:{port}\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in HEADERS.items())
            + "Content-Type: application/json\r\n"
        ).encode()

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None, *, close: bool = False
    ) -> tuple[int, dict[str, str], bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        payload = b"" if body is None else json.dumps(body).encode()
        writer.write(
            f"{method} {path} HTTP/1.1\r\n".encode()
            + self.preamble
            + f"Content-Length: {len(payload)}\r\n".encode()
            + (b"Connection: close\r\n" if close else b"")
            + b"\r\n"
            + payload
        )
        try:
            lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            content = await reader.readexactly(int(headers.get("content-length", "0")))
        except BaseException:
            self.close()
            raise
        if close or headers.get("connection") == "close":
            self.close()
        return int(lines[0].split(" ", 2)[1]), headers, content

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def write_for(server: Server, index: int, deadline: float, load: Load) -> None:
    """Mostly creates, some PATCHes and deletes of the writer's own sessions."""
    rng = random.Random(index)
    mine: dict[str, State] = {}
    count = 0
    connection = Connection("127.0.0.1", server.port)
    while time.monotonic() < deadline:
        count += 1
        roll = rng.random()
        session_id = ""
        body: dict[str, Any] | None
        if len(mine) < 2 or roll < 0.7:
            kind = "create"
            body, after = create_body(rng, f"Writer {index}-{count}")
            method, path = "POST", SESSIONS
        elif roll < 0.9:
            kind, session_id = "patch", rng.choice(list(mine))
            body, after = patch_body(rng, mine[session_id], f"Patched {index}-{count}")
            method, path = "PATCH", one(session_id)
        else:
            kind, session_id = "delete", rng.choice(list(mine))
            body, after = None, mine[session_id]
            method, path = "DELETE", one(session_id)
        sent = time.perf_counter()
        try:
            # Closing the connection now and then makes the writer reconnect: new connections
            # are what the kernel spreads across the workers listening on the shared socket.
            status, headers, content = await connection.request(
                method, path, body, close=count % REQUESTS_PER_CONNECTION == 0
            )
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            load.transport_errors += 1
            load.failures.append(f"{kind}: {exc!r}")
            continue
        load.latencies.append(time.perf_counter() - sent)
        load.statuses[status] += 1
        # The request id starts with a random prefix per process: it names the worker.
        load.by_worker[headers.get("x-request-id", "")[:16]] += 1
        if not 200 <= status < 300:
            load.failures.append(f"{kind} {session_id}: {status} {content!r}")
            continue
        load.acknowledged[kind] += 1
        if kind == "create":
            mine[json.loads(content)["_id"]] = after
        elif kind == "patch":
            mine[session_id] = after
        else:
            del mine[session_id]
            load.deleted.add(session_id)
    connection.close()
    load.sessions.update(mine)


def server_durations(server: Server) -> list[float]:
    """Each request's time inside the server, from its access log, in milliseconds."""
    durations = []
    for line in server.stderr.splitlines():
        if '"logger":"pathsessions.access"' in line:
            found = re.search(r'"duration_ms":([0-9.]+)', line)
            if found:
                durations.append(float(found.group(1)))
    return sorted(durations)


def percentiles(ordered: list[float]) -> str:
    if not ordered:
        return "none"
    return (
        f"p50 {statistics.median(ordered):.1f}, p99 {ordered[len(ordered) * 99 // 100]:.1f},"
        f" max {ordered[-1]:.1f}"
    )


async def test_two_workers_share_one_database_under_64_writers(
    database_url: str, servers: Servers
) -> None:
    load_example(database_url)
    server = servers.start("serve", "--workers", "2")
    db = await open_database(database_url, pg_pool_size=2)
    try:
        fixture, faults = await stored_sessions(db)
        assert faults == []
        load = Load()
        started = time.monotonic()
        deadline = started + LOAD_SECONDS
        await asyncio.gather(*(write_for(server, i, deadline, load) for i in range(WRITERS)))
        elapsed = time.monotonic() - started
        expected = {**fixture, **load.sessions}
        lost = await check_database(db, expected, "database")
        lost += await check_api(server.base_url, expected, load.deleted, "API")
    finally:
        await db.close()
    pids = set(re.findall(r"Started server process \[(\d+)\]", server.stderr))
    stop_cleanly(server)
    in_logs = log_faults(server)

    requests = sum(load.statuses.values())
    errors = sum(n for status, n in load.statuses.items() if status >= 500)
    print(
        f"\n[2 workers, {backend(database_url)}] {WRITERS} writers, {requests} requests in"
        f" {elapsed:.1f} s ({requests / elapsed:.0f}/s): {dict(load.acknowledged)} acknowledged;"
        f" statuses {dict(load.statuses)}, 5xx: {errors},"
        f" transport errors: {load.transport_errors}; per worker {sorted(load.by_worker.values())};"
        f" latency ms, client {percentiles(sorted(x * 1000 for x in load.latencies))},"
        f" server {percentiles(server_durations(server))}; lost writes: {len(lost)};"
        f" log faults: {in_logs}"
    )
    for line in (load.failures + lost)[:20]:
        print("  ", line)
    assert len(pids) == 2, server.stderr
    assert len(load.by_worker) == 2  # both workers answered requests
    assert errors == 0
    assert load.failures == []
    assert in_logs == []
    assert lost == []
    assert load.acknowledged["create"] > 0
    assert load.acknowledged["patch"] > 0


# --- 3. PostgreSQL killed mid-write ------------------------------------------------------------

PG_STOPS = 3
PG_WRITERS = 8
PG_DOWN = (0.3, 1.0)  # seconds PostgreSQL stays down at each stop
PG_UP = (0.5, 1.5)  # seconds of writes between two stops


def postgres_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin directory with initdb and pg_ctl, if any."""
    found = [
        Path(d)
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if Path(d, "initdb").is_file() and Path(d, "pg_ctl").is_file()
    ]
    found.sort(key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)
    return found[-1] if found else None


class PrivateCluster:
    """A PostgreSQL instance of this test alone (initdb into a temporary directory, a free
    port, TCP on 127.0.0.1 only), so that stopping it harms no other test run. PostgreSQL
    refuses to run as root: as root, it runs as the `postgres` user."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.root = Path(tempfile.mkdtemp(prefix="pathsessions-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self.as_user, str(self.binaries / tool), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"{tool}: {done.stdout}\n{done.stderr}\n{self.logs()}"

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def init(self) -> None:
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
            " -c synchronous_commit=on -c fsync=on"
        )
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(AssertionError):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Written:
    """What one writer knows of its sessions: the state acknowledged last, or, after a write
    left unanswered by an outage, the two states it may have left."""

    sessions: dict[str, State] = field(default_factory=dict)
    unsure: dict[str, tuple[State | None, State]] = field(default_factory=dict)
    unsure_creates: list[State] = field(default_factory=list)
    acknowledged: Counter[str] = field(default_factory=Counter)
    refused: Counter[int] = field(default_factory=Counter)
    after_last_restart: int = 0


async def write_through_outages(
    base_url: str, index: int, stop: asyncio.Event, restarted: asyncio.Event, out: Written
) -> None:
    rng = random.Random(index)
    count = 0
    async with httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=30.0) as http:
        while not stop.is_set():
            count += 1
            if len(out.sessions) < 3 or rng.random() < 0.5:
                kind, session_id = "create", ""
                body, after = create_body(rng, f"PG {index}-{count}")
                request = http.post(SESSIONS, json=body)
            else:
                kind, session_id = "patch", rng.choice(list(out.sessions))
                before = out.sessions[session_id]
                body, after = patch_body(rng, before, f"PG patched {index}-{count}")
                request = http.patch(one(session_id), json=body)
            try:
                r = await request
            except httpx.TransportError:
                r = None
            if r is not None and r.status_code == 200:
                out.acknowledged[kind] += 1
                if restarted.is_set():
                    out.after_last_restart += 1
                out.sessions[r.json()["_id"] if kind == "create" else session_id] = after
                continue
            # Refused while PostgreSQL was down (503, the documented answer), or cut off:
            # done or not, never half; that session is written no more.
            out.refused[0 if r is None else r.status_code] += 1
            if kind == "create":
                out.unsure_creates.append(after)
            else:
                out.unsure[session_id] = (out.sessions.pop(session_id), after)
            await asyncio.sleep(0.05)


async def test_no_acknowledged_write_is_lost_when_postgresql_is_killed(tmp_path: Path) -> None:
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin")
    cluster = PrivateCluster(binaries)
    servers = Servers(cluster.url, tmp_path)
    rng = random.Random()
    try:
        cluster.init()
        cluster.start()
        load_example(cluster.url)
        server = servers.start()
        stop, restarted = asyncio.Event(), asyncio.Event()
        written = [Written() for _ in range(PG_WRITERS)]
        writers = [
            asyncio.create_task(write_through_outages(server.base_url, i, stop, restarted, w))
            for i, w in enumerate(written)
        ]
        for n in range(PG_STOPS):
            await asyncio.sleep(rng.uniform(*PG_UP))
            await asyncio.to_thread(cluster.stop, "immediate")  # mid-write: no checkpoint
            await asyncio.sleep(rng.uniform(*PG_DOWN))
            await asyncio.to_thread(cluster.start)
            if n == PG_STOPS - 1:
                restarted.set()
        # The same server process, never restarted, takes writes again.
        deadline = time.monotonic() + 20
        while sum(w.after_last_restart for w in written) < 20 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(*writers)
        assert server.process.poll() is None
        assert httpx.get(f"{server.base_url}/health").status_code == 200

        db = await open_database(cluster.url, pg_pool_size=1)
        try:
            stored, faults = await stored_sessions(db)
        finally:
            await db.close()
        lost = list(faults)
        for w in written:
            for session_id, state in w.sessions.items():
                if stored.get(session_id) != state:
                    lost.append(
                        f"acknowledged {session_id} {state}, stored {stored.get(session_id)}"
                    )
            for session_id, (before, after) in w.unsure.items():
                if stored.get(session_id) not in (before, after):
                    lost.append(
                        f"unsure {session_id}: {before} or {after}, stored {stored.get(session_id)}"
                    )
        by_name = {state.name: state for state in stored.values()}
        for w in written:
            for state in w.unsure_creates:
                if state.name in by_name and by_name[state.name] != state:
                    lost.append(f"a create half done: {state}, stored {by_name[state.name]}")
        acknowledged = sum((w.acknowledged for w in written), Counter[str]())
        refused = sum((w.refused for w in written), Counter[int]())
        print(
            f"\n[postgresql stops] {PG_STOPS} immediate stops; acknowledged {dict(acknowledged)},"
            f" refused or cut off {dict(refused)}, {sum(w.after_last_restart for w in written)}"
            f" after the last restart; lost: {len(lost)}"
        )
        for line in lost[:20]:
            print("  ", line)
        assert sum(w.after_last_restart for w in written) >= 20, server.stderr[-3000:]
        assert sum(refused.values()) > 0  # the stops did land on writes
        assert lost == []
        assert set(refused) <= {0, 503}, refused
        stop_cleanly(server)
        logs = server.stdout + server.stderr
        assert "Traceback" not in logs
    finally:
        for started in servers.started:
            started.kill_group()
        cluster.remove()
