"""Reads at any size, and PostgreSQL under load, each measured against its reference in one run.

    .venv/bin/python -m bench.scale [--part scale|pg|listing|all] [--seconds 10] [--rounds 3]
                                    [--sessions 1000000] [--small 1000] [--backend sqlite]
                                    [--pg-url URL] [--pg-pool N] [--json] [--keep] [--smoke]
                                    [--listings 2] [--baseline-src DIR]

`scale`: two companies, of `--small` and `--sessions` sessions, in one database served by one
worker; get-by-id through v1 and v2 and the last page of a path holding half the company's
sessions, under `wrk -c32`, alternating the two companies round by round, with the ratio of
their costs; then the v1 listing of the large company: sessions/s and the growth of the
server's resident memory while it streams.

`listing`: the v1 listing alone, of a company of `--sessions` sessions, `--listings` times;
with `--baseline-src DIR` (the `src` of another checkout), a second server runs that code on
the same database and the listings alternate between the two.

`pg`: the same data on SQLite and on a fresh PostgreSQL database: create-session at 32
connections on one worker, both backends in the same run (PostgreSQL's share of SQLite's
throughput); then a mixed load (two requests in ten create, the rest read one session) at 256
connections on two workers, on each backend. See bench/README.md, "Sizes and PostgreSQL".

Exit status: 0 when every request got a 2xx answer without socket errors, 1 otherwise, 2 when
the benchmark could not run, 130 when interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncpg

from pathsessions.storage import migrate, open_database

from .cli import _interrupted
from .client import next_page, v2_request, v2_token
from .common import SEED, BenchError, Options, progress
from .load import CHECK_LUA, Load, WrkResult, find_wrk, parse_wrk, run_wrk, warm_up
from .scenarios.scale import SizedCompany, get_script, mixed_script, page_script, seed_sized
from .scenarios.v1 import create_session_script
from .seed import Dataset, make_dataset, seed_base
from .servers import Running, cpu_seconds, server_memory, servers, serving, settle

PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# The reader company of the PostgreSQL runs: big enough that reads are not all cached rows.
PG_READER_SESSIONS = 100_000


@dataclass
class Measured:
    """One wrk run."""

    part: str
    name: str
    target: str
    round: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    # The server's CPU time per answer: what a request costs it, whatever else the machine
    # runs meanwhile (throughput on a shared machine moves with its neighbours' load).
    cpu_us: float

    @classmethod
    def of(
        cls, part: str, name: str, target: str, round_: int, r: WrkResult, cpu: float
    ) -> Measured:
        return cls(
            part,
            name,
            target,
            round_,
            r.requests_per_second,
            r.p50_ms,
            r.p99_ms,
            r.non_2xx,
            r.errors,
            cpu / max(r.requests, 1) * 1e6,
        )


@dataclass
class Listing:
    server: str
    sessions: int
    answer_bytes: int
    seconds: float
    rss_before_kb: int
    rss_peak_kb: int
    cpu_seconds: float

    @property
    def sessions_per_second(self) -> float:
        return self.sessions / self.seconds

    @property
    def rss_growth_mb(self) -> float:
        return (self.rss_peak_kb - self.rss_before_kb) / 1024


@dataclass
class Results:
    runs: list[Measured] = field(default_factory=list)
    listings: list[Listing] = field(default_factory=list)
    # What PostgreSQL's backends serving the benchmark were doing, sampled during each mixed
    # run on it: "state/wait event" -> samples.
    waits: list[dict[str, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def median(self, part: str, name: str, target: str, metric: str) -> float:
        values = [
            getattr(r, metric)
            for r in self.runs
            if (r.part, r.name, r.target) == (part, name, target)
        ]
        return statistics.median(values) if values else float("nan")

    def failures(self) -> list[str]:
        return [
            f"{r.part} {r.name} {r.target} round {r.round}: {r.non_2xx} non-2xx,"
            f" {r.socket_errors} socket errors"
            for r in self.runs
            if r.non_2xx or r.socket_errors
        ]


@dataclass(frozen=True)
class Args:
    part: str
    seconds: int
    rounds: int
    warmup: int
    sessions: int
    small: int
    backend: str
    pg_url: str
    pg_pool: int | None
    pg_loads: tuple[str, ...]
    mixed_backends: tuple[str, ...]
    listings: int
    baseline_src: str | None
    access_log: bool
    json: bool
    keep: bool
    smoke: bool


# --- databases -----------------------------------------------------------------------------


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the server of `admin_url`, dropped afterwards."""
    name = f"pathsessions_bench_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as error:
        raise BenchError(f"cannot create a PostgreSQL database at {admin_url}: {error}") from None
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def seed_companies(
    url: str, sizes: Sequence[tuple[str, int]], base: bool
) -> tuple[Dataset, list[SizedCompany]]:
    rng = random.Random(SEED)
    data = make_dataset(rng)
    companies: list[SizedCompany] = []

    async def work() -> None:
        db = await open_database(url)
        try:
            await migrate(db)
            if base:
                await seed_base(db, data, rng)
            for name, size in sizes:
                started = time.monotonic()
                companies.append(await seed_sized(db, name, size, keep_ids=size <= 100_000))
                progress(f"seeded {name} ({size:,} sessions) in {time.monotonic() - started:.1f}s")
            if db.dialect == "postgresql":
                await db.execute("ANALYZE")
        finally:
            await db.close()

    asyncio.run(work())
    return data, companies


