"""Webhook delivery, measured against a real `pathsessions serve` (docs/api-v2.md §8).

One invocation, on a fresh SQLite file (or `--database-url`, an empty database it may fill):

1. loads tests/fixtures/example.json with the CLI, starts `pathsessions serve` on a free port
   of 127.0.0.1 with `PATHSESSIONS_WEBHOOK_PRIVATE_TARGETS=true` (and `--delivery`,
   `--niceness`, `--workers`), and a receiver (a raw asyncio HTTP server in this process,
   answering 204) on another;
2. for each `--connections` count (default 2 and 32), alternated, `--rounds` times each:
   `wrk -t1 -c<n> -d<duration>s --latency` on v1's create with no subscription (one made
   inactive, which queues nothing), with one active `path.session.added` subscription whose
   receiver gets every create ("held": the delivery process stopped while the load runs, so
   only the outbox is written; then "active": delivered while the load runs); each run also
   reads the request processes' CPU time from /proc (CPU per create) and counts the
   deliveries made meanwhile;
3. waits until the backlog is delivered (duplicates counted);
4. latency after commit: `--samples` creates one at a time; for each, the time from its answer
   received (the write is committed before the answer is sent) to its event received;
5. deliveries per second: `--burst` delivered events made due again at once, no request load
   (first arrival to last), and the delivery process's CPU per delivery;
6. prints the table (medians, and the ratios one / none and one / held) and stops the server.

    .venv/bin/python bench/webhooks.py [--duration 10] [--rounds 3] [--samples 200]
        [--connections 2,32] [--burst 2000] [--database-url URL] [--delivery process|inline]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from pathsessions.storage import open_database

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "tests" / "fixtures" / "example.json"
TOKEN_SECRET = "a-token-secret-for-the-webhook-benchmark-0123456789"  # noqa: S105 - a throwaway server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Receiver:
    """Records when each event arrives, by the session it names."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.ids: list[str] = []
        self.stamps: list[float] = []  # every arrival's time, in order
        self.arrived = asyncio.Event()
        self.port = 0

    async def start(self) -> None:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: *(\d+)", head)[1])  # type: ignore[index]
                body = await reader.readexactly(length)
                now = time.perf_counter()
                self.ids.append(re.search(rb"(?i)webhook-id: *(\S+)", head)[1].decode())  # type: ignore[index]
                self.arrivals[json.loads(body)["data"]["sessionId"]] = now
                self.stamps.append(now)
                self.arrived.set()
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went, or the benchmark ends
        finally:
            writer.close()


async def wrk(url: str, script: Path, duration: int, connections: int = 32) -> dict[str, float]:
    proc = await asyncio.create_subprocess_exec(
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "-s",
        str(script),
        url,
        stdout=subprocess.PIPE,
    )
    out = (await proc.communicate())[0].decode()
    found = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])}  # type: ignore[index]
    found["requests"] = float(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)", out, re.M)
        if m:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m[2]]
            found[f"p{pct}"] = float(m[1]) * scale
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    found["errors"] = float(m[1]) if m else 0.0
    return found


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(group: int, delivery: int | None) -> tuple[float, float]:
    """CPU time (user + system) so far of the server's processes (its process group): the
    request processes', and the delivery process's. Unlike a rate, it does not depend on how
    much of the machine others take meanwhile."""
    requests = deliveries = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) != group:
            continue
        used = (int(fields[11]) + int(fields[12])) / TICK
        if int(stat.parent.name) == delivery:
            deliveries += used
        else:
            requests += used
    return requests, deliveries


async def sql(url: str, statement: str, *args: Any) -> list[Any]:
    db = await open_database(url, pg_pool_size=1)
    try:
        if statement.lstrip().upper().startswith("SELECT"):
            return list(await db.fetchall(statement, *args))
        await db.execute(statement, *args)
        return []
    finally:
        await db.close()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(len(ordered) * pct) - 1)] if ordered else 0.0


async def held(pid: int) -> None:
    """Stop the delivery process once it is idle (sleeping, as its poll between two looks),
    so that it holds no database lock while stopped."""
    for _ in range(200):
        with contextlib.suppress(OSError):
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
            if state == "S":
                os.kill(pid, signal.SIGSTOP)
                return
        await asyncio.sleep(0.01)
    os.kill(pid, signal.SIGSTOP)


