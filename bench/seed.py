"""The data the benchmark runs on, written straight to a fresh database before any server
starts: one company for the writes, and companies of their own for the read scenarios."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from pathsessions.core.clock import SYSTEM_CLOCK
from pathsessions.core.keys import hash_key
from pathsessions.storage import Database, open_database

from .common import SEED

COMPANY_GROUPS = 100
COMPANY_USERS = 10_000
COMPANY_PATHS = 1_000
# The read scenarios' company: sized like a large customer, with few users and paths so that
# each path holds about 1,000 sessions.
READER_GROUPS = 5
READER_USERS = 100
READER_PATHS = 100
READER_SESSIONS = 100_000


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


@dataclass(frozen=True)
class Directory:
    """A company of the benchmark with its key, groups and paths, named after `label`."""

    label: str
    company_id: str
    key_id: str
    api_key: str
    group_ids: list[str]
    path_ids: list[str]


async def insert_directory(
    tx: Database,
    d: Directory,
    users: list[tuple[str, str]],
    rng: random.Random,
    created_ms: int,
) -> None:
    """Write the company, its API key, groups, users (id, mail; the first owns the company)
    and paths (each in a group drawn from `rng`), all created at `created_ms`."""
    await tx.executemany(
        "INSERT INTO companies (id, name, owner_user_id, created_at) VALUES (?, ?, ?, ?)",
        [(d.company_id, f"{d.label} company", users[0][0], created_ms)],
    )
    await tx.executemany(
        "INSERT INTO api_keys (id, company_id, key_hash, label, created_at, revoked_at)"
        " VALUES (?, ?, ?, ?, ?, NULL)",
        [(d.key_id, d.company_id, hash_key(d.api_key), f"bench {d.label}", created_ms)],
    )
    await tx.executemany(
        "INSERT INTO company_groups (id, company_id, name, public, parent_id, created_at)"
        " VALUES (?, ?, ?, ?, NULL, ?)",
        [
            (g, d.company_id, f"{d.label} group {i}", True, created_ms)
            for i, g in enumerate(d.group_ids)
        ],
    )
    await tx.executemany(
        "INSERT INTO users (id, company_id, mail, mail_key, first_name, last_name, status,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?)",
        [
            (user_id, d.company_id, mail, mail, d.label, f"User {i}", created_ms)
            for i, (user_id, mail) in enumerate(users)
        ],
    )
    await tx.executemany(
        "INSERT INTO paths (id, company_id, name, group_id, status, created_at, modified_at)"
        " VALUES (?, ?, ?, ?, 'published', ?, ?)",
        [
            (
                p,
                d.company_id,
                f"{d.label} path {i}",
                rng.choice(d.group_ids),
                created_ms,
                created_ms,
            )
            for i, p in enumerate(d.path_ids)
        ],
    )


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
        await insert_directory(
            tx,
            Directory("Reader", company_id, ids.at(second), api_key, group_ids, path_ids),
            list(zip(user_ids, mails, strict=True)),
            rng,
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