# --- running -------------------------------------------------------------------------------


@contextlib.contextmanager
def our_server(
    url: str,
    workers: int,
    args: Args,
    log: Path,
    pool: int | None = None,
    src: str | None = None,
) -> Iterator[Running]:
    ours = servers(Options(workers=workers, access_log=args.access_log), url)[0]
    if pool is not None:
        ours = replace(ours, env={**ours.env, "PATHSESSIONS_PG_POOL_SIZE": str(pool)})
    if src is not None:
        # Ahead of the installed package on the path: that checkout's code serves.
        ours = replace(ours, env={**ours.env, "PYTHONPATH": str(Path(src).resolve())})
    with serving(ours, log) as up:
        progress(f"{url.split('://')[0]} server on 127.0.0.1:{up.port}, {workers} worker(s)")
        yield up


def scripts(tmp: Path, name: str, source: str) -> tuple[Path, Path]:
    measured, warm = tmp / f"{name}.lua", tmp / f"{name}-warmup.lua"
    measured.write_text(source, encoding="utf-8")
    warm.write_text(source + CHECK_LUA, encoding="utf-8")
    return measured, warm


def run(
    wrk: str,
    results: Results,
    args: Args,
    part: str,
    name: str,
    target: str,
    up: Running,
    script: tuple[Path, Path],
    load: Load,
    round_: int,
) -> None:
    if round_ == 1 and args.warmup > 0:
        failure = warm_up(wrk, script[1], up.port, replace(load, seconds=args.warmup))
        if failure is not None:
            progress(f"warning: {name} on {target} warm-up: {failure}")
        settle(up.pid)
    progress(f"{part} {name} {target} round {round_}/{args.rounds}...")
    cpu = cpu_seconds(up.pid)
    result = parse_wrk(run_wrk(wrk, script[0], up.port, load))
    cpu = cpu_seconds(up.pid) - cpu
    results.runs.append(Measured.of(part, name, target, round_, result, cpu))
    settle(up.pid)


def last_page_url(port: int, token: str, path_id: str) -> str:
    """The path's last page, by following `next` links from the first (tokens are opaque)."""
    url: str | None = f"/api/v2/paths/{path_id}/sessions"
    pages = 0
    while True:
        assert url is not None
        status, headers, body, _ = v2_request(port, "GET", url, token)
        if status != 200:
            raise BenchError(f"page {pages + 1} of {path_id}: status {status}: {body[:300]!r}")
        pages += 1
        following = next_page(headers)
        if following is None:
            return url
        url = following


