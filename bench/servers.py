"""Our server and the raw ceiling (`raw_app.py`): started on free ports, watched, stopped;
their memory and CPU time read from /proc."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .common import BenchError, Options

BENCH_DIR = Path(__file__).resolve().parent
STARTUP_TIMEOUT = 30.0
# Between runs: how long to wait for a server to go idle, polling its CPU time this often, and
# the CPU share under which it counts as idle.
SETTLE_TIMEOUT = 60.0
SETTLE_POLL = 0.25
SETTLE_IDLE_SHARE = 0.05


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


def servers(options: Options, database_url: str) -> list[Server]:
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
    if not options.access_log:
        ours["PATHSESSIONS_ACCESS_LOG"] = "false"
    workers = ["--workers", str(options.workers)]
    return [
        Server("pathsessions", "pathsessions", [str(cli), "serve", *workers], ours),
        Server("raw", "raw ASGI", [sys.executable, str(BENCH_DIR / "raw_app.py"), *workers], env),
    ]
