"""The benchmark: the real server against the raw ASGI ceiling, under the same wrk load.

One invocation seeds a fresh SQLite database in a temporary directory, serves it with
`pathsessions serve`, drives each scenario's requests with wrk, does the same against
bench/raw_app.py on the same uvicorn stack, and prints requests/s, p50, p99, failed answers and
our throughput as a share of the ceiling. See bench/README.md.

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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from pathsessions.domain import now_ms
from pathsessions.keys import hash_key
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
    now = now_ms()
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
class Scenario:
    """One load shape: its extra data, and the wrk script that sends its requests.

    `script` answers the Lua source for a seeded data set; it defines `init` and `request` and
    must leave `setup`, `response` and `done` free (the warm-up run adds its own). `seed` runs
    after the base seed and before any server starts; data a scenario adds should live in its
    own company so that it does not change what the other scenarios measure.
    """

    name: str
    description: str
    script: Callable[[Dataset], str]
    seed: SeedStep | None = None


def lua_strings(values: Sequence[str]) -> str:
    """A Lua table of string literals. JSON string syntax is valid Lua for printable ASCII."""
    for value in values:
        if not value.isascii() or not value.isprintable():
            raise ValueError(f"not a plain ASCII string: {value!r}")
    return "{" + ",".join(json.dumps(value) for value in values) + "}"


def lua_auth_headers(data: Dataset) -> str:
    return (
        '{["Content-Type"] = "application/json", '
        f'["X-company-id"] = {json.dumps(data.company_id)}, '
        f'["X-apiKey"] = {json.dumps(data.api_key)}}}'
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
        headers=lua_auth_headers(data),
        seed=SEED,
    )


SCENARIOS = [
    Scenario(
        name="create-session",
        description="POST /api/v1/paths/{pathId}/sessions/, one instructor, ~250-byte body",
        script=create_session_script,
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


def _duration_ms(value: str, unit: str) -> float:
    return float(value) * _UNIT_MS[unit]


def parse_wrk(output: str) -> WrkResult:
    """Read wrk's `--latency` report (wrk 4.x text format)."""

    def find(pattern: str) -> re.Match[str]:
        m = re.search(pattern, output, re.MULTILINE)
        if m is None:
            raise BenchError(f"unexpected wrk output (no match for {pattern!r}):\n{output}")
        return m

    total = find(r"^\s*(\d+) requests in " + _DURATION)
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
        requests_per_second=float(rate.group(1)),
        p50_ms=_duration_ms(p50.group(1), p50.group(2)),
        p99_ms=_duration_ms(p99.group(1), p99.group(2)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors={k: int(socket.group(i + 1)) if socket else 0 for i, k in enumerate(kinds)},
        output=output,
    )


def run_wrk(wrk: str, script: Path, port: int, connections: int, seconds: int) -> str:
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    command.append(f"http://127.0.0.1:{port}/")
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + WRK_GRACE, check=False
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {seconds + WRK_GRACE:.0f}s") from None
    if done.returncode != 0:
        raise BenchError(f"wrk failed with status {done.returncode}:\n{done.stderr}{done.stdout}")
    return done.stdout


def warm_up(wrk: str, script: Path, port: int, connections: int, seconds: int) -> str | None:
    """An unmeasured run; answers a description of its failed answers, if any."""
    output = run_wrk(wrk, script, port, connections, seconds)
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


@contextlib.contextmanager
def serving(server: Server, log: Path) -> Iterator[int]:
    """Start `server` on a free port, wait until it answers GET /health, yield the port."""
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
        yield port
    finally:
        stop(process)


def servers(args: argparse.Namespace, database_url: str) -> list[Server]:
    bin_dir = Path(sys.executable).parent
    cli = bin_dir / "pathsessions"
    if not cli.exists():
        raise BenchError(f"{cli} not found: run this with the project's .venv/bin/python")
    # Settings come from the benchmark alone, not from whatever the caller's shell exports.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHSESSIONS_")}
    ours = dict(env, PATHSESSIONS_DATABASE_URL=database_url)
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
        )