def check_get(port: int, company: SizedCompany, token: str) -> None:
    session_id, path_id = company.drawn[0]
    status, _, body, _ = v2_request(
        port, "GET", f"/api/v2/paths/{path_id}/sessions/{session_id}", token
    )
    if status != 200 or json.loads(body).get("_id") != session_id:
        raise BenchError(f"v2 get-by-id of {session_id}: status {status}: {body[:300]!r}")


def stream_listing(port: int, company: SizedCompany, pid: int, server: str = "ours") -> Listing:
    """The v1 listing read to its end and discarded, the server's RSS sampled meanwhile."""
    memory = server_memory(pid)
    before = memory.rss_kb if memory is not None else 0
    peak = [before]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            now = server_memory(pid)
            if now is not None:
                peak[0] = max(peak[0], now.rss_kb)

    sampler = threading.Thread(target=sample, daemon=True)
    # curl reads the answer: Python's own chunked decoding would be the bottleneck, and the
    # figure would be the client's.
    curl_path = shutil.which("curl")
    if curl_path is None:
        raise BenchError("curl not found: it reads the v1 listing (apt-get install curl)")
    command = [
        curl_path,
        "-sS",
        "--fail",
        "-H",
        f"X-company-id: {company.company_id}",
        "-H",
        f"X-apiKey: {company.api_key}",
        f"http://127.0.0.1:{port}/api/v1/paths/sessions",
    ]
    sessions = size = 0
    tail = b""
    cpu = cpu_seconds(pid)
    started = time.monotonic()
    sampler.start()
    try:
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as curl:
            assert curl.stdout is not None
            assert curl.stderr is not None
            while chunk := curl.stdout.read(1 << 20):
                size += len(chunk)
                # A key may straddle two chunks: count with the previous one's tail.
                joined = tail + chunk
                sessions += joined.count(b'"sessionId"') - tail.count(b'"sessionId"')
                tail = joined[-16:]
            problem = curl.stderr.read().decode(errors="replace")
        if curl.returncode != 0:
            raise BenchError(f"v1 listing failed: {problem.strip()}")
    finally:
        seconds = time.monotonic() - started
        stop.set()
        sampler.join()
    if sessions != company.size:
        raise BenchError(f"v1 listing: {sessions:,} sessions, not {company.size:,}")
    return Listing(server, sessions, size, seconds, before, peak[0], cpu_seconds(pid) - cpu)


@contextlib.contextmanager
def waits(url: str | None) -> Iterator[Counter[str]]:
    """Samples of `pg_stat_activity` for the database of `url`, every 20 ms while the block
    runs: each backend's state and what it waits for (a lock, the WAL flush of a commit, the
    client: our server, between two statements of a transaction...)."""
    seen: Counter[str] = Counter()
    if url is None:
        yield seen
        return
    stop = threading.Event()
    database = url.rsplit("/", 1)[1]

    async def sample() -> None:
        conn = await asyncpg.connect(url)
        try:
            while not stop.is_set():
                rows = await conn.fetch(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity"
                    " WHERE datname = $1 AND pid <> pg_backend_pid()",
                    database,
                )
                seen["samples"] += 1
                for state, kind, event in rows:
                    seen[f"{state}/{kind or 'CPU'}:{event or '-'}"] += 1
                await asyncio.sleep(0.02)
        finally:
            await conn.close()

    sampler = threading.Thread(target=lambda: asyncio.run(sample()), daemon=True)
    sampler.start()
    try:
        yield seen
    finally:
        stop.set()
        sampler.join()


# --- the two parts -------------------------------------------------------------------------

KINDS = ("v1-get", "v2-get", "v2-deep-page")