def connection_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be numbers separated by commas: {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"each must be at least 1: {text!r}")
    return counts


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--samples", type=int, default=200, help="creates timed one by one")
    parser.add_argument("--rounds", type=int, default=3, help="create runs of each kind")
    parser.add_argument("--database-url", default="", help="an empty database (default: SQLite)")
    parser.add_argument(
        "--connections",
        type=connection_counts,
        default=[2, 32],
        help="wrk's connections, one or more separated by commas (default 2,32): 1 or 2 shows "
        "a request's own latency, 32 saturates one process",
    )
    parser.add_argument("--workers", type=int, default=1, help="the server's worker processes")
    parser.add_argument(
        "--delivery",
        choices=("process", "inline"),
        default="process",
        help="PATHSESSIONS_WEBHOOK_DELIVERY of the server (default: process)",
    )
    parser.add_argument(
        "--niceness", type=int, default=None, help="PATHSESSIONS_WEBHOOK_NICENESS of the server"
    )
    parser.add_argument(
        "--burst", type=int, default=2000, help="events sent again at once, for deliveries/s"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    example = json.loads(EXAMPLE.read_text())["companies"][0]
    company, key = example["id"], example["apiKeys"][0]
    path, group = example["paths"][0]["id"], example["groups"][0]["id"]
    tmp = Path(tempfile.mkdtemp(prefix="pathsessions-webhooks-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHSESSIONS_")}
    env.update(
        PATHSESSIONS_DATABASE_URL=url,
        PATHSESSIONS_TOKEN_SECRET=TOKEN_SECRET,
        PATHSESSIONS_RATE_LIMITS="false",
        PATHSESSIONS_ACCESS_LOG="false",
        PATHSESSIONS_WEBHOOK_PRIVATE_TARGETS="true",
        PATHSESSIONS_WEBHOOK_DELIVERY=args.delivery,
    )
    if args.niceness is not None:
        env["PATHSESSIONS_WEBHOOK_NICENESS"] = str(args.niceness)
    cli = [sys.executable, "-m", "pathsessions"]
    subprocess.run([*cli, "load", str(EXAMPLE)], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "serve.err").open("wb"),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        receiver = Receiver()
        await receiver.start()
        delivery = None
        for _ in range(400 if args.delivery == "process" else 0):
            m = re.search(
                r"webhook delivery process (\d+) started", (tmp / "serve.err").read_text()
            )
            if m:
                delivery = int(m[1])
                break
            await asyncio.sleep(0.05)
        body = json.dumps(
            {
                "sessionName": "Bench",
                "startDate": "2030-01-01T09:00:00.000Z",
                "sessionOwnerGroup": group,
            }
        )
        script = tmp / "create.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(body)}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["X-company-id"] = "{company}"\n'
            f'wrk.headers["X-apiKey"] = "{key}"\n'
        )
        create_url = f"{base}/api/v1/paths/{path}/sessions/"
        await wrk(create_url, script, 2)  # warm-up
        await sql(
            url,
            "INSERT INTO webhook_subscriptions (id, company_id, event_type, name, url, status,"
            " secret, created_at, modified_at) VALUES (?, ?, 'path.session.added', 'bench', ?,"
            " 'inactive', 'bench-secret', 0, 0)",
            "7b00000000000000000000be",
            company,
            f"http://127.0.0.1:{receiver.port}/hook",
        )
        # Alternated, so that none gains from running on the smaller database, nor from a
        # quieter moment of the machine: an inactive subscription queues nothing, as none.
        # "held": active, the delivery process stopped (SIGSTOP) while the load runs, so the
        # creates write their outbox rows and nothing is delivered: what the outbox costs a
        # request, apart from what the deliveries cost it ("active" against "held").
        kinds = ["inactive", "held", "active"] if delivery else ["inactive", "active"]
        runs: dict[tuple[int, str], list[dict[str, float]]] = {}
        for _ in range(args.rounds):
            for connections in args.connections:
                for kind in kinds:
                    status = "inactive" if kind == "inactive" else "active"
                    await sql(url, "UPDATE webhook_subscriptions SET status = ?", status)
                    if kind == "held" and delivery:
                        await held(delivery)
                    before = len(receiver.ids)
                    used = cpu_seconds(server.pid, delivery)
                    run = await wrk(create_url, script, args.duration, connections)
                    after = cpu_seconds(server.pid, delivery)
                    # Deliveries made while the load ran (of its events, or earlier ones).
                    run["delivered"] = (len(receiver.ids) - before) / args.duration
                    run["cpu"] = (after[0] - used[0]) * 1000 / max(run["requests"], 1)
                    if kind == "held" and delivery:
                        os.kill(delivery, signal.SIGCONT)
                    runs.setdefault((connections, kind), []).append(run)
        await sql(url, "UPDATE webhook_subscriptions SET status = 'active'")
        expected = (await sql(url, "SELECT COUNT(*) FROM webhook_events"))[0][0]
        drain_started = time.perf_counter()
        while len(receiver.ids) < expected and time.perf_counter() - drain_started < 300:
            receiver.arrived.clear()
            try:
                await asyncio.wait_for(receiver.arrived.wait(), 5)
            except TimeoutError:
                break
        drained = time.perf_counter() - drain_started
        duplicates = len(receiver.ids) - len(set(receiver.ids))
        delivered = len(receiver.ids)
        latencies = []
        async with httpx.AsyncClient(headers={"X-company-id": company, "X-apiKey": key}) as c:
            for _ in range(args.samples):
                r = await c.post(
                    create_url, content=body, headers={"content-type": "application/json"}
                )
                answered = time.perf_counter()
                session_id = r.json()["_id"]
                while session_id not in receiver.arrivals:
                    receiver.arrived.clear()
                    await asyncio.wait_for(receiver.arrived.wait(), 10)
                latencies.append((receiver.arrivals[session_id] - answered) * 1000)
        # Capacity: `--burst` delivered events due again at once, with no request load.
        used = cpu_seconds(server.pid, delivery)
        burst = await burst_rate(url, receiver, args.burst)
        after = cpu_seconds(server.pid, delivery)
        spent = after[1] - used[1] if delivery else after[0] - used[0]
        burst_cpu = spent * 1000 / burst[0] if burst[0] else 0.0
        backend = url.split(":", 1)[0]
        print(
            f"webhook benchmark ({backend}, {args.workers} worker(s), delivery {args.delivery},"
            f" wrk -t1 -d{args.duration}s, {args.rounds} alternated rounds; medians)"
        )
        print(
            f"  {'connections':>11}  {'subscription':12}  {'creates/s':>9}  {'p50 ms':>6}"
            f"  {'p99 ms':>6}  {'CPU ms/create':>13}  {'delivered/s':>11}  runs (creates/s)"
        )
        for connections in args.connections:
            none, one = runs[(connections, "inactive")], runs[(connections, "active")]
            rows = [
                ("none", none),
                ("held", runs.get((connections, "held"), [])),
                ("one active", one),
            ]
            for label, got in rows:
                if not got:
                    continue
                errors = sum(r["errors"] for r in got)
                print(
                    f"  {connections:>11}  {label:12}  {mid(got, 'rps'):9.0f}"
                    f"  {mid(got, 'p50'):6.2f}  {mid(got, 'p99'):6.2f}"
                    f"  {mid(got, 'cpu'):13.3f}  {mid(got, 'delivered'):11.0f}"
                    f"  {', '.join(str(round(r['rps'])) for r in got)}"
                    + (f"  non-2xx {errors:.0f}" if errors else "")
                )
            print(
                f"  {connections:>11}  one / none:   creates/s {ratio(one, none, 'rps')}"
                f"  p50 {ratio(one, none, 'p50')}  p99 {ratio(one, none, 'p99')}"
                f"  CPU/create {ratio(one, none, 'cpu')}"
            )
            if (connections, "held") in runs:
                hold = runs[(connections, "held")]
                print(
                    f"  {connections:>11}  one / held:   creates/s {ratio(one, hold, 'rps')}"
                    f"  p50 {ratio(one, hold, 'p50')}  p99 {ratio(one, hold, 'p99')}"
                    f"  CPU/create {ratio(one, hold, 'cpu')}"
                )
        print(
            f"  deliveries: {delivered} of {expected} events ({duplicates} duplicates); the"
            f" backlog left by the runs drained in {drained:.1f} s"
        )
        print(
            f"  deliveries/s, {burst[0]} events due at once, no request load: {burst[1]:.0f}"
            f" ({burst_cpu:.2f} ms CPU each)"
        )
        print(
            f"  latency create answered -> event received ({len(latencies)} creates one at a"
            f" time): p50 {median(latencies):.1f} ms  p99 {percentile(latencies, 0.99):.1f} ms"
        )
        return 0
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


