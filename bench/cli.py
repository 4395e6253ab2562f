"""The benchmark: the real server against the raw ASGI ceiling, under the same wrk load.

One invocation seeds a fresh SQLite database in a temporary directory, serves it with
`pathsessions serve`, drives each scenario's requests with wrk, does the same against
bench/raw_app.py on the same uvicorn stack, and prints requests/s, p50, p99, failed answers and
our throughput as a share of the ceiling. Scenarios without a ceiling (a whole company's
sessions in one streamed answer) report sessions/s, the answer size and the server's memory
instead. See bench/README.md.

    .venv/bin/python -m bench [--seconds 10] [--workers 1] [--connections 32] [--warmup 2]
                              [--rounds 1] [--scenario NAME] [--no-access-log] [--json]
                              [--keep] [--smoke]

(`./dev bench` and `.venv/bin/python bench/bench.py` run the same.)

Exit status: 0 when every request to our server got a 2xx answer without socket errors, 1 when
some did not, 2 when the benchmark could not run (wrk missing, a server that would not start),
130 when interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import NoReturn

from pathsessions.storage import migrate, open_database

from .common import SEED, BenchError, Options, progress
from .load import CHECK_LUA, Load, find_wrk, parse_wrk, run_wrk, warm_up
from .report import Report, Run, ScenarioReport, print_json, print_table
from .scenarios import SCENARIOS, Scenario
from .seed import Dataset, count_sessions, make_dataset, seed_base
from .servers import Running, server_memory, servers, serving, settle


def seed(database_url: str, scenarios: list[Scenario]) -> Dataset:
    """A fresh database, migrated, with the base data set and the scenarios' own data."""
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


def load_of(options: Options, scenario: Scenario) -> Load:
    return Load(
        connections=scenario.connections or options.connections,
        seconds=options.seconds,
        timeout=scenario.timeout,
    )


def measure(options: Options, wrk: str, scenarios: list[Scenario], tmp: Path) -> Report:
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
        for server in servers(options, database_url):
            up = stack.enter_context(serving(server, tmp / f"{server.name}.log"))
            progress(f"{server.label}: 127.0.0.1:{up.port}, {options.workers} worker(s)")
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
            load = load_of(options, scenario)
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
                if options.warmup > 0:
                    warm_load = replace(load, seconds=options.warmup)
                    failures = warm_up(wrk, warm, up.port, warm_load)
                    if failures is not None:
                        label = up.server.label
                        progress(f"warning: {label} {scenario.name} warm-up: {failures}")
                    wait_idle(up, f"{scenario.name} warm-up")
            for round_ in range(1, options.rounds + 1):
                for up in targets:
                    label = up.server.label
                    progress(f"{scenario.name} round {round_}/{options.rounds}: {label}...")
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


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="bench",
        description="Benchmark pathsessions against a raw ASGI ceiling (bench/README.md).",
        epilog="scenarios: " + "; ".join(f"{s.name}: {s.description}" for s in SCENARIOS),
    )
    parser.add_argument("--seconds", type=int, help="measured run length (10; --smoke: 1)")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (1)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument(
        "--warmup", type=int, help="unmeasured seconds per scenario and server (2; --smoke: 1)"
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
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="check that every scenario runs: 1 s runs, 1 s warm-ups, a smaller data set;"
        " its figures are not for comparing",
    )
    args = parser.parse_args(argv)
    if args.seconds is None:
        args.seconds = 1 if args.smoke else 10
    if args.warmup is None:
        args.warmup = 1 if args.smoke else 2
    for name in ("seconds", "workers", "connections", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    return Options(
        seconds=args.seconds,
        workers=args.workers,
        connections=args.connections,
        warmup=args.warmup,
        rounds=args.rounds,
        scenarios=None if args.scenario is None else tuple(args.scenario),
        access_log=not args.no_access_log,
        json=args.json,
        keep=args.keep,
        smoke=args.smoke,
    )


def _interrupted(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    wrk = find_wrk()
    if wrk is None:
        print(
            "wrk not found, and it could not be installed: install it (apt-get install wrk),"
            " or run bench/install_wrk.sh as root",
            file=sys.stderr,
        )
        return 2
    scenarios = [s for s in SCENARIOS if options.scenarios is None or s.name in options.scenarios]
    # A plain `kill` must stop the servers too: unwind through the same cleanup as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupted)
    tmp = Path(tempfile.mkdtemp(prefix="pathsessions-bench-"))
    try:
        report = measure(options, wrk, scenarios, tmp)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if options.keep:
            progress(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if options.json:
        print_json(options, report)
    else:
        print_table(options, report)
    for failure in report.failures():
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if report.failures() else 0
