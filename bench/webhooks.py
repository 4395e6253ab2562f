"""Webhook delivery, measured against a real `pathsessions serve` (docs/api-v2.md §8).

One invocation, on a fresh SQLite file (or `--database-url`, an empty database it may fill):

1. loads tests/fixtures/example.json with the CLI, starts `pathsessions serve` on a free port
   of 127.0.0.1 with `PATHSESSIONS_WEBHOOK_PRIVATE_TARGETS=true`, and a receiver (a raw asyncio
   HTTP server in this process, answering 204) on another;
2. create throughput, no subscription: `wrk -t1 -c32 -d<duration>s --latency` on v1's create;
3. the same with one active `path.session.added` subscription to the receiver, so that every
   create writes an outbox row and is delivered while the load runs; runs 2 and 3 alternate,
   `--rounds` times each (the subscription made inactive, which queues nothing, for the runs
   without), so that neither gains from a smaller database; then it waits until every event
   is delivered, and reports deliveries per second (first arrival to last);
4. latency after commit: `--samples` creates one at a time; for each, the time from its answer
   received (the write is committed before the answer is sent) to its event received;
5. prints the table and stops the server.

    .venv/bin/python bench/webhooks.py [--duration 10] [--samples 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
                self.arrived.set()
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went, or the benchmark ends
        finally:
            writer.close()


async def wrk(url: str, script: Path, duration: int) -> dict[str, float]:
    proc = await asyncio.create_subprocess_exec(
        "wrk",
        "-t1",
        "-c32",
        f"-d{duration}s",
        "--latency",
        "-s",
        str(script),
        url,
        stdout=subprocess.PIPE,
    )
    out = (await proc.communicate())[0].decode()
    found = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])}  # type: ignore[index]
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)", out, re.M)
        if m:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m[2]]
            found[f"p{pct}"] = float(m[1]) * scale
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    found["errors"] = float(m[1]) if m else 0.0
    return found


async def sql(url: str, statement: str, *args: Any) -> list[Any]:
    db = await open_database(url, pg_pool_size=1)
    try:
        if statement.lstrip().upper().startswith("SELECT"):
            return list(await db.fetchall(statement, *args))
        await db.execute(statement, *args)
        return []
    finally:
        await db.close()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--samples", type=int, default=200, help="creates timed one by one")
    parser.add_argument("--rounds", type=int, default=2, help="create runs of each kind")
    parser.add_argument("--database-url", default="", help="an empty database (default: SQLite)")
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
    )
    cli = [sys.executable, "-m", "pathsessions"]
    subprocess.run([*cli, "load", str(EXAMPLE)], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--host", "127.0.0.1", "--port", str(port)],
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
        # Alternated, so that neither gains from running on the smaller database: an inactive
        # subscription queues nothing, exactly as none.
        runs: dict[str, list[dict[str, float]]] = {"inactive": [], "active": []}
        for _ in range(args.rounds):
            for status in ("inactive", "active"):
                await sql(url, "UPDATE webhook_subscriptions SET status = ?", status)
                runs[status].append(await wrk(create_url, script, args.duration))
        await sql(url, "UPDATE webhook_subscriptions SET status = 'active'")
        expected = (await sql(url, "SELECT COUNT(*) FROM webhook_events"))[0][0]
        started = time.perf_counter()
        while len(receiver.ids) < expected and time.perf_counter() - started < 120:
            receiver.arrived.clear()
            try:
                await asyncio.wait_for(receiver.arrived.wait(), 5)
            except TimeoutError:
                break
        times = sorted(receiver.arrivals.values())
        rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        duplicates = len(receiver.ids) - len(set(receiver.ids))
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
        latencies.sort()
        p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] if latencies else 0.0
        p50 = statistics.median(latencies) if latencies else 0.0
        backend = url.split(":", 1)[0]
        print(f"webhook benchmark ({backend}, 1 worker, wrk -t1 -c32 -d{args.duration}s)")
        for status, label in (("inactive", "no subscription"), ("active", "one subscription")):
            for run in runs[status]:
                print(
                    f"  create, {label:17}: {run['rps']:8.0f} req/s  p50 {run.get('p50', 0):6.2f}"
                    f" ms  p99 {run.get('p99', 0):6.2f} ms  non-2xx {run['errors']:.0f}"
                )
        print(
            f"  deliveries: {len(receiver.ids)} of {expected} events, {rate:.0f}/s while the "
            f"load ran and after, {duplicates} duplicates"
        )
        print(
            f"  latency after commit ({len(latencies)} creates one at a time): "
            f"p50 {p50:.1f} ms  p99 {p99:.1f} ms"
        )
        return 0
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