def scale_part(wrk: str, args: Args, tmp: Path, results: Results) -> None:
    with contextlib.ExitStack() as stack:
        if args.backend == "sqlite":
            url = f"sqlite:///{tmp / 'scale.db'}"
        else:
            url = stack.enter_context(postgres_database(args.pg_url))
        _, companies = seed_companies(url, [("small", args.small), ("large", args.sessions)], False)
        up = stack.enter_context(our_server(url, 1, args, tmp / "scale.log", args.pg_pool))
        load = Load(connections=32, seconds=args.seconds, timeout=None)
        made: dict[tuple[str, str], tuple[Path, Path]] = {}
        for company in companies:
            label = f"{company.size:,}"
            token = v2_token(up.port, company.credential)
            check_get(up.port, company, token)
            started = time.monotonic()
            deep = last_page_url(up.port, token, company.deep_path_id)
            progress(
                f"{label}: last page of a path of {company.deep_sessions:,} sessions reached"
                f" in {time.monotonic() - started:.1f}s"
            )
            for kind in KINDS:
                source = (
                    page_script(deep, token)
                    if kind == "v2-deep-page"
                    else get_script(company, kind[:2], token)
                )
                made[kind, label] = scripts(tmp, f"{kind}-{company.size}", source)
        for round_ in range(1, args.rounds + 1):
            for kind in KINDS:
                # Small and large back to back, in turn first: drift hits both alike.
                order = companies if round_ % 2 else companies[::-1]
                for company in order:
                    label = f"{company.size:,}"
                    run(
                        wrk,
                        results,
                        args,
                        "scale",
                        kind,
                        label,
                        up,
                        made[kind, label],
                        load,
                        round_,
                    )
        large = companies[1]
        for i in range(args.listings):
            progress(f"v1 listing of {large.size:,} sessions, {i + 1}/{args.listings}...")
            listing = stream_listing(up.port, large, up.pid)
            results.listings.append(listing)
            progress(
                f"  {listing.sessions_per_second:,.0f} sessions/s,"
                f" RSS +{listing.rss_growth_mb:.1f} MB"
            )
            settle(up.pid)


def listing_part(args: Args, tmp: Path, results: Results) -> None:
    """The v1 listing alone: quicker than `scale` (no wrk rounds, one company), and with
    `--baseline-src`, the same listing by another checkout's code, alternating with ours."""
    with contextlib.ExitStack() as stack:
        if args.backend == "sqlite":
            url = f"sqlite:///{tmp / 'listing.db'}"
        else:
            url = stack.enter_context(postgres_database(args.pg_url))
        _, (large,) = seed_companies(url, [("large", args.sessions)], False)
        up = {"ours": stack.enter_context(our_server(url, 1, args, tmp / "ours.log"))}
        if args.baseline_src is not None:
            up["baseline"] = stack.enter_context(
                our_server(url, 1, args, tmp / "baseline.log", src=args.baseline_src)
            )
        for i in range(args.listings):
            # In turn first: the machine's drift hits both alike.
            order = list(up) if i % 2 == 0 else list(up)[::-1]
            for name in order:
                listing = stream_listing(up[name].port, large, up[name].pid, name)
                results.listings.append(listing)
                progress(
                    f"  {name}: {listing.sessions_per_second:,.0f} sessions/s,"
                    f" {listing.sessions / max(listing.cpu_seconds, 1e-9):,.0f} per CPU-second,"
                    f" RSS +{listing.rss_growth_mb:.1f} MB"
                )
                settle(up[name].pid)


def pg_part(wrk: str, args: Args, tmp: Path, results: Results) -> None:
    if "create" in args.pg_loads:
        create_comparison(wrk, args, tmp, results)
    if "mixed" in args.pg_loads:
        mixed_comparison(wrk, args, tmp, results)


def reader_size(args: Args) -> int:
    return min(PG_READER_SESSIONS, args.sessions)


