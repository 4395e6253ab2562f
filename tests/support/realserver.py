"""Real `pathsessions serve` processes for end-to-end tests, spoken to over TCP.

The data comes from the CLI (`pathsessions load tests/fixtures/example.json`), as an operator
would load it. Every server started here runs in its own process group, which the `servers`
fixture kills at the end whatever happened. Servers run with a token secret and, unless a test
turns them on, without rate limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from pathsessions.storage import open_database

from .api import JSON_TYPE
from .world import EXAMPLE, EXAMPLE_KEY, TOKEN_SECRET, WORLD

# The data of tests/fixtures/example.json: ACME of the test world, under a key of its own.
COMPANY = WORLD.company
KEY = EXAMPLE_KEY
PATH = WORLD.path
ROOT_GROUP = WORLD.root_group
SALES_GROUP = WORLD.sales_group
HEADERS = {"X-company-id": COMPANY, "X-apiKey": KEY}
QUERY = {"company": COMPANY, "apiKey": KEY}
SESSIONS = f"/api/v1/paths/{PATH}/sessions/"
READY_TIMEOUT = 20.0


def body(name: str = "Cohort", **extra: Any) -> dict[str, Any]:
    return {
        "sessionName": name,
        "startDate": "2030-01-01T09:00:00.000Z",
        "sessionOwnerGroup": ROOT_GROUP,
        **extra,
    }


def environment(database_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHSESSIONS_")}
    env["PATHSESSIONS_DATABASE_URL"] = database_url
    env["PATHSESSIONS_TOKEN_SECRET"] = TOKEN_SECRET
    env["PATHSESSIONS_RATE_LIMITS"] = "false"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pathsessions", *args],
        env=environment(database_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def load_example(database_url: str) -> None:
    done = cli(database_url, "load", str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines()[0] == f"companies[0]: company {COMPANY} (Acme Learning)"
    assert KEY not in done.stdout


def query(database_url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async def go() -> list[tuple[Any, ...]]:
        db = await open_database(database_url, pg_pool_size=1)
        try:
            return sorted((tuple(r) for r in await db.fetchall(sql, *args)), key=repr)
        finally:
            await db.close()

    return asyncio.run(go())


class Server:
    """One `pathsessions serve` process (its own process group), logging to two files."""

    def __init__(
        self,
        database_url: str,
        log_dir: Path,
        *args: str,
        env: Mapping[str, str] | None = None,
        files: int | None = None,
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.stdout_path = log_dir / f"serve-{self.port}.out"
        self.stderr_path = log_dir / f"serve-{self.port}.err"
        self._files: list[IO[bytes]] = [self.stdout_path.open("wb"), self.stderr_path.open("wb")]
        command = [sys.executable, "-m", "pathsessions"]
        command += [*args] if args else ["serve"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command,
            env=environment(database_url, env),
            stdin=subprocess.DEVNULL,
            stdout=self._files[0],
            stderr=self._files[1],
            start_new_session=True,
            # A smaller soft limit on open files than the test's own, for a test that opens
            # more connections than the server may have files.
            preexec_fn=None if files is None else partial(_limit_files, files),
        )

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"server exited with {self.process.returncode}:\n{self.stderr}")
            try:
                r = httpx.get(f"{self.base_url}/health", timeout=1.0)
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            if r.status_code == 200:
                return
            time.sleep(0.05)
        pytest.fail(f"server not ready after {READY_TIMEOUT} s:\n{self.stderr}")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send `sig` to the server and wait for it; answer its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill_group()
        self.kill_group()  # worker processes, if any are left
        for f in self._files:
            f.close()
        return self.process.returncode

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)


def _limit_files(files: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (files, hard))


class Servers:
    def __init__(self, database_url: str, log_dir: Path) -> None:
        self.database_url = database_url
        self.log_dir = log_dir
        self.started: list[Server] = []

    def start(
        self,
        *args: str,
        ready: bool = True,
        env: Mapping[str, str] | None = None,
        files: int | None = None,
    ) -> Server:
        server = Server(self.database_url, self.log_dir, *args, env=env, files=files)
        self.started.append(server)
        if ready:
            server.wait_ready()
        return server


def assert_json(r: httpx.Response, status: int, expected: Any) -> None:
    assert (r.status_code, r.json()) == (status, expected), r.text
    assert r.headers["content-type"] == JSON_TYPE


def created_id(r: httpx.Response) -> str:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == JSON_TYPE
    answer = r.json()
    assert list(answer) == ["_id"]
    assert re.fullmatch(r"[0-9a-f]{24}", answer["_id"]), answer
    session_id: str = answer["_id"]
    return session_id


def stop_cleanly(server: Server) -> None:
    """SIGTERM: the server shuts the application down and exits by that signal (uvicorn
    re-raises it after a graceful shutdown) or with status 0."""
    assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM), server.stderr
    assert "Application shutdown complete." in server.stderr
    assert "Traceback" not in server.stderr


def assert_logs_hold_no_secret(server: Server) -> None:
    logs = server.stdout + server.stderr
    assert KEY not in logs
    assert re.findall(r"apiKey=\w*", logs) == ["apiKey=REDACTED"] * logs.count("apiKey=")
