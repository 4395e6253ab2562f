"""How long `pathsessions load` takes on a large fixture document (docs/performance.md).

    .venv/bin/python -m bench.fixtures                      # 10k and 100k sessions, both engines
    .venv/bin/python -m bench.fixtures --sessions 1000000 --backend sqlite
    .venv/bin/python -m bench.fixtures --write doc.json --sessions 5000   # the document only

The document: one company with 20 groups, 1,000 users and 100 paths, and N sessions spread
over the paths, each with one or two instructors and three enrollments (one self-enrolled,
one archived, one with progress), with or without `id`s (without, sessions are matched by
path, name and start date). Each case loads the document into an empty database, then loads it
again (the reload matches every object and changes nothing), each time as its own
`pathsessions load --quiet` process: the times include reading the document and starting up.
PostgreSQL cases use a database of their own on 127.0.0.1:5432 (user postgres), dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

SEED = 360
GROUPS = 20
USERS = 1_000
PATHS = 100
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "pathsessions_bench_fixtures"
DAY_MS = 86_400_000
# 2031-01-01: every session starts in the future, as v1's create rules want.
EPOCH_MS = 1_924_992_000_000


def _id(rng: random.Random) -> str:
    return f"{rng.getrandbits(96):024x}"


def _date(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def document(sessions: int, ids: bool, seed: int = SEED) -> dict[str, Any]:
    """The fixture document: the same for the same arguments."""
    rng = random.Random(seed)
    groups = [{"id": _id(rng), "name": f"Group {i}"} for i in range(GROUPS)]
    for i, group in enumerate(groups[1:], 1):
        group["parent"] = groups[(i - 1) // 4]["id"]
    mails = [f"user{i}@bench.test" for i in range(USERS)]
    users: list[dict[str, Any]] = [
        {
            "id": _id(rng),
            "mail": mail,
            "firstName": f"First{i}",
            "lastName": f"Last{i}",
            "roles": {groups[i % GROUPS]["id"]: "learner"},
        }
        for i, mail in enumerate(mails)
    ]
    paths = [
        {"id": _id(rng), "name": f"Path {i}", "group": groups[i % GROUPS]["id"]}
        for i in range(PATHS)
    ]
    items: list[dict[str, Any]] = []
    for i in range(sessions):
        path = paths[rng.randrange(PATHS)]
        start = EPOCH_MS + rng.randrange(730) * DAY_MS + rng.randrange(24) * 3_600_000
        learners = rng.sample(range(USERS), 3)
        session: dict[str, Any] = {
            "path": path["id"],
            "sessionName": f"Session {i}",
            "startDate": _date(start),
            "sessionOwnerGroup": path["group"],
            "instructorsMails": [mails[u] for u in rng.sample(range(USERS), rng.choice((1, 2)))],
            "enrollments": [
                {"user": mails[learners[0]], "selfEnrolled": True},
                {"user": users[learners[1]]["id"], "status": "archived"},
                {
                    "user": mails[learners[2]],
                    "progress": {"progress": rng.randrange(101), "timeSpent": 60_000},
                },
            ],
        }
        if rng.random() < 0.6:
            session["endDate"] = _date(start + rng.randrange(1, 90) * DAY_MS)
        if rng.random() < 0.3:
            session["sessionAdditionalInformation"] = f"Room {rng.randrange(100)}"
        if ids:
            session = {"id": _id(rng), **session}
        items.append(session)
    company = {
        "id": _id(rng),
        "name": "Bench Learning",
        "apiKeys": ["bench-fixtures-key"],
        "owner": mails[0],
        "groups": groups,
        "users": users,
        "paths": paths,
        "sessions": items,
    }
    return {"companies": [company]}


@dataclass(frozen=True)
class Figure:
    """Seconds: wall-clock, and CPU of the load process (user + system), which the load of a
    shared machine does not inflate (the PostgreSQL server's own CPU is not in it)."""

    sessions: int
    backend: str
    ids: bool
    first: float
    first_cpu: float
    reload: float
    reload_cpu: float
    load_average: float


def _database_url(backend: str, directory: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{directory}/bench.db"
    return f"{POSTGRES}/{DATABASE}"


def _postgres(sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(f"{POSTGRES}/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load(file: Path, url: str) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHSESSIONS_")}
    env["PATHSESSIONS_DATABASE_URL"] = url
    command = [sys.executable, "-m", "pathsessions", "load", "--quiet", str(file)]
    started, cpu = time.perf_counter(), _cpu()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"pathsessions load failed: {done.stderr.strip()}")
    return elapsed, _cpu() - cpu


def measure(sessions: int, backend: str, ids: bool) -> Figure:
    with tempfile.TemporaryDirectory(prefix="bench-fixtures-") as directory:
        file = Path(directory) / "document.json"
        file.write_bytes(msgspec.json.encode(document(sessions, ids)))
        if backend == "postgresql":
            _postgres(f"DROP DATABASE IF EXISTS {DATABASE}")
            _postgres(f"CREATE DATABASE {DATABASE}")
        try:
            url = _database_url(backend, directory)
            first = _load(file, url)
            reload = _load(file, url)
        finally:
            if backend == "postgresql":
                _postgres(f"DROP DATABASE IF EXISTS {DATABASE}")
    return Figure(sessions, backend, ids, *first, *reload, os.getloadavg()[0])


def table(figures: list[Figure]) -> str:
    lines = [
        "| sessions | engine | matched by | first load: s (CPU s) | reload: s (CPU s)"
        " | load average |",
        "|---:|---|---|---:|---:|---:|",
    ]
    for f in figures:
        matched = "id" if f.ids else "natural key"
        lines.append(
            f"| {f.sessions:,} | {f.backend} | {matched} | {f.first:.1f} ({f.first_cpu:.1f})"
            f" | {f.reload:.1f} ({f.reload_cpu:.1f}) | {f.load_average:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fixtures", description=__doc__)
    parser.add_argument(
        "--sessions", type=int, action="append", help="sessions in the document (repeatable)"
    )
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql"), action="append", help="(repeatable)"
    )
    parser.add_argument(
        "--matching", choices=("ids", "keys"), action="append", help="(repeatable; both)"
    )
    parser.add_argument("--write", type=Path, metavar="FILE", help="write one document, time none")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    counts = args.sessions or [10_000, 100_000]
    if args.write is not None:
        ids = (args.matching or ["ids"])[0] == "ids"
        args.write.write_bytes(msgspec.json.encode(document(counts[0], ids)))
        return 0
    figures = []
    for backend in args.backend or ["sqlite", "postgresql"]:
        for n in counts:
            for matching in args.matching or ["ids", "keys"]:
                figure = measure(n, backend, matching == "ids")
                print(f"{figure}", file=sys.stderr, flush=True)
                figures.append(figure)
    if args.json:
        print(json.dumps([f.__dict__ for f in figures], indent=2))
    else:
        print(table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