def create_comparison(wrk: str, args: Args, tmp: Path, results: Results) -> None:
    with contextlib.ExitStack() as stack:
        pg_url = stack.enter_context(postgres_database(args.pg_url))
        urls = {"sqlite": f"sqlite:///{tmp / 'create.db'}", "postgresql": pg_url}
        for backend, url in urls.items():
            progress(f"seeding {backend}...")
            # The same seed: the same data on both.
            data, _ = seed_companies(url, [("reader", reader_size(args))], True)
        create = scripts(tmp, "create", create_session_script(data))
        # One worker each, both up for the whole comparison: their rounds alternate.
        ups = {
            backend: stack.enter_context(
                our_server(url, 1, args, tmp / f"create-{backend}.log", args.pg_pool)
            )
            for backend, url in urls.items()
        }
        load = Load(connections=32, seconds=args.seconds, timeout=None)
        for round_ in range(1, args.rounds + 1):
            for backend, up in ups.items():
                run(wrk, results, args, "pg", "create-c32-w1", backend, up, create, load, round_)


def mixed_comparison(wrk: str, args: Args, tmp: Path, results: Results) -> None:
    """Two workers: a fresh server per backend, one at a time, so that the other's workers do
    not share the CPUs."""
    with contextlib.ExitStack() as stack:
        pg_url = stack.enter_context(postgres_database(args.pg_url))
        sqlite_url = f"sqlite:///{tmp / 'mixed.db'}"
        for backend, url in (("sqlite", sqlite_url), ("postgresql", pg_url)):
            if backend not in args.mixed_backends:
                continue
            data, (reader,) = seed_companies(url, [("reader", reader_size(args))], True)
            source = mixed_script(
                reader,
                data.company_id,
                data.api_key,
                data.path_ids,
                data.group_ids,
                data.user_mails,
            )
            mixed = scripts(tmp, f"mixed-{backend}", source)
            with our_server(url, 2, args, tmp / f"mixed-{backend}.log", args.pg_pool) as up:
                load = Load(connections=256, seconds=args.seconds, timeout=None)
                for round_ in range(1, args.rounds + 1):
                    with waits(url if backend == "postgresql" else None) as seen:
                        run(
                            wrk,
                            results,
                            args,
                            "pg",
                            "mixed-c256-w2",
                            backend,
                            up,
                            mixed,
                            load,
                            round_,
                        )
                    if seen:
                        results.waits.append(dict(seen))


# --- output --------------------------------------------------------------------------------


def summary(args: Args, results: Results) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if args.part == "listing":
        for name in dict.fromkeys(x.server for x in results.listings):
            mine = [x for x in results.listings if x.server == name]
            out[f"v1-listing-{name}"] = {
                "sessions/s": statistics.median(x.sessions_per_second for x in mine),
                "sessions/cpu-s": statistics.median(x.sessions / x.cpu_seconds for x in mine),
                "rss_growth_mb": max(x.rss_growth_mb for x in mine),
                "answer_mb": mine[0].answer_bytes / 1e6,
            }
    if args.part in ("scale", "all"):
        small, large = f"{args.small:,}", f"{args.sessions:,}"
        for kind in KINDS:
            rate_small = results.median("scale", kind, small, "requests_per_second")
            rate_large = results.median("scale", kind, large, "requests_per_second")
            p50_small = results.median("scale", kind, small, "p50_ms")
            p50_large = results.median("scale", kind, large, "p50_ms")
            cpu_small = results.median("scale", kind, small, "cpu_us")
            cpu_large = results.median("scale", kind, large, "cpu_us")
            out[kind] = {
                "req/s": [rate_small, rate_large],
                "cpu_us_per_request": [cpu_small, cpu_large],
                "p50_ms": [p50_small, p50_large],
                "p99_ms": [
                    results.median("scale", kind, small, "p99_ms"),
                    results.median("scale", kind, large, "p99_ms"),
                ],
                # The cost of one request at the large size over the small: 1.0 is flat. By
                # the server's CPU time per answer, and by throughput (which moves with
                # whatever else the machine runs).
                "cost_ratio": cpu_large / cpu_small,
                "throughput_ratio": rate_small / rate_large,
            }
        if results.listings:
            out["v1-listing"] = {
                "sessions/s": statistics.median(x.sessions_per_second for x in results.listings),
                # What the server would do with a CPU of its own.
                "sessions/cpu-s": statistics.median(
                    x.sessions / x.cpu_seconds for x in results.listings
                ),
                "rss_growth_mb": max(x.rss_growth_mb for x in results.listings),
                "answer_mb": results.listings[0].answer_bytes / 1e6,
            }
    if args.part in ("pg", "all"):
        for name in ("create-c32-w1", "mixed-c256-w2"):
            entry: dict[str, Any] = {
                backend: {
                    metric: results.median("pg", name, backend, metric)
                    for metric in ("requests_per_second", "p50_ms", "p99_ms")
                }
                for backend in ("sqlite", "postgresql")
            }
            entry["postgresql/sqlite"] = (
                entry["postgresql"]["requests_per_second"] / entry["sqlite"]["requests_per_second"]
            )
            out[name] = entry
    return out


