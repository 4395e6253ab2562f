"""The sandbox's costs (docs/sandbox.md): snapshot restore time, and what it adds to writes.

    .venv/bin/python -m bench sandbox [--sessions 10000] [--rounds 3] [--seconds 10]
                                      [--postgresql-url URL] [--json] [--smoke]

1. Restore, on SQLite (a file in a temporary directory) and on PostgreSQL (a database created
   for the run on the server of `--postgresql-url`, dropped after): one company of `--sessions`
   sessions, each with an instructor and an enrolled learner, a tenth as many users each with a
   role, 100 groups and 100 paths, written in SQL; then through the control API in process:
   the snapshot, a restore with nothing changed, a restore after a few changes (3 sessions
   deleted, one renamed, one learner enrolled), and a restore after the company was deleted
   (every row written again), each `--rounds` times. Every restore is checked exact: the
   company's rows afterwards are the snapshot's. Seconds, medians and worst.
2. Create throughput (v1's create under wrk, as the `create-session` scenario) against three
   servers on one seeded SQLite file: the sandbox off (no admin token), on with the journal off
   (`PATHSESSIONS_JOURNAL_SIZE=0`) and on with the journal on (its default size); rounds
   alternate between them, so that none gains from a smaller database. Medians, and each as a
   share of the sandbox off; and the server's CPU time per create (its process and threads,
   over the run), which a machine busy with other work disturbs much less than the rates.

`--smoke` checks that it runs (500 sessions, one round of 1 s): its figures are not for
comparing. Exit status 0, 1 when a restore was not exact or a create failed, 2 when it could
not run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from pathsessions.app import create_app
from pathsessions.sandbox.tables import rows_of
from pathsessions.settings import Settings
from pathsessions.storage import Database

from .common import SEED, BenchError, progress
from .load import Load, find_wrk, parse_wrk, run_wrk
from .scenarios.v1 import create_session_script
from .seed import ObjectIds
from .servers import Server, cpu_seconds, servers, serving, settle

ADMIN_TOKEN = "an-admin-token-for-the-sandbox-benchmark-0123456789"  # noqa: S105 - loopback only
TOKEN_SECRET = "a-token-secret-for-the-sandbox-benchmark-0123456789"  # noqa: S105
POSTGRESQL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
GROUPS = 100
PATHS = 100
NOW = 1_900_000_000_000
EPOCH = 1_700_000_000


# --- 1. Restore --------------------------------------------------------------------------


@dataclass
class RestoreFigures:
    backend: str
    sessions: int
    rows: int
    snapshot_s: float = 0.0
    unchanged_s: list[float] = field(default_factory=list)
    after_changes_s: list[float] = field(default_factory=list)
    after_deletion_s: list[float] = field(default_factory=list)
    # CPU seconds of a restore after the deletion: this process's, and on PostgreSQL its
    # server processes' too. What it costs whatever else the machine is doing.
    after_deletion_cpu_s: list[float] = field(default_factory=list)
    problem: str | None = None


async def seed_company(db: Database, sessions: int, rng: random.Random) -> tuple[str, list[str]]:
    """One company, written in SQL (the loader checks each object first: far too slow)."""
    # Ids in creation order, as the service's are (bench/seed.py, ObjectIds).
    made = ObjectIds(rng)
    seconds = itertools.count(EPOCH)

    def object_id() -> str:
        return made.at(next(seconds))

    company = object_id()
    groups = [object_id() for _ in range(GROUPS)]
    users = [object_id() for _ in range(max(sessions // 10, 10))]
    paths = [(object_id(), rng.choice(groups)) for _ in range(PATHS)]
    ids = [object_id() for _ in range(sessions)]
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO companies (id, name, owner_user_id, created_at) VALUES (?, ?, ?, ?)",
            company,
            "Restored company",
            users[0],
            NOW,
        )
        await tx.executemany(
            "INSERT INTO company_groups (id, company_id, name, public, parent_id, created_at)"
            " VALUES (?, ?, ?, ?, NULL, ?)",
            [(g, company, f"Group {i}", True, NOW) for i, g in enumerate(groups)],
        )
        await tx.executemany(
            "INSERT INTO users (id, company_id, mail, mail_key, first_name, last_name, status,"
            " created_at) VALUES (?, ?, ?, ?, 'Restored', ?, 'active', ?)",
            [
                (u, company, f"user{i}@example.com", f"user{i}@example.com", f"User {i}", NOW)
                for i, u in enumerate(users)
            ],
        )
        await tx.executemany(
            "INSERT INTO user_roles (user_id, group_id, role) VALUES (?, ?, ?)",
            [(u, rng.choice(groups), rng.choice(("learner", "coach", "admin"))) for u in users],
        )
        await tx.executemany(
            "INSERT INTO paths (id, company_id, name, group_id, status, created_at, modified_at)"
            " VALUES (?, ?, ?, ?, 'published', ?, ?)",
            [(p, company, f"Path {i}", g, NOW, NOW) for i, (p, g) in enumerate(paths)],
        )
        chosen = [rng.choice(paths) for _ in ids]
        await tx.executemany(
            "INSERT INTO path_sessions (id, company_id, path_id, name, start_date, end_date,"
            " owner_group_id, additional_information, created_at, modified_at)"
            " VALUES (?, ?, ?, ?, ?, NULL, ?, NULL, ?, ?)",
            [
                (s, company, p, f"Session {i}", NOW + i, g, NOW, NOW)
                for i, (s, (p, g)) in enumerate(zip(ids, chosen, strict=True))
            ],
        )
        await tx.executemany(
            "INSERT INTO session_instructors (session_id, position, user_id) VALUES (?, 0, ?)",
            [(s, rng.choice(users)) for s in ids],
        )
        await tx.executemany(
            "INSERT INTO session_users (id, company_id, path_id, session_id, user_id,"
            " enrolled_at, modified_at, self_enrolled, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'published')",
            [
                (object_id(), company, p, s, rng.choice(users), NOW, NOW, False)
                for s, (p, _) in zip(ids, chosen, strict=True)
            ],
        )
    return company, ids


def _as_sets(data: dict[str, Any]) -> dict[str, set[tuple[Any, ...]]]:
    return {table: {tuple(row) for row in part["rows"]} for table, part in data.items()}


async def _restore_on(url: str, backend: str, sessions: int, rounds: int) -> RestoreFigures:
    settings = Settings(
        database_url=url,
        token_secret=TOKEN_SECRET,
        admin_token=ADMIN_TOKEN,
        access_log=False,
        rate_limits=False,
        pg_pool_size=2,
    )
    app = create_app(settings)
    await app.startup()
    try:
        db = app.db
        company, ids = await seed_company(db, sessions, random.Random(SEED))
        async with db.transaction() as tx:
            expected = _as_sets(await rows_of(tx, company, ordered=False))
        figures = RestoreFigures(backend, sessions, sum(len(r) for r in expected.values()))
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=headers, timeout=120
        ) as client:
            started = time.perf_counter()
            r = await client.post("/__admin/snapshots", json={"name": "big", "company": company})
            figures.snapshot_s = time.perf_counter() - started
            if r.status_code != 201:
                raise BenchError(f"{backend}: snapshot answered {r.status_code}: {r.text}")

            backends: list[int] = []
            if backend == "postgresql":
                found_pids = await db.fetchall(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                )
                backends = [int(row[0]) for row in found_pids]

            def cpu() -> float:
                return time.process_time() + sum(cpu_seconds(pid) for pid in backends)

            async def restore(into: list[float], what: str, cpu_into: list[float]) -> None:
                cpu_before = cpu()
                started = time.perf_counter()
                r = await client.post("/__admin/snapshots/big/restore")
                into.append(time.perf_counter() - started)
                cpu_into.append(cpu() - cpu_before)
                if r.status_code != 204:
                    raise BenchError(f"{backend}: restore answered {r.status_code}: {r.text}")
                async with db.transaction() as tx:
                    found = _as_sets(await rows_of(tx, company, ordered=False))
                if found != expected and figures.problem is None:
                    figures.problem = f"{backend}: the restore {what} is not exact"

            for round_ in range(rounds):
                await restore(figures.unchanged_s, "with nothing changed", [])
                async with db.transaction() as tx:
                    await tx.execute(
                        "DELETE FROM path_sessions WHERE id IN (?, ?, ?)", *ids[round_ : round_ + 3]
                    )
                    await tx.execute(
                        "UPDATE path_sessions SET name = 'Renamed' WHERE id = ?", ids[-1]
                    )
                    await tx.execute(
                        "UPDATE session_users SET status = 'archived' WHERE session_id = ?",
                        ids[-2],
                    )
                await restore(figures.after_changes_s, "after a few changes", [])
                r = await client.delete(f"/__admin/companies/{company}")
                if r.status_code != 204:
                    raise BenchError(f"{backend}: deletion answered {r.status_code}: {r.text}")
                await restore(
                    figures.after_deletion_s,
                    "after the company's deletion",
                    figures.after_deletion_cpu_s,
                )
        return figures
    finally:
        await app.shutdown()


@contextlib.contextmanager
def sqlite_url() -> Iterator[str]:
    directory = tempfile.mkdtemp(prefix="pathsessions-bench-sandbox-")
    try:
        yield f"sqlite:///{directory}/sandbox.db"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def _with_postgresql(admin_url: str, sessions: int, rounds: int) -> RestoreFigures | str:
    """The figures, or why PostgreSQL could not be used."""
    name = f"pathsessions_bench_sandbox_{os.getpid()}"
    try:
        conn = await asyncpg.connect(admin_url)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL at {admin_url}: {exc}"
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name}")
        await conn.execute(f"CREATE DATABASE {name}")
        base, _, _ = admin_url.rpartition("/")
        try:
            return await _restore_on(f"{base}/{name}", "postgresql", sessions, rounds)
        finally:
            await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await conn.close()


def measure_restores(options: SandboxOptions) -> tuple[list[RestoreFigures], list[str]]:
    figures: list[RestoreFigures] = []
    skipped: list[str] = []
    with sqlite_url() as url:
        progress(f"restore on SQLite, {options.sessions:,} sessions...")
        figures.append(asyncio.run(_restore_on(url, "sqlite", options.sessions, options.rounds)))
    progress(f"restore on PostgreSQL, {options.sessions:,} sessions...")
    found = asyncio.run(_with_postgresql(options.postgresql_url, options.sessions, options.rounds))
    if isinstance(found, str):
        progress(f"PostgreSQL skipped: {found}")
        skipped.append(found)
    else:
        figures.append(found)
    return figures, skipped


# --- 2. Create throughput ------------------------------------------------------------------

VARIANTS: tuple[tuple[str, dict[str, str]], ...] = (
    ("sandbox-off", {}),
    ("journal-off", {"PATHSESSIONS_ADMIN_TOKEN": ADMIN_TOKEN, "PATHSESSIONS_JOURNAL_SIZE": "0"}),
    ("journal-on", {"PATHSESSIONS_ADMIN_TOKEN": ADMIN_TOKEN}),
)


@dataclass
class CreateFigures:
    connections: int
    seconds: int
    rates: dict[str, list[float]]
    failed: dict[str, int]
    # Server CPU milliseconds per create, each run.
    cpu_ms: dict[str, list[float]] = field(default_factory=dict)

    def median(self, variant: str) -> float:
        return statistics.median(self.rates[variant])

    def share(self, variant: str) -> float:
        base = self.median("sandbox-off")
        return self.median(variant) / base if base else 0.0

    def cpu(self, variant: str) -> float:
        return statistics.median(self.cpu_ms[variant])


def measure_creates(options: SandboxOptions, wrk: str, tmp: Path) -> CreateFigures:
    from .cli import seed  # the benchmark's own base data set (one company, its key)
    from .common import Options

    url = f"sqlite:///{tmp / 'creates.db'}"
    data = seed(url, [])
    base = servers(Options(workers=1), url)[0]
    script = tmp / "create.lua"
    script.write_text(create_session_script(data), encoding="utf-8")
    load = Load(connections=options.connections, seconds=options.seconds, timeout=None)
    figures = CreateFigures(options.connections, options.seconds, {}, {})
    with contextlib.ExitStack() as stack:
        running = []
        for name, extra in VARIANTS:
            env = {**base.env, **extra}
            server = Server(name, name, base.command, env)
            running.append(stack.enter_context(serving(server, tmp / f"{name}.log")))
        for round_ in range(1, options.rounds + 1):
            for up in running:
                progress(f"create round {round_}/{options.rounds}: {up.server.name}...")
                cpu_before = cpu_seconds(up.pid)
                result = parse_wrk(run_wrk(wrk, script, up.port, load))
                served = result.requests_per_second * options.seconds
                cpu_ms = (cpu_seconds(up.pid) - cpu_before) * 1000 / served if served else 0.0
                figures.cpu_ms.setdefault(up.server.name, []).append(cpu_ms)
                figures.rates.setdefault(up.server.name, []).append(result.requests_per_second)
                failed = result.non_2xx + result.errors
                figures.failed[up.server.name] = figures.failed.get(up.server.name, 0) + failed
                settle(up.pid)
    return figures


# --- The command ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SandboxOptions:
    sessions: int
    rounds: int
    seconds: int
    connections: int
    postgresql_url: str
    json: bool
    smoke: bool
    parts: tuple[str, ...] = ("restore", "creates")


def parse_args(argv: Sequence[str]) -> SandboxOptions:
    parser = argparse.ArgumentParser(
        prog="bench sandbox",
        description="The sandbox's costs: snapshot restore, and create throughput with the"
        " sandbox off, on without its journal, and on with it (bench/README.md).",
    )
    parser.add_argument("--sessions", type=int, help="sessions of the restored company (10000)")
    parser.add_argument("--rounds", type=int, help="restores of each kind, wrk runs (3)")
    parser.add_argument("--seconds", type=int, help="length of each wrk run (10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument(
        "--postgresql-url",
        default=os.environ.get("PATHSESSIONS_BENCH_POSTGRESQL_URL", POSTGRESQL_URL),
        help="a PostgreSQL database from which to create (and drop) the run's own"
        f" ({POSTGRESQL_URL}, or PATHSESSIONS_BENCH_POSTGRESQL_URL)",
    )
    parser.add_argument(
        "--only", choices=["restore", "creates"], help="measure only this part (default: both)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--smoke", action="store_true", help="that it runs: 500 sessions, 1 round of 1 s"
    )
    args = parser.parse_args(argv)
    smoke = bool(args.smoke)
    options = SandboxOptions(
        sessions=args.sessions or (500 if smoke else 10_000),
        rounds=args.rounds or (1 if smoke else 3),
        seconds=args.seconds or (1 if smoke else 10),
        connections=args.connections,
        postgresql_url=args.postgresql_url,
        json=bool(args.json),
        smoke=smoke,
        parts=("restore", "creates") if args.only is None else (args.only,),
    )
    if min(options.sessions, options.rounds, options.seconds, options.connections) < 1:
        parser.error("--sessions, --rounds, --seconds and --connections must be at least 1")
    return options


def _seconds(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s (worst {max(values):.3f})"


def print_table(
    options: SandboxOptions, restores: list[RestoreFigures], creates: CreateFigures | None
) -> None:
    if options.smoke:
        print("smoke run: the figures say that it runs, not how fast")
    for f in restores:
        print(f"{f.backend}: a company of {f.sessions:,} sessions ({f.rows:,} rows)")
        print(f"  snapshot                      {f.snapshot_s:.3f} s")
        print(f"  restore, nothing changed      {_seconds(f.unchanged_s)}")
        print(f"  restore after a few changes   {_seconds(f.after_changes_s)}")
        print(
            f"  restore after its deletion    {_seconds(f.after_deletion_s)},"
            f" CPU {statistics.median(f.after_deletion_cpu_s):.3f} s"
        )
    if creates is None:
        return
    print(
        f"create throughput (wrk -c{creates.connections}, {creates.seconds} s runs,"
        f" medians of {options.rounds})"
    )
    for name, _ in VARIANTS:
        print(
            f"  {name:<12} {creates.median(name):8.0f} req/s  {creates.share(name):6.1%}"
            f"  CPU {creates.cpu(name):.3f} ms/create  failed {creates.failed.get(name, 0)}"
        )
    on, off = creates.median("journal-on"), creates.median("journal-off")
    cpu_on, cpu_off = creates.cpu("journal-on"), creates.cpu("journal-off")
    print(
        f"  journal on / off: {on / off if off else 0:.1%} of the throughput,"
        f" {cpu_on / cpu_off if cpu_off else 0:.2f}x the CPU per create"
    )


def main(argv: Sequence[str]) -> int:
    options = parse_args(argv)
    wrk = find_wrk() if "creates" in options.parts else "wrk"
    if wrk is None:
        print("wrk not found (apt-get install wrk, or bench/install_wrk.sh)", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="pathsessions-bench-sandbox-"))
    try:
        restores: list[RestoreFigures] = []
        skipped: list[str] = []
        if "restore" in options.parts:
            restores, skipped = measure_restores(options)
        creates = None
        if "creates" in options.parts:
            creates = measure_creates(options, wrk, tmp)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    failures = [f.problem for f in restores if f.problem is not None]
    if creates is not None:
        failures += [f"{n}: {c} failed creates" for n, c in creates.failed.items() if c]
    if options.json:
        report = {
            "ok": not failures,
            "failures": failures,
            "smoke": options.smoke,
            "skipped": skipped,
            "restores": [asdict(f) for f in restores],
            "creates": None
            if creates is None
            else {
                "connections": creates.connections,
                "seconds": creates.seconds,
                "requests_per_second": creates.rates,
                "medians": {name: creates.median(name) for name, _ in VARIANTS},
                "shares_of_sandbox_off": {name: creates.share(name) for name, _ in VARIANTS},
                "cpu_ms_per_create": creates.cpu_ms,
                "failed": creates.failed,
            },
        }
        print(json.dumps(report, indent=2))
    else:
        print_table(options, restores, creates)
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0
