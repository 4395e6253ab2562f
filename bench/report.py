"""The figures: every run, the medians over rounds, the table and the JSON document."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .common import Options
from .load import Load, WrkResult
from .scenarios import Probe
from .seed import DEEP_PAGE, DEEP_SESSIONS
from .servers import Memory


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


LABELS = {"pathsessions": "pathsessions", "raw": "raw ASGI"}


def rate(value: float) -> str:
    # A streamed list answers a few times a second: whole numbers would hide the figure.
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def latency(ms: float) -> str:
    # Ten characters either way, so the columns stay aligned.
    return f"{ms:>7.2f} ms" if ms < 1000 else f"{ms / 1000:>7.2f} s "


def mb(kilobytes: int) -> str:
    return f"{kilobytes / 1024:,.1f} MB"


def print_table(options: Options, report: Report) -> None:
    rounds = f", median of {options.rounds} rounds" if options.rounds > 1 else ""
    defaults = Load(options.connections, options.seconds, None)
    overrides = [
        f"{s.name}: {s.load.differences(defaults)}" for s in report.scenarios if s.load != defaults
    ]
    access_log = "on" if options.access_log else "off"
    print(
        f"wrk {' '.join(defaults.options())}"
        + (f" ({'; '.join(overrides)})" if overrides else "")
        + f"{rounds}, {options.workers} worker(s), access log {access_log}, "
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


def print_json(options: Options, report: Report) -> None:
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
        "seconds": options.seconds,
        "workers": options.workers,
        "connections": options.connections,
        "warmup": options.warmup,
        "rounds": options.rounds,
        "access_log": options.access_log,
        "smoke": options.smoke,
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