def print_table(results: Results) -> None:
    print(
        f"{'part':6} {'name':15} {'target':12} {'rnd':>3} {'req/s':>9} {'p50':>10} {'p99':>10}"
        f" {'non-2xx':>8} {'errors':>7} {'cpu us/req':>10}"
    )
    for r in results.runs:
        print(
            f"{r.part:6} {r.name:15} {r.target:12} {r.round:3d} {r.requests_per_second:9,.0f}"
            f" {r.p50_ms:8.2f}ms {r.p99_ms:8.2f}ms {r.non_2xx:8d} {r.socket_errors:7d}"
            f" {r.cpu_us:10.0f}"
        )
    for x in results.listings:
        print(
            f"v1 listing ({x.server}): {x.sessions:,} sessions, {x.answer_bytes / 1e6:,.0f} MB in"
            f" {x.seconds:.2f}s: {x.sessions_per_second:,.0f} sessions/s,"
            f" {x.sessions / max(x.cpu_seconds, 1e-9):,.0f} per CPU-second,"
            f" RSS {x.rss_before_kb / 1024:.0f} MB -> peak {x.rss_peak_kb / 1024:.0f} MB"
            f" (+{x.rss_growth_mb:.1f} MB)"
        )


def print_summary(out: dict[str, Any]) -> None:
    for kind in KINDS:
        if kind in out:
            e = out[kind]
            print(
                f"{kind}: {e['req/s'][0]:,.0f} vs {e['req/s'][1]:,.0f} req/s, p50"
                f" {e['p50_ms'][0]:.2f} vs {e['p50_ms'][1]:.2f} ms, CPU"
                f" {e['cpu_us_per_request'][0]:.0f} vs {e['cpu_us_per_request'][1]:.0f} us a"
                f" request: large costs {e['cost_ratio']:.2f}x small (throughput:"
                f" {e['throughput_ratio']:.2f}x)"
            )
    for key in [key for key in out if key.startswith("v1-listing")]:
        e = out[key]
        print(
            f"{key}: {e['sessions/s']:,.0f} sessions/s ({e['sessions/cpu-s']:,.0f} per"
            f" second of the server's CPU), RSS growth {e['rss_growth_mb']:.1f} MB"
        )
    for name in ("create-c32-w1", "mixed-c256-w2"):
        if name in out:
            e = out[name]
            sq, pg = e["sqlite"], e["postgresql"]
            print(
                f"{name}: PostgreSQL {pg['requests_per_second']:,.0f} req/s p99"
                f" {pg['p99_ms']:.1f} ms; SQLite {sq['requests_per_second']:,.0f} req/s p99"
                f" {sq['p99_ms']:.1f} ms; PostgreSQL at {e['postgresql/sqlite']:.0%} of SQLite"
            )