def mid(runs: list[dict[str, float]], name: str) -> float:
    return median([r.get(name, 0.0) for r in runs])


def ratio(top: list[dict[str, float]], bottom: list[dict[str, float]], name: str) -> str:
    below = mid(bottom, name)
    return f"{mid(top, name) / below:.2f}" if below else "-"


async def burst_rate(url: str, receiver: Receiver, count: int) -> tuple[int, float]:
    """Send `count` delivered events again, all due at once; answers how many, and the
    deliveries per second from the first arrival to the last."""
    if count <= 0:
        return 0, 0.0
    ids = [row[0] for row in await sql(url, "SELECT id FROM webhook_events LIMIT ?", count)]
    before = len(receiver.ids)
    receiver.stamps.clear()
    db = await open_database(url, pg_pool_size=1)
    try:
        async with db.transaction() as tx:
            await tx.executemany(
                "UPDATE webhook_events SET status = 'pending', next_attempt_at = 0, tries = 0,"
                " lease_until = NULL, claim = NULL WHERE id = ?",
                [(i,) for i in ids],
            )
    finally:
        await db.close()
    started = time.perf_counter()
    while len(receiver.ids) - before < len(ids) and time.perf_counter() - started < 300:
        receiver.arrived.clear()
        try:
            await asyncio.wait_for(receiver.arrived.wait(), 5)
        except TimeoutError:
            break
    stamps = receiver.stamps
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    return len(stamps), rate


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