@dataclass(frozen=True)
class Report:
    runs: list[Run]
    sessions_written: int

    def summaries(self) -> list[Summary]:
        groups: dict[tuple[str, str], list[Run]] = {}
        for run in self.runs:
            groups.setdefault((run.scenario, run.server), []).append(run)
        return [Summary.of(runs) for runs in groups.values()]

    def percent_of_ceiling(self) -> dict[str, float]:
        """Per scenario, the median over rounds of our req/s over the raw app's in that round.

        Pairing runs a few seconds apart cancels most of what other load on a shared machine
        does to both; medians then drop the rounds where it hit one run and not the other.
        """
        rates = {(r.scenario, r.server, r.round): r.result.requests_per_second for r in self.runs}
        percents: dict[str, list[float]] = {}
        for (scenario, server, round_), rate in rates.items():
            ceiling = rates.get((scenario, "raw", round_))
            if server == "pathsessions" and ceiling:
                percents.setdefault(scenario, []).append(100 * rate / ceiling)
        return {scenario: statistics.median(values) for scenario, values in percents.items()}

    def failures(self) -> list[Summary]:
        return [
            s
            for s in self.summaries()
            if s.server == "pathsessions" and (s.non_2xx or s.socket_errors)
        ]


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


def measure(args: argparse.Namespace, wrk: str, scenarios: list[Scenario], tmp: Path) -> Report:
    database_url = f"sqlite:///{tmp / 'bench.db'}"
    started = time.monotonic()
    data = seed(database_url, scenarios)
    seeded = asyncio.run(count_sessions(database_url))
    progress(f"seeded {database_url} in {time.monotonic() - started:.1f}s")

    scripts: dict[str, tuple[Path, Path]] = {}
    for scenario in scenarios:
        source = scenario.script(data)
        measured, warm = tmp / f"{scenario.name}.lua", tmp / f"{scenario.name}-warmup.lua"
        measured.write_text(source, encoding="utf-8")
        warm.write_text(source + CHECK_LUA, encoding="utf-8")
        scripts[scenario.name] = (measured, warm)

    runs: list[Run] = []
    with contextlib.ExitStack() as stack:
        # Both servers up for the whole run (an idle one costs nothing) so that each round
        # measures ours and the ceiling back to back.
        ports: list[tuple[Server, int]] = []
        for server in servers(args, database_url):
            port = stack.enter_context(serving(server, tmp / f"{server.name}.log"))
            progress(f"{server.label}: 127.0.0.1:{port}, {args.workers} worker(s)")
            ports.append((server, port))
        for scenario in scenarios:
            measured, warm = scripts[scenario.name]
            for server, port in ports:
                if args.warmup > 0:
                    failures = warm_up(wrk, warm, port, args.connections, args.warmup)
                    if failures is not None:
                        progress(f"warning: {server.label} {scenario.name} warm-up: {failures}")
            for round_ in range(1, args.rounds + 1):
                for server, port in ports:
                    progress(f"{scenario.name} round {round_}/{args.rounds}: {server.label}...")
                    output = run_wrk(wrk, measured, port, args.connections, args.seconds)
                    runs.append(Run(scenario.name, server.name, round_, parse_wrk(output)))
    written = asyncio.run(count_sessions(database_url)) - seeded
    return Report(runs, written)


LABELS = {"pathsessions": "pathsessions", "raw": "raw ASGI"}


def print_table(args: argparse.Namespace, report: Report) -> None:
    rounds = f", median of {args.rounds} rounds" if args.rounds > 1 else ""
    print(
        f"wrk -t1 -c{args.connections} -d{args.seconds}s --latency{rounds}, "
        f"{args.workers} worker(s), access log {'off' if args.no_access_log else 'on'}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    header = f"{'scenario':<16} {'server':<13} {'req/s':>9} {'p50':>10} {'p99':>10}"
    print(header + f" {'non-2xx':>8} {'socket errors':>14}")
    for s in report.summaries():
        print(
            f"{s.scenario:<16} {LABELS[s.server]:<13} {s.requests_per_second:>9,.0f}"
            f" {s.p50_ms:>7.2f} ms {s.p99_ms:>7.2f} ms {s.non_2xx:>8,} {s.socket_errors:>14,}"
        )
    for scenario, percent in report.percent_of_ceiling().items():
        print(f"{scenario}: pathsessions at {percent:.1f} % of the raw ceiling")
    # Proof that the answers were real writes: warm-up and in-flight requests add to the count.
    print(f"path sessions written during the runs: {report.sessions_written:,}")


def print_json(args: argparse.Namespace, report: Report) -> None:
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
        "summaries": [asdict(s) for s in report.summaries()],
        "percent_of_ceiling": report.percent_of_ceiling(),
        "runs": [run.as_json() for run in report.runs],
        "sessions_written": report.sessions_written,
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
    for s in report.failures():
        print(
            f"FAIL {s.scenario}: {s.non_2xx} non-2xx answers, {s.socket_errors} socket errors",
            file=sys.stderr,
        )
    return 1 if report.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