def print_waits(results: Results) -> None:
    for i, seen in enumerate(results.waits, 1):
        samples = max(seen.get("samples", 1), 1)
        backends = sorted(
            ((n / samples, key) for key, n in seen.items() if key != "samples"), reverse=True
        )
        print(
            f"mixed on PostgreSQL, round {i}: backends by state/wait, on average over"
            f" {samples} samples: " + ", ".join(f"{key} {n:.1f}" for n, key in backends[:8])
        )


def parse_args(argv: Sequence[str] | None) -> Args:
    parser = argparse.ArgumentParser(prog="bench.scale", description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("scale", "pg", "listing", "all"), default="all")
    parser.add_argument("--seconds", type=int, help="measured run length (10; --smoke: 1)")
    parser.add_argument("--rounds", type=int, help="runs per measurement, medians (3; smoke 1)")
    parser.add_argument("--warmup", type=int, help="unmeasured seconds first (2; --smoke: 0)")
    parser.add_argument("--sessions", type=int, help="the large company (1,000,000; smoke 5,000)")
    parser.add_argument("--small", type=int, default=1000, help="the small company (1,000)")
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the backend of the scale part (sqlite)",
    )
    parser.add_argument("--pg-url", default=PG_URL, help=f"a PostgreSQL server ({PG_URL})")
    parser.add_argument("--pg-pool", type=int, help="PATHSESSIONS_PG_POOL_SIZE (its default)")
    parser.add_argument(
        "--pg-loads", default="create,mixed", help="the pg part's loads (create,mixed)"
    )
    parser.add_argument(
        "--mixed-backends",
        default="sqlite,postgresql",
        help="the backends of the mixed load (sqlite,postgresql)",
    )
    parser.add_argument("--listings", type=int, help="v1 listings of the large company (2)")
    parser.add_argument(
        "--baseline-src",
        metavar="DIR",
        help="listing part: also list with the code of DIR (another checkout's src), alternating",
    )
    parser.add_argument("--no-access-log", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--smoke", action="store_true", help="every measurement once, briefly, on small companies"
    )
    a = parser.parse_args(argv)
    return Args(
        part=a.part,
        seconds=a.seconds or (1 if a.smoke else 10),
        rounds=a.rounds or (1 if a.smoke else 3),
        warmup=a.warmup if a.warmup is not None else (0 if a.smoke else 2),
        sessions=a.sessions or (5_000 if a.smoke else 1_000_000),
        small=a.small,
        backend=a.backend,
        pg_url=a.pg_url,
        pg_pool=a.pg_pool,
        pg_loads=tuple(a.pg_loads.split(",")),
        mixed_backends=tuple(a.mixed_backends.split(",")),
        listings=a.listings or (1 if a.smoke else 2),
        baseline_src=a.baseline_src,
        access_log=not a.no_access_log,
        json=a.json,
        keep=a.keep,
        smoke=a.smoke,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = find_wrk() if args.part != "listing" else ""
    if wrk is None:
        print(
            "wrk not found, and it could not be installed (bench/install_wrk.sh)", file=sys.stderr
        )
        return 2
    signal.signal(signal.SIGTERM, _interrupted)
    tmp = Path(tempfile.mkdtemp(prefix="pathsessions-scale-"))
    results = Results()
    try:
        if args.part in ("scale", "all"):
            scale_part(wrk, args, tmp, results)
        if args.part in ("pg", "all"):
            pg_part(wrk, args, tmp, results)
        if args.part == "listing":
            listing_part(args, tmp, results)
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
    out = summary(args, results)
    if args.json:
        document = {
            "runs": [asdict(r) for r in results.runs],
            "listings": [
                {
                    **asdict(x),
                    "sessions_per_second": x.sessions_per_second,
                    "rss_growth_mb": x.rss_growth_mb,
                }
                for x in results.listings
            ],
            "summary": out,
            "postgresql_waits": results.waits,
        }
        print(json.dumps(document, indent=2))
    else:
        print_table(results)
        print_summary(out)
        print_waits(results)
    for failure in results.failures():
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if results.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
