"""wrk: the load, its scripts' failure check, and reading its report."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .common import BenchError, progress

INSTALL_WRK = Path(__file__).resolve().parent / "install_wrk.sh"
# Beyond the run itself: wrk's own start-up and the last in-flight answers.
WRK_GRACE = 30.0

# Appended to warm-up scripts only: a Lua `response` hook costs wrk time on every answer, which
# would lower both measured runs. It reports the first failed answer, to say why a run fails.
CHECK_LUA = """
-- Added by the benchmark for the warm-up run.
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


def find_wrk() -> str | None:
    """wrk's path; installed first when it is missing and can be (`install_wrk.sh`)."""
    found = shutil.which("wrk")
    if found is not None:
        return found
    progress(f"wrk not found: {INSTALL_WRK.name} installs it")
    subprocess.run([shutil.which("bash") or "/bin/bash", str(INSTALL_WRK)], check=False)
    return shutil.which("wrk")
