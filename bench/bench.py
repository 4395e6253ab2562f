"""The benchmark: the real server against the raw ASGI ceiling, under the same wrk load.

One invocation seeds a fresh SQLite database in a temporary directory, serves it with
`pathsessions serve`, drives each scenario's requests with wrk, does the same against
bench/raw_app.py on the same uvicorn stack, and prints requests/s, p50, p99, failed answers and
our throughput as a share of the ceiling. Scenarios without a ceiling (a whole company's
sessions in one streamed answer) report sessions/s, the answer size and the server's memory
instead. See bench/README.md.

    .venv/bin/python bench/bench.py [--seconds 10] [--workers 1] [--connections 32]
                                    [--warmup 2] [--rounds 1] [--scenario NAME]
                                    [--no-access-log] [--json] [--keep]

Exit status: 0 when every request to our server got a 2xx answer without socket errors, 1 when
some did not, 2 when the benchmark could not run (wrk missing, a server that would not start),
130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from pathsessions.core.clock import SYSTEM_CLOCK
from pathsessions.core.keys import hash_key
from pathsessions.storage import Database, migrate, open_database

BENCH_DIR = Path(__file__).resolve().parent
# A fixed seed: the same ids, bodies and request order on every run, so runs compare.
SEED = 360
COMPANY_GROUPS = 100
COMPANY_USERS = 10_000
COMPANY_PATHS = 1_000
STARTUP_TIMEOUT = 30.0
# Beyond the run itself: wrk's own start-up and the last in-flight answers.
WRK_GRACE = 30.0
# The read scenarios' company: sized like a large customer, with few users and paths so that
# each path holds about 1,000 sessions.
READER_GROUPS = 5
READER_USERS = 100
READER_PATHS = 100
READER_SESSIONS = 100_000
# One probe request (outside the timed runs) may read a whole company's sessions.
PROBE_TIMEOUT = 120.0
# Between runs: how long to wait for a server to go idle, polling its CPU time this often, and
# the CPU share under which it counts as idle.
SETTLE_TIMEOUT = 60.0
SETTLE_POLL = 0.25
SETTLE_IDLE_SHARE = 0.05


class BenchError(Exception):
    """The benchmark could not run; the message says why."""


# --- The data set ----------------------------------------------------------------------------


@dataclass
class Dataset:
    """What the base seed step created: the ids scenarios draw their requests from."""

    company_id: str
    api_key: str
    group_ids: list[str]
    user_ids: list[str]
    user_mails: list[str]
    path_ids: list[str]
    # Whatever a scenario's own seed step wants its script to see, by name.
    extra: dict[str, Any] = field(default_factory=dict)


def object_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(96):024x}"


def make_dataset(rng: random.Random) -> Dataset:
    return Dataset(
        company_id=object_id(rng),
        # Only ever sent to 127.0.0.1; a seeded key keeps the generated scripts reproducible.
        api_key=f"bench-{rng.getrandbits(128):032x}",
        group_ids=[object_id(rng) for _ in range(COMPANY_GROUPS)],
        user_ids=[object_id(rng) for _ in range(COMPANY_USERS)],
        user_mails=[f"user{i:05d}@example.com" for i in range(COMPANY_USERS)],
        path_ids=[object_id(rng) for _ in range(COMPANY_PATHS)],
    )


async def seed_base(db: Database, data: Dataset, rng: random.Random) -> None:
    """One company with its key, groups, users and paths, in one transaction.

    Straight SQL with executemany rather than the fixture loader: the loader looks every object
    up before writing it, which is right for operators and minutes too slow for 11,000 rows.
    """
    now = SYSTEM_CLOCK.now_ms()
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO companies (id, name, owner_user_id, created_at) VALUES (?, ?, ?, ?)",
            [(data.company_id, "Bench company", data.user_ids[0], now)],
        )
        await tx.executemany(
            "INSERT INTO api_keys (id, company_id, key_hash, label, created_at, revoked_at)"
            " VALUES (?, ?, ?, ?, ?, NULL)",
            [(object_id(rng), data.company_id, hash_key(data.api_key), "bench", now)],
        )
        await tx.executemany(
            "INSERT INTO company_groups (id, company_id, name, public, parent_id, created_at)"
            " VALUES (?, ?, ?, ?, NULL, ?)",
            [
                (group_id, data.company_id, f"Group {i}", True, now)
                for i, group_id in enumerate(data.group_ids)
            ],
        )
        await tx.executemany(
            "INSERT INTO users (id, company_id, mail, mail_key, first_name, last_name, status,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?)",
            [
                (user_id, data.company_id, mail, mail, "Bench", f"User {i}", now)
                for i, (user_id, mail) in enumerate(
                    zip(data.user_ids, data.user_mails, strict=True)
                )
            ],
        )
        await tx.executemany(
            "INSERT INTO paths (id, company_id, name, group_id, status, created_at, modified_at)"
            " VALUES (?, ?, ?, ?, 'published', ?, ?)",
            [
                (path_id, data.company_id, f"Path {i}", rng.choice(data.group_ids), now, now)
                for i, path_id in enumerate(data.path_ids)
            ],
        )


class ObjectIds:
    """Ids in MongoDB's ObjectId layout: 4-byte creation second, 5 random bytes fixed per
    process, 3-byte counter.

    Creation seconds that grow with creation order make id order creation order, as on the real
    service: keyset scans and index inserts then walk the ids the way they would in production,
    not in the uniform random order of `object_id`.
    """

    def __init__(self, rng: random.Random) -> None:
        self._process = rng.getrandbits(40)
        self._counter = rng.getrandbits(24)

    def at(self, second: int) -> str:
        self._counter = (self._counter + 1) & 0xFFFFFF
        return f"{second:08x}{self._process:010x}{self._counter:06x}"


@dataclass(frozen=True)
class Credential:
    """A v2 API credential, seeded straight into the table as `pathsessions credential`
    would write it: the secret hashed like an API key."""

    id: str
    client_id: str
    client_secret: str

    @classmethod
    def make(cls, rng: random.Random) -> Credential:
        return cls(
            id=object_id(rng),
            client_id=f"{rng.getrandbits(128):032x}",
            client_secret=f"bench-secret-{rng.getrandbits(128):032x}",
        )


V2_READ_SCOPES = "paths:read groups:read users:read pathStats:read"


async def seed_credential(db: Database, company_id: str, credential: Credential, at: int) -> None:
    await db.executemany(
        "INSERT INTO api_credentials (id, company_id, client_id, secret_hash, name, scopes,"
        " created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
        [
            (
                credential.id,
                company_id,
                credential.client_id,
                hash_key(credential.client_secret),
                "bench",
                V2_READ_SCOPES,
                at,
            )
        ],
    )


@dataclass(frozen=True)
class Reader:
    """The read scenarios' company: its credentials and its sessions' ids, in id order."""

    company_id: str
    api_key: str
    session_ids: list[str]
    # The path of each session of `session_ids`, in the same order (v2 URLs name both).
    path_ids: list[str]
    # A v2 API credential with every read scope.
    client_id: str
    client_secret: str


READER = "reader"
# 2023-01-01T00:00:00Z: sessions are created over the two years that follow.
READER_EPOCH = 1_672_531_200
READER_SPAN = 2 * 365 * 86_400
DAY_MS = 86_400_000


async def seed_reader(db: Database, data: Dataset, rng: random.Random) -> None:
    """A second company holding READER_SESSIONS sessions, for the read scenarios.

    Shared by every scenario that reads it and written once, whichever of them run. A company of
    its own keeps create-session's measurements where they were, and keeps the sessions it writes
    out of the answers measured here. It has its own random generator, so its data does not
    depend on which other scenarios seeded before it.
    """
    if READER in data.extra:
        return
    rng = random.Random(f"{SEED}-{READER}")
    # Its own generator too, so that adding it left the reader's data as it was.
    credential = Credential.make(random.Random(f"{SEED}-{READER}-v2"))
    ids = ObjectIds(rng)
    # The company and its directory exist before its first session.
    second = READER_EPOCH - 86_400
    company_id = ids.at(second)
    api_key = f"bench-reader-{rng.getrandbits(128):032x}"
    group_ids = [ids.at(second) for _ in range(READER_GROUPS)]
    user_ids = [ids.at(second) for _ in range(READER_USERS)]
    mails = [f"reader{i:03d}@example.com" for i in range(READER_USERS)]
    path_ids = [ids.at(second) for _ in range(READER_PATHS)]
    created_ms = second * 1000

    step = READER_SPAN // READER_SESSIONS
    session_ids: list[str] = []
    sessions: list[tuple[object, ...]] = []
    instructors: list[tuple[str, int, str]] = []
    for i in range(READER_SESSIONS):
        # Disjoint windows: strictly increasing seconds, so id order is creation order.
        created = READER_EPOCH + i * step + rng.randrange(step)
        session_id = ids.at(created)
        session_ids.append(session_id)
        start = (created + rng.randrange(1, 90) * 86_400) * 1000
        end = start + rng.choice((DAY_MS // 3, DAY_MS, 3 * DAY_MS)) if rng.random() < 0.6 else None
        info = f"Reg. READ-{i:06d}" if rng.random() < 0.3 else None
        sessions.append(
            (
                session_id,
                company_id,
                rng.choice(path_ids),
                f"Session {i}",
                start,
                end,
                rng.choice(group_ids),
                info,
                created * 1000,
                created * 1000,
            )
        )
        for position, user_id in enumerate(rng.sample(user_ids, rng.choice((1, 1, 2)))):
            instructors.append((session_id, position, user_id))

    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO companies (id, name, owner_user_id, created_at) VALUES (?, ?, ?, ?)",
            [(company_id, "Reader company", user_ids[0], created_ms)],
        )
        await tx.executemany(
            "INSERT INTO api_keys (id, company_id, key_hash, label, created_at, revoked_at)"
            " VALUES (?, ?, ?, ?, ?, NULL)",
            [(ids.at(second), company_id, hash_key(api_key), "bench reader", created_ms)],
        )
        await tx.executemany(
            "INSERT INTO company_groups (id, company_id, name, public, parent_id, created_at)"
            " VALUES (?, ?, ?, ?, NULL, ?)",
            [
                (g, company_id, f"Reader group {i}", True, created_ms)
                for i, g in enumerate(group_ids)
            ],
        )
        await tx.executemany(
            "INSERT INTO users (id, company_id, mail, mail_key, first_name, last_name, status,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?)",
            [
                (user_id, company_id, mail, mail, "Reader", f"User {i}", created_ms)
                for i, (user_id, mail) in enumerate(zip(user_ids, mails, strict=True))
            ],
        )
        await tx.executemany(
            "INSERT INTO paths (id, company_id, name, group_id, status, created_at, modified_at)"
            " VALUES (?, ?, ?, ?, 'published', ?, ?)",
            [
                (p, company_id, f"Reader path {i}", rng.choice(group_ids), created_ms, created_ms)
                for i, p in enumerate(path_ids)
            ],
        )
        await tx.executemany(
            "INSERT INTO path_sessions (id, company_id, path_id, name, start_date, end_date,"
            " owner_group_id, additional_information, created_at, modified_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            sessions,
        )
        await tx.executemany(
            "INSERT INTO session_instructors (session_id, position, user_id) VALUES (?, ?, ?)",
            instructors,
        )
        await seed_credential(tx, company_id, credential, created_ms)
    # The order the listing answers in, whatever order the ids were made in.
    ordered = sorted((str(row[0]), str(row[2])) for row in sessions)
    data.extra[READER] = Reader(
        company_id=company_id,
        api_key=api_key,
        session_ids=[session_id for session_id, _ in ordered],
        path_ids=[path_id for _, path_id in ordered],
        client_id=credential.client_id,
        client_secret=credential.client_secret,
    )


def reader(data: Dataset) -> Reader:
    found = data.extra.get(READER)
    if not isinstance(found, Reader):
        raise RuntimeError("the scenario needs seed_reader as its seed step")
    return found


async def count_sessions(url: str) -> int:
    db = await open_database(url)
    try:
        row = await db.fetchone("SELECT COUNT(*) FROM path_sessions")
        return int(row[0]) if row is not None else 0
    finally:
        await db.close()


# --- Scenarios -------------------------------------------------------------------------------


SeedStep = Callable[[Database, Dataset, random.Random], Awaitable[None]]


@dataclass(frozen=True)
class Probe:
    """One request sent before the timed runs, its answer read whole and checked.

    `items` is how many sessions the answer holds; `problem` says what was wrong with it, if
    anything (the benchmark then fails as for a non-2xx answer).
    """

    answer_bytes: int
    items: int
    seconds: float
    detail: str = ""
    problem: str | None = None


ProbeStep = Callable[[int, Dataset], Probe]
PrepareStep = Callable[[int, Dataset], None]


@dataclass(frozen=True)
class Scenario:
    """One load shape: its extra data, and the wrk script that sends its requests.

    `script` answers the Lua source for a seeded data set; it defines `init` and `request` and
    must leave `setup`, `response` and `done` free (the warm-up run adds its own). `seed` runs
    after the base seed and before any server starts; data a scenario adds should live in its
    own company so that it does not change what the other scenarios measure, and a seed step
    shared by several scenarios must write its data only once (it gets the same `Dataset`).

    `connections` and `timeout` (wrk's, in seconds) override the command line's for this
    scenario; `ceiling` false skips the raw app, for loads it cannot stand for; `prepare` runs
    against our running server before any script is made (a bearer token, a URL that only
    following links reaches), keeping what it finds in `Dataset.extra`; `probe` sends one
    request on our server before the timed runs and checks its answer.
    """

    name: str
    description: str
    script: Callable[[Dataset], str]
    seed: SeedStep | None = None
    connections: int | None = None
    timeout: int | None = None
    ceiling: bool = True
    prepare: PrepareStep | None = None
    probe: ProbeStep | None = None


def lua_strings(values: Sequence[str]) -> str:
    """A Lua table of string literals. JSON string syntax is valid Lua for printable ASCII."""
    for value in values:
        if not value.isascii() or not value.isprintable():
            raise ValueError(f"not a plain ASCII string: {value!r}")
    return "{" + ",".join(json.dumps(value) for value in values) + "}"


def lua_auth_headers(company_id: str, api_key: str, *, json_body: bool = True) -> str:
    content_type = '["Content-Type"] = "application/json", ' if json_body else ""
    return (
        f"{{{content_type}"
        f'["X-company-id"] = {json.dumps(company_id)}, '
        f'["X-apiKey"] = {json.dumps(api_key)}}}'
    )


CREATE_SESSION_LUA = string.Template(
    """\
-- Generated by bench/bench.py (scenario create-session): random seeded path, owner group and
-- instructor per request, a ~250-byte JSON body.
local paths = $paths
local groups = $groups
local mails = $mails
local headers = $headers
local counter = 0

function init(args)
  math.randomseed($seed)
end

function request()
  counter = counter + 1
  local month = math.random(1, 12)
  local day = math.random(1, 28)
  local body = string.format(
    '{"sessionName":"Onboarding %d","startDate":"2025-%02d-%02dT09:00:00.000Z",' ..
    '"endDate":"2025-%02d-%02dT17:30:00.000Z","sessionOwnerGroup":"%s",' ..
    '"instructorsMails":["%s"],' ..
    '"sessionAdditionalInformation":"Reg. BENCH-%07d"}',
    counter, month, day, month, day,
    groups[math.random(#groups)], mails[math.random(#mails)], counter)
  local path = "/api/v1/paths/" .. paths[math.random(#paths)] .. "/sessions/"
  return wrk.format("POST", path, headers, body)
end
"""
)


def create_session_script(data: Dataset) -> str:
    return CREATE_SESSION_LUA.substitute(
        paths=lua_strings(data.path_ids),
        groups=lua_strings(data.group_ids),
        mails=lua_strings(data.user_mails),
        headers=lua_auth_headers(data.company_id, data.api_key),
        seed=SEED,
    )


GET_SESSION_LUA = string.Template(
    """\
-- Generated by bench/bench.py (scenario get-session): one of the reader company's $count
-- sessions per request, drawn at random, so the reads spread over the whole table.
local ids = $ids
local headers = $headers

function init(args)
  math.randomseed($seed)
end

function request()
  return wrk.format("GET", "/api/v1/paths/sessions/" .. ids[math.random(#ids)], headers)
end
"""
)


def get_session_script(data: Dataset) -> str:
    company = reader(data)
    return GET_SESSION_LUA.substitute(
        count=f"{len(company.session_ids):,}",
        ids=lua_strings(company.session_ids),
        headers=lua_auth_headers(company.company_id, company.api_key, json_body=False),
        seed=SEED,
    )


FIXED_GET_LUA = string.Template(
    """\
-- Generated by bench/bench.py (scenario $name): the same request every time.
local req

function init(args)
  req = wrk.format("GET", $path, $headers)
end

function request()
  return req
end
"""
)


def list_sessions_script(data: Dataset) -> str:
    company = reader(data)
    return FIXED_GET_LUA.substitute(
        name="list-sessions",
        path=json.dumps("/api/v1/paths/sessions"),
        headers=lua_auth_headers(company.company_id, company.api_key, json_body=False),
    )


def fetch(port: int, path: str, company: Reader) -> tuple[int, bytes, float]:
    """GET `path` as the reader company: status, whole body, seconds."""
    headers = {"X-company-id": company.company_id, "X-apiKey": company.api_key}
    status, _, body, seconds = request(port, "GET", path, headers)
    return status, body, seconds


def probe_get_session(port: int, data: Dataset) -> Probe:
    company = reader(data)
    session_id = company.session_ids[len(company.session_ids) // 2]
    status, body, seconds = fetch(port, f"/api/v1/paths/sessions/{session_id}", company)
    probe = Probe(len(body), 1, seconds)
    if status != 200:
        return replace(probe, problem=f"status {status}: {body[:300]!r}")
    try:
        answer = json.loads(body)
        path_id = answer["path"]["_id"]
    except (ValueError, KeyError, TypeError) as error:
        return replace(probe, problem=f"not a session with its path ({error!r}): {body[:300]!r}")
    if answer.get("sessionId") != session_id or answer.get("pathId") != path_id:
        return replace(probe, problem=f"not session {session_id} with its path: {body[:300]!r}")
    return replace(probe, detail=f"{len(answer['instructorsMails'])} instructor(s)")


def probe_list_sessions(port: int, data: Dataset) -> Probe:
    company = reader(data)
    status, body, seconds = fetch(port, "/api/v1/paths/sessions", company)
    probe = Probe(len(body), 0, seconds)
    if status != 200:
        return replace(probe, problem=f"status {status}: {body[:300]!r}")
    try:
        items = json.loads(body)
        ids = [item["sessionId"] for item in items]
    except (ValueError, KeyError, TypeError) as error:
        return replace(probe, problem=f"not a JSON array of sessions: {error!r}")
    probe = replace(probe, items=len(ids))
    if ids != company.session_ids:
        return replace(
            probe,
            problem=f"{len(ids):,} items, not the {len(company.session_ids):,} seeded sessions"
            " in id order",
        )
    return probe


# --- v2 -------------------------------------------------------------------------------------

DEEP = "deep"
DEEP_SESSIONS = 100_000
V2_PATH_PAGE = 100  # sessions of a path, a page (the v2 contract)
# The last page of the deep path: what keyset pagination must answer at page 1's cost.
DEEP_PAGE = DEEP_SESSIONS // V2_PATH_PAGE
V2_TOKEN = "v2-token"  # noqa: S105 (the name of a key in Dataset.extra)
DEEP_PAGE_URL = "deep-page-url"


@dataclass(frozen=True)
class Deep:
    """A company whose one path holds DEEP_SESSIONS sessions, for v2's pages deep in a path."""

    company_id: str
    path_id: str
    credential: Credential
    session_ids: list[str]


async def seed_deep(db: Database, data: Dataset, rng: random.Random) -> None:
    if DEEP in data.extra:
        return
    rng = random.Random(f"{SEED}-{DEEP}")
    ids = ObjectIds(rng)
    second = READER_EPOCH - 86_400
    company_id, group_id, owner_id, path_id = (ids.at(second) for _ in range(4))
    credential = Credential.make(rng)
    created_ms = second * 1000
    step = READER_SPAN // DEEP_SESSIONS
    sessions: list[tuple[object, ...]] = []
    for i in range(DEEP_SESSIONS):
        created = READER_EPOCH + i * step + rng.randrange(step)
        start = (created + rng.randrange(1, 90) * 86_400) * 1000
        sessions.append(
            (
                ids.at(created),
                company_id,
                path_id,
                f"Deep session {i}",
                start,
                start + DAY_MS,
                group_id,
                None,
                created * 1000,
                created * 1000,
            )
        )
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO companies (id, name, owner_user_id, created_at) VALUES (?, ?, ?, ?)",
            company_id,
            "Deep company",
            owner_id,
            created_ms,
        )
        await tx.execute(
            "INSERT INTO company_groups (id, company_id, name, public, parent_id, created_at)"
            " VALUES (?, ?, ?, ?, NULL, ?)",
            group_id,
            company_id,
            "Deep group",
            True,
            created_ms,
        )
        await tx.execute(
            "INSERT INTO users (id, company_id, mail, mail_key, first_name, last_name, status,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?)",
            owner_id,
            company_id,
            "deep@example.com",
            "deep@example.com",
            "Deep",
            "Owner",
            created_ms,
        )
        await tx.execute(
            "INSERT INTO paths (id, company_id, name, group_id, status, created_at, modified_at)"
            " VALUES (?, ?, ?, ?, 'published', ?, ?)",
            path_id,
            company_id,
            "Deep path",
            group_id,
            created_ms,
            created_ms,
        )
        await tx.executemany(
            "INSERT INTO path_sessions (id, company_id, path_id, name, start_date, end_date,"
            " owner_group_id, additional_information, created_at, modified_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            sessions,
        )
        await tx.executemany(
            "INSERT INTO session_instructors (session_id, position, user_id) VALUES (?, ?, ?)",
            [(row[0], 0, owner_id) for row in sessions],
        )
        await seed_credential(tx, company_id, credential, created_ms)
    data.extra[DEEP] = Deep(company_id, path_id, credential, sorted(str(r[0]) for r in sessions))


def deep(data: Dataset) -> Deep:
    found = data.extra.get(DEEP)
    if not isinstance(found, Deep):
        raise RuntimeError("the scenario needs seed_deep as its seed step")
    return found


def request(
    port: int, method: str, path: str, headers: dict[str, str], body: Any = None
) -> tuple[int, http.client.HTTPMessage, bytes, float]:
    """One request to 127.0.0.1 outside the timed runs: status, headers, whole body, seconds."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT)
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers = {**headers, "Content-Type": "application/json"}
    started = time.monotonic()
    try:
        conn.request(method, path, body=payload, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
    except OSError as error:
        raise BenchError(f"{method} {path} failed: {error}") from None
    finally:
        conn.close()
    return answer.status, answer.headers, data, time.monotonic() - started


def v2_request(
    port: int, method: str, path: str, token: str | None = None, body: Any = None
) -> tuple[int, http.client.HTTPMessage, bytes, float]:
    headers = {"360-api-version": "v2.0"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return request(port, method, path, headers, body)


def v2_token(port: int, credential: Credential) -> str:
    status, _, body, _ = v2_request(
        port,
        "POST",
        "/api/v2/oauth2/token",
        body={
            "grant_type": "client_credentials",
            "client_id": credential.client_id,
            "client_secret": credential.client_secret,
        },
    )
    if status != 200:
        raise BenchError(f"no v2 token: status {status}: {body[:300]!r}")
    return str(json.loads(body)["access_token"])


_NEXT = re.compile(r'<https?://[^/>]+(/[^>]*)>;\s*rel="next"')


def next_page(headers: http.client.HTTPMessage) -> str | None:
    """The path and query of the `Link: <…>; rel="next"` URL, if there is one."""
    match = _NEXT.search(headers.get("link") or "")
    return None if match is None else match.group(1)


def prepare_reader_v2(port: int, data: Dataset) -> None:
    company = reader(data)
    credential = Credential("", company.client_id, company.client_secret)
    data.extra[f"{READER}-{V2_TOKEN}"] = v2_token(port, credential)


def prepare_deep(port: int, data: Dataset) -> None:
    """A token, and the URL of the deep path's last page, reached by following its links (a
    `next` token is opaque: the only way to page N is through pages 1 to N-1)."""
    company = deep(data)
    if DEEP_PAGE_URL in data.extra:
        return
    token = v2_token(port, company.credential)
    data.extra[f"{DEEP}-{V2_TOKEN}"] = token
    url: str | None = f"/api/v2/paths/{company.path_id}/sessions"
    for page in range(1, DEEP_PAGE):
        assert url is not None
        status, headers, body, _ = v2_request(port, "GET", url, token)
        if status != 200:
            raise BenchError(f"page {page} of the deep path: status {status}: {body[:300]!r}")
        url = next_page(headers)
        if url is None:
            raise BenchError(f"the deep path has no page after page {page}")
    data.extra[DEEP_PAGE_URL] = url


def lua_bearer_headers(token: str) -> str:
    return f'{{["Authorization"] = {json.dumps("Bearer " + token)}, ["360-api-version"] = "v2.0"}}'


V2_GET_SESSION_LUA = string.Template(
    """\
-- Generated by bench/bench.py (scenario v2-get-session): one of the reader company's $count
-- sessions per request, drawn at random, through v2.
local ids = $ids
local paths = $paths
local headers = $headers

function init(args)
  math.randomseed($seed)
end

function request()
  local i = math.random(#ids)
  return wrk.format("GET", "/api/v2/paths/" .. paths[i] .. "/sessions/" .. ids[i], headers)
end
"""
)


def v2_get_session_script(data: Dataset) -> str:
    company = reader(data)
    return V2_GET_SESSION_LUA.substitute(
        count=f"{len(company.session_ids):,}",
        ids=lua_strings(company.session_ids),
        paths=lua_strings(company.path_ids),
        headers=lua_bearer_headers(data.extra[f"{READER}-{V2_TOKEN}"]),
        seed=SEED,
    )


def v2_first_page_script(data: Dataset) -> str:
    company = deep(data)
    return FIXED_GET_LUA.substitute(
        name="v2-path-page-1",
        path=json.dumps(f"/api/v2/paths/{company.path_id}/sessions"),
        headers=lua_bearer_headers(data.extra[f"{DEEP}-{V2_TOKEN}"]),
    )


def v2_deep_page_script(data: Dataset) -> str:
    return FIXED_GET_LUA.substitute(
        name=f"v2-path-page-{DEEP_PAGE}",
        path=json.dumps(data.extra[DEEP_PAGE_URL]),
        headers=lua_bearer_headers(data.extra[f"{DEEP}-{V2_TOKEN}"]),
    )


def probe_v2_get_session(port: int, data: Dataset) -> Probe:
    company = reader(data)
    middle = len(company.session_ids) // 2
    session_id, path_id = company.session_ids[middle], company.path_ids[middle]
    token = data.extra[f"{READER}-{V2_TOKEN}"]
    url = f"/api/v2/paths/{path_id}/sessions/{session_id}"
    status, _, body, seconds = v2_request(port, "GET", url, token)
    probe = Probe(len(body), 1, seconds)
    if status != 200:
        return replace(probe, problem=f"status {status}: {body[:300]!r}")
    try:
        answer = json.loads(body)
    except ValueError as error:
        return replace(probe, problem=f"not JSON ({error!r}): {body[:300]!r}")
    if not isinstance(answer, dict) or (answer.get("_id"), answer.get("pathId")) != (
        session_id,
        path_id,
    ):
        return replace(probe, problem=f"not session {session_id} of {path_id}: {body[:300]!r}")
    return probe


def probe_page(port: int, path: str, token: str, expected: list[str], last: bool) -> Probe:
    status, headers, body, seconds = v2_request(port, "GET", path, token)
    probe = Probe(len(body), 0, seconds)
    if status != 200:
        return replace(probe, problem=f"status {status}: {body[:300]!r}")
    try:
        ids = [item["_id"] for item in json.loads(body)]
    except (ValueError, KeyError, TypeError) as error:
        return replace(probe, problem=f"not a JSON array of sessions: {error!r}")
    probe = replace(probe, items=len(ids))
    if ids != expected:
        return replace(probe, problem=f"{len(ids)} sessions, not the {len(expected)} expected")
    if (next_page(headers) is None) != last:
        return replace(probe, problem="a Link header on the last page, or none before it")
    return probe


def probe_first_page(port: int, data: Dataset) -> Probe:
    company = deep(data)
    return probe_page(
        port,
        f"/api/v2/paths/{company.path_id}/sessions",
        data.extra[f"{DEEP}-{V2_TOKEN}"],
        company.session_ids[:V2_PATH_PAGE],
        last=False,
    )


def probe_deep_page(port: int, data: Dataset) -> Probe:
    company = deep(data)
    return probe_page(
        port,
        data.extra[DEEP_PAGE_URL],
        data.extra[f"{DEEP}-{V2_TOKEN}"],
        company.session_ids[-V2_PATH_PAGE:],
        last=True,
    )


SCENARIOS = [
    Scenario(
        name="create-session",
        description="POST /api/v1/paths/{pathId}/sessions/, one instructor, ~250-byte body",
        script=create_session_script,
    ),
    Scenario(
        name="get-session",
        description=f"GET /api/v1/paths/sessions/{{sessionId}}, one of {READER_SESSIONS:,}",
        script=get_session_script,
        seed=seed_reader,
        probe=probe_get_session,
    ),
    # One answer is tens of MB and takes seconds: a few connections are enough to keep the
    # server busy, wrk's default 2 s timeout would count every answer as an error, and the raw
    # app's 34-byte answer says nothing about it.
    Scenario(
        name="list-sessions",
        description=f"GET /api/v1/paths/sessions, {READER_SESSIONS:,} sessions in one answer",
        script=list_sessions_script,
        seed=seed_reader,
        connections=4,
        timeout=30,
        ceiling=False,
        probe=probe_list_sessions,
    ),
    Scenario(
        name="v2-get-session",
        description=f"GET /api/v2/paths/{{pathId}}/sessions/{{sessionId}}, one of"
        f" {READER_SESSIONS:,}",
        script=v2_get_session_script,
        seed=seed_reader,
        prepare=prepare_reader_v2,
        probe=probe_v2_get_session,
    ),
    Scenario(
        name="v2-path-page-1",
        description=f"GET /api/v2/paths/{{pathId}}/sessions, the first page of {DEEP_SESSIONS:,}",
        script=v2_first_page_script,
        seed=seed_deep,
        prepare=prepare_deep,
        probe=probe_first_page,
    ),
    Scenario(
        name=f"v2-path-page-{DEEP_PAGE}",
        description=f"the same path's page {DEEP_PAGE:,} (its last), by its `next` link",
        script=v2_deep_page_script,
        seed=seed_deep,
        prepare=prepare_deep,
        probe=probe_deep_page,
    ),
]

# Appended to warm-up scripts only: a Lua `response` hook costs wrk time on every answer, which
# would lower both measured runs. It reports the first failed answer, to say why a run fails.
CHECK_LUA = """
-- Added by bench/bench.py for the warm-up run.
bench_failures = 0
bench_first_failure = ""
local bench_threads = {}

function setup(thread)
  table.insert(bench_threads, thread)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    bench_failures = bench_failures + 1
    if bench_first_failure == "" then
      bench_first_failure = status .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

function done(summary, latency, requests)
  for _, thread in ipairs(bench_threads) do
    io.write(string.format("bench-check failures=%d first=%s\\n",
      thread:get("bench_failures"), thread:get("bench_first_failure")))
  end
end
"""


# --- wrk -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    # Every byte received, answers cut off at the end of the run included.
    bytes_read: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: dict[str, int]
    output: str

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values())


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION = r"([\d.]+)(us|ms|s|m|h)"
# wrk prints byte counts in binary units with two decimals.
_UNIT_BYTES = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}


def _duration_ms(value: str, unit: str) -> float:
    return float(value) * _UNIT_MS[unit]


def parse_wrk(output: str) -> WrkResult:
    """Read wrk's `--latency` report (wrk 4.x text format)."""

    def find(pattern: str) -> re.Match[str]:
        m = re.search(pattern, output, re.MULTILINE)
        if m is None:
            raise BenchError(f"unexpected wrk output (no match for {pattern!r}):\n{output}")
        return m

    total = find(r"^\s*(\d+) requests in " + _DURATION + r", ([\d.]+)([KMGT]?B) read")
    p50 = find(r"^\s*50%\s+" + _DURATION + r"\s*$")
    p99 = find(r"^\s*99%\s+" + _DURATION + r"\s*$")
    rate = find(r"^Requests/sec:\s+([\d.]+)")
    # wrk prints these two lines only when their counts are not all zero.
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    kinds = ("connect", "read", "write", "timeout")
    return WrkResult(
        requests=int(total.group(1)),
        seconds=_duration_ms(total.group(2), total.group(3)) / 1000,
        bytes_read=round(float(total.group(4)) * _UNIT_BYTES[total.group(5)]),
        requests_per_second=float(rate.group(1)),
        p50_ms=_duration_ms(p50.group(1), p50.group(2)),
        p99_ms=_duration_ms(p99.group(1), p99.group(2)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors={k: int(socket.group(i + 1)) if socket else 0 for i, k in enumerate(kinds)},
        output=output,
    )


@dataclass(frozen=True)
class Load:
    """wrk's options for one scenario."""

    connections: int
    seconds: int
    timeout: int | None

    def options(self) -> list[str]:
        return ["-t1", f"-c{self.connections}", f"-d{self.seconds}s", *self._timeout(), "--latency"]

    def differences(self, other: Load) -> str:
        connections = [f"-c{self.connections}"] if self.connections != other.connections else []
        return " ".join(connections + self._timeout())

    def _timeout(self) -> list[str]:
        return ["--timeout", f"{self.timeout}s"] if self.timeout is not None else []


def run_wrk(wrk: str, script: Path, port: int, load: Load) -> str:
    command = [wrk, *load.options(), "-s", str(script), f"http://127.0.0.1:{port}/"]
    limit = load.seconds + WRK_GRACE
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {limit:.0f}s") from None
    if done.returncode != 0:
        raise BenchError(f"wrk failed with status {done.returncode}:\n{done.stderr}{done.stdout}")
    return done.stdout


def warm_up(wrk: str, script: Path, port: int, load: Load) -> str | None:
    """An unmeasured run; answers a description of its failed answers, if any."""
    output = run_wrk(wrk, script, port, load)
    m = re.search(r"^bench-check failures=(\d+) first=(.*)", output, re.MULTILINE | re.DOTALL)
    if m is None or m.group(1) == "0":
        return None
    return f"{m.group(1)} failed answers, the first: {m.group(2).strip()}"


# --- Servers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    name: str
    label: str
    command: list[str]
    env: dict[str, str]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and its worker processes: they share the process group we gave it."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(wait)
    # A worker can outlive a supervisor that died first; the group id still reaches it.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@dataclass(frozen=True)
class Running:
    server: Server
    port: int
    pid: int


@contextlib.contextmanager
def serving(server: Server, log: Path) -> Iterator[Running]:
    """Start `server` on a free port, wait until it answers GET /health, yield where it runs."""
    port = free_port()
    with log.open("ab") as out:
        # A session of its own: the terminal's Ctrl-C reaches only us, and we stop the server
        # after wrk; killpg then reaches every worker uvicorn forks and no other process.
        process = subprocess.Popen(
            [*server.command, "--host", "127.0.0.1", "--port", str(port)],
            env=server.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not healthy(port):
            if process.poll() is not None:
                raise BenchError(
                    f"{server.label} exited with status {process.returncode}:\n{log_tail(log)}"
                )
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{server.label} did not answer GET /health within {STARTUP_TIMEOUT:.0f}s:\n"
                    + log_tail(log)
                )
            time.sleep(0.05)
        yield Running(server, port, process.pid)
    finally:
        stop(process)


@dataclass(frozen=True)
class Memory:
    """The server's largest process, in kB: with several workers, the biggest of them."""

    peak_rss_kb: int  # VmHWM: the most it has ever held resident, since it started
    rss_kb: int  # VmRSS: now
    processes: int


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants: uvicorn's supervisor forks its workers as children."""
    tree, queue = [], [pid]
    while queue:
        current = queue.pop()
        tree.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                queue.extend(int(child) for child in children.read_text().split())
    return tree


def status_kb(pid: int, field_name: str) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.MULTILINE)
    return int(m.group(1)) if m else None


def server_memory(pid: int) -> Memory | None:
    """None where there is no /proc (not Linux) or the server has gone."""
    peaks, rss = [], []
    for process in process_tree(pid):
        peak, now = status_kb(process, "VmHWM"), status_kb(process, "VmRSS")
        if peak is not None and now is not None:
            peaks.append(peak)
            rss.append(now)
    if not peaks:
        return None
    return Memory(max(peaks), max(rss), len(peaks))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and its descendants so far."""
    ticks = 0
    for process in process_tree(pid):
        try:
            stat = Path(f"/proc/{process}/stat").read_text()
        except OSError:
            continue
        # Fields after the command name, which sits in parentheses and may hold spaces.
        fields = stat.rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(pid: int) -> float:
    """Wait until the server stops using CPU; answers the seconds it was still busy.

    uvicorn discards what an app sends once the client has gone, without telling it: an answer
    wrk walked away from at the end of a run (a 40 MB list takes seconds) is still computed to
    its last byte, on the CPU the next run would measure.
    """
    started = time.monotonic()
    before = cpu_seconds(pid)
    while time.monotonic() - started < SETTLE_TIMEOUT:
        time.sleep(SETTLE_POLL)
        now = cpu_seconds(pid)
        if now - before < SETTLE_IDLE_SHARE * SETTLE_POLL:
            break
        before = now
    return time.monotonic() - started - SETTLE_POLL


def servers(args: argparse.Namespace, database_url: str) -> list[Server]:
    bin_dir = Path(sys.executable).parent
    cli = bin_dir / "pathsessions"
    if not cli.exists():
        raise BenchError(f"{cli} not found: run this with the project's .venv/bin/python")
    # Settings come from the benchmark alone, not from whatever the caller's shell exports.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHSESSIONS_")}
    ours = dict(
        env,
        PATHSESSIONS_DATABASE_URL=database_url,
        PATHSESSIONS_TOKEN_SECRET=secrets.token_hex(32),
        # Limits stay on, so that their cost is measured, but far above what is sent.
        PATHSESSIONS_WRITE_RATE_LIMIT="1000000",
        PATHSESSIONS_READ_RATE_LIMIT="1000000",
        # list-sessions runs 4 lists of one company at once: above the default cap of 1.
        PATHSESSIONS_MAX_LISTS_PER_COMPANY="64",
    )
    if args.no_access_log:
        ours["PATHSESSIONS_ACCESS_LOG"] = "false"
    workers = ["--workers", str(args.workers)]
    return [
        Server("pathsessions", "pathsessions", [str(cli), "serve", *workers], ours),
        Server("raw", "raw ASGI", [sys.executable, str(BENCH_DIR / "raw_app.py"), *workers], env),
    ]


# --- Running and reporting -------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    scenario: str
    server: str
    round: int
    result: WrkResult

    def as_json(self) -> dict[str, Any]:
        r = self.result
        return {
            "scenario": self.scenario,
            "server": self.server,
            "round": self.round,
            "requests": r.requests,
            "seconds": r.seconds,
            "bytes_read": r.bytes_read,
            "requests_per_second": r.requests_per_second,
            "p50_ms": r.p50_ms,
            "p99_ms": r.p99_ms,
            "non_2xx": r.non_2xx,
            "socket_errors": r.socket_errors,
        }


@dataclass(frozen=True)
class Summary:
    """One scenario on one server over all rounds: medians, and every failure counted."""

    scenario: str
    server: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    bytes_per_second: float

    @classmethod
    def of(cls, runs: list[Run]) -> Summary:
        results = [run.result for run in runs]
        return cls(
            scenario=runs[0].scenario,
            server=runs[0].server,
            requests_per_second=statistics.median(r.requests_per_second for r in results),
            p50_ms=statistics.median(r.p50_ms for r in results),
            p99_ms=statistics.median(r.p99_ms for r in results),
            non_2xx=sum(r.non_2xx for r in results),
            socket_errors=sum(r.errors for r in results),
            bytes_per_second=statistics.median(r.bytes_read / r.seconds for r in results),
        )


@dataclass(frozen=True)
class ScenarioReport:
    """What a scenario measured besides wrk's figures."""

    name: str
    load: Load
    ceiling: bool
    probe: Probe | None
    # Our server's memory before the scenario's first request and after its last run.
    memory_before: Memory | None
    memory_after: Memory | None


@dataclass(frozen=True)
class Report:
    runs: list[Run]
    scenarios: list[ScenarioReport]
    sessions_written: int

    def summaries(self) -> list[Summary]:
        groups: dict[tuple[str, str], list[Run]] = {}
        for run in self.runs:
            groups.setdefault((run.scenario, run.server), []).append(run)
        return [Summary.of(runs) for runs in groups.values()]

    def ours(self, scenario: str) -> Summary | None:
        return next(
            (s for s in self.summaries() if (s.scenario, s.server) == (scenario, "pathsessions")),
            None,
        )

    def percent_of_ceiling(self) -> dict[str, float | None]:
        """Per scenario, the median over rounds of our req/s over the raw app's in that round;
        None for a scenario measured without the ceiling.

        Pairing runs a few seconds apart cancels most of what other load on a shared machine
        does to both; medians then drop the rounds where it hit one run and not the other.
        """
        rates = {(r.scenario, r.server, r.round): r.result.requests_per_second for r in self.runs}
        percents: dict[str, list[float]] = {}
        for (scenario, server, round_), rate in rates.items():
            ceiling = rates.get((scenario, "raw", round_))
            if server == "pathsessions" and ceiling:
                percents.setdefault(scenario, []).append(100 * rate / ceiling)
        return {
            s.name: statistics.median(percents[s.name]) if s.name in percents else None
            for s in self.scenarios
        }

    def failures(self) -> list[str]:
        """Why our server failed, one line each: failed answers, socket errors, a bad probe."""
        found = [
            f"{s.scenario}: {s.non_2xx} non-2xx answers, {s.socket_errors} socket errors"
            for s in self.summaries()
            if s.server == "pathsessions" and (s.non_2xx or s.socket_errors)
        ]
        found += [
            f"{s.name}: answer check: {s.probe.problem}"
            for s in self.scenarios
            if s.probe is not None and s.probe.problem is not None
        ]
        return found


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def seed(database_url: str, scenarios: list[Scenario]) -> Dataset:
    rng = random.Random(SEED)
    data = make_dataset(rng)

    async def work() -> None:
        db = await open_database(database_url)
        try:
            await migrate(db)
            await seed_base(db, data, rng)
            for scenario in scenarios:
                if scenario.seed is not None:
                    await scenario.seed(db, data, rng)
        finally:
            await db.close()

    asyncio.run(work())
    return data


def wait_idle(up: Running, after: str) -> None:
    busy = settle(up.pid)
    if busy >= 1.0:
        progress(
            f"{up.server.label} still busy {busy:.1f}s after {after}"
            " (finishing answers wrk had stopped reading)"
        )


def load_of(args: argparse.Namespace, scenario: Scenario) -> Load:
    return Load(
        connections=scenario.connections or args.connections,
        seconds=args.seconds,
        timeout=scenario.timeout,
    )


def measure(args: argparse.Namespace, wrk: str, scenarios: list[Scenario], tmp: Path) -> Report:
    database_url = f"sqlite:///{tmp / 'bench.db'}"
    started = time.monotonic()
    data = seed(database_url, scenarios)
    seeded = asyncio.run(count_sessions(database_url))
    progress(f"seeded {database_url} ({seeded:,} sessions) in {time.monotonic() - started:.1f}s")

    runs: list[Run] = []
    reports: list[ScenarioReport] = []
    with contextlib.ExitStack() as stack:
        # Both servers up for the whole run (an idle one costs nothing) so that each round
        # measures ours and the ceiling back to back.
        running: list[Running] = []
        for server in servers(args, database_url):
            up = stack.enter_context(serving(server, tmp / f"{server.name}.log"))
            progress(f"{server.label}: 127.0.0.1:{up.port}, {args.workers} worker(s)")
            running.append(up)
        ours = running[0]
        scripts: dict[str, tuple[Path, Path]] = {}
        for scenario in scenarios:
            if scenario.prepare is not None:
                scenario.prepare(ours.port, data)
            source = scenario.script(data)
            measured, warm = tmp / f"{scenario.name}.lua", tmp / f"{scenario.name}-warmup.lua"
            measured.write_text(source, encoding="utf-8")
            warm.write_text(source + CHECK_LUA, encoding="utf-8")
            scripts[scenario.name] = (measured, warm)
        for scenario in scenarios:
            load = load_of(args, scenario)
            targets = [up for up in running if scenario.ceiling or up is ours]
            measured, warm = scripts[scenario.name]
            memory_before = server_memory(ours.pid)
            probe = None
            if scenario.probe is not None:
                probe = scenario.probe(ours.port, data)
                progress(
                    f"{scenario.name} probe: {probe.answer_bytes:,} bytes in {probe.seconds:.2f}s"
                    + (f", problem: {probe.problem}" if probe.problem else "")
                )
            for up in targets:
                if args.warmup > 0:
                    warm_load = replace(load, seconds=args.warmup)
                    failures = warm_up(wrk, warm, up.port, warm_load)
                    if failures is not None:
                        label = up.server.label
                        progress(f"warning: {label} {scenario.name} warm-up: {failures}")
                    wait_idle(up, f"{scenario.name} warm-up")
            for round_ in range(1, args.rounds + 1):
                for up in targets:
                    label = up.server.label
                    progress(f"{scenario.name} round {round_}/{args.rounds}: {label}...")
                    output = run_wrk(wrk, measured, up.port, load)
                    runs.append(Run(scenario.name, up.server.name, round_, parse_wrk(output)))
                    wait_idle(up, f"{scenario.name} round {round_}")
            reports.append(
                ScenarioReport(
                    name=scenario.name,
                    load=load,
                    ceiling=scenario.ceiling,
                    probe=probe,
                    memory_before=memory_before,
                    memory_after=server_memory(ours.pid),
                )
            )
    written = asyncio.run(count_sessions(database_url)) - seeded
    return Report(runs, reports, written)


LABELS = {"pathsessions": "pathsessions", "raw": "raw ASGI"}


def rate(value: float) -> str:
    # A streamed list answers a few times a second: whole numbers would hide the figure.
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def latency(ms: float) -> str:
    # Ten characters either way, so the columns stay aligned.
    return f"{ms:>7.2f} ms" if ms < 1000 else f"{ms / 1000:>7.2f} s "


def mb(kilobytes: int) -> str:
    return f"{kilobytes / 1024:,.1f} MB"


def print_table(args: argparse.Namespace, report: Report) -> None:
    rounds = f", median of {args.rounds} rounds" if args.rounds > 1 else ""
    defaults = Load(args.connections, args.seconds, None)
    overrides = [
        f"{s.name}: {s.load.differences(defaults)}" for s in report.scenarios if s.load != defaults
    ]
    access_log = "off" if args.no_access_log else "on"
    print(
        f"wrk {' '.join(defaults.options())}"
        + (f" ({'; '.join(overrides)})" if overrides else "")
        + f"{rounds}, {args.workers} worker(s), access log {access_log}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    header = f"{'scenario':<19} {'server':<13} {'req/s':>9} {'p50':>10} {'p99':>10}"
    print(header + f" {'non-2xx':>8} {'socket errors':>14}")
    for s in report.summaries():
        print(
            f"{s.scenario:<19} {LABELS[s.server]:<13} {rate(s.requests_per_second):>9}"
            f" {latency(s.p50_ms)} {latency(s.p99_ms)} {s.non_2xx:>8,} {s.socket_errors:>14,}"
        )
    percents = report.percent_of_ceiling()
    for scenario in report.scenarios:
        percent = percents.get(scenario.name)
        share = "—" if percent is None else f"{percent:.1f} %"
        line = f"{scenario.name}: pathsessions at {share} of the raw ceiling"
        if not scenario.ceiling:
            line += " (not measured against it)"
        print(line + answer_figures(report, scenario))
    first, deepest = report.ours("v2-path-page-1"), report.ours(f"v2-path-page-{DEEP_PAGE}")
    if first is not None and deepest is not None and first.requests_per_second:
        print(
            f"v2 page {DEEP_PAGE:,} of a {DEEP_SESSIONS:,}-session path answers at"
            f" {deepest.requests_per_second / first.requests_per_second * 100:.1f} % of page 1's"
            f" throughput (p99 {latency(deepest.p99_ms).strip()} vs"
            f" {latency(first.p99_ms).strip()})"
        )
    memory = [
        (s.name, s.memory_before, s.memory_after)
        for s in report.scenarios
        if s.memory_before is not None and s.memory_after is not None
    ]
    if memory:
        print("pathsessions memory, largest process: peak RSS (VmHWM) before → after, RSS after")
    for name, before, after in memory:
        print(
            f"  {name:<19} {mb(before.peak_rss_kb):>10} → {mb(after.peak_rss_kb):>10}"
            f"   {mb(after.rss_kb):>10}"
        )
    # Proof that the answers were real writes: warm-up and in-flight requests add to the count.
    print(f"path sessions written during the runs: {report.sessions_written:,}")


def answer_figures(report: Report, scenario: ScenarioReport) -> str:
    """The probe's answer, and for a many-session answer the sessions/s it implies."""
    probe = scenario.probe
    if probe is None or probe.problem is not None:
        return ""
    text = f"; one answer {probe.answer_bytes / 1_000:,.1f} kB"
    if probe.items > 1:
        text = (
            f"; one answer: {probe.items:,} sessions, {probe.answer_bytes / 1_000_000:,.1f} MB,"
            f" {probe.seconds:.2f} s alone"
        )
        ours = report.ours(scenario.name)
        if ours is not None:
            # By bytes too: wrk counts only whole answers, a handful per run at this size.
            by_bytes = ours.bytes_per_second / probe.answer_bytes * probe.items
            text += (
                f"; {ours.requests_per_second * probe.items:,.0f} sessions/s"
                f" ({by_bytes:,.0f} by bytes read, {ours.bytes_per_second / 1_000_000:,.1f} MB/s)"
            )
    if probe.detail:
        text += f", {probe.detail}"
    return text


def print_json(args: argparse.Namespace, report: Report) -> None:
    scenarios = []
    for s in report.scenarios:
        ours = report.ours(s.name)
        items = s.probe.items if s.probe is not None else None
        scenarios.append(
            {
                "name": s.name,
                "connections": s.load.connections,
                "timeout": s.load.timeout,
                "ceiling": s.ceiling,
                "probe": asdict(s.probe) if s.probe is not None else None,
                "sessions_per_second": (
                    ours.requests_per_second * items if ours is not None and items else None
                ),
                "memory_before": asdict(s.memory_before) if s.memory_before else None,
                "memory_after": asdict(s.memory_after) if s.memory_after else None,
            }
        )
    document = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": [Path(sys.argv[0]).as_posix(), *sys.argv[1:]],
        "seconds": args.seconds,
        "workers": args.workers,
        "connections": args.connections,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "access_log": not args.no_access_log,
        "cpus": os.cpu_count(),
        "scenarios": scenarios,
        "summaries": [asdict(s) for s in report.summaries()],
        "percent_of_ceiling": report.percent_of_ceiling(),
        "runs": [run.as_json() for run in report.runs],
        "sessions_written": report.sessions_written,
        "failures": report.failures(),
        "ok": not report.failures(),
    }
    print(json.dumps(document, indent=2))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark pathsessions against a raw ASGI ceiling (bench/README.md).",
        epilog="scenarios: " + "; ".join(f"{s.name}: {s.description}" for s in SCENARIOS),
    )
    parser.add_argument("--seconds", type=int, default=10, help="measured run length (10)")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (1)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument(
        "--warmup", type=int, default=2, help="unmeasured seconds per scenario and server (2)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measured runs per scenario and server, alternating; medians are reported (1)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[s.name for s in SCENARIOS],
        help="run only this scenario (repeatable; default: all)",
    )
    parser.add_argument(
        "--no-access-log",
        action="store_true",
        help="run our server with PATHSESSIONS_ACCESS_LOG=false (default: its default, on)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (database, logs)"
    )
    args = parser.parse_args(argv)
    for name in ("seconds", "workers", "connections", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    return args


def _interrupted(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        print("install wrk: apt-get install wrk", file=sys.stderr)
        return 2
    scenarios = [s for s in SCENARIOS if args.scenario is None or s.name in args.scenario]
    # A plain `kill` must stop the servers too: unwind through the same cleanup as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupted)
    tmp = Path(tempfile.mkdtemp(prefix="pathsessions-bench-"))
    try:
        report = measure(args, wrk, scenarios, tmp)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            progress(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print_json(args, report)
    else:
        print_table(args, report)
    for failure in report.failures():
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if report.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
