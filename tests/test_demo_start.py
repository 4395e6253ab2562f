"""`pathsessions demo` as a newcomer runs it: shell lines to paste, a second demo that finds
the port busy and leaves the first one alone, URLs a browser can open."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from support.console import csrf_of

pytestmark = pytest.mark.e2e

BASH = shutil.which("bash") or "/bin/bash"
EXPORT = re.compile(
    r"^export (C=\S+ K=\S+ P=\S+ G=\S+ I=\S+ CLIENT_ID=\S+ CLIENT_SECRET=\S+ BASE=\S+ ADMIN=\S+)$",
    re.M,
)


class Demo:
    def __init__(self, database_url: str, tmp_path: Path, name: str, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PATHSESSIONS_")}
        env.update(PATHSESSIONS_DATABASE_URL=database_url, PYTHONUNBUFFERED="1")
        self.out_path, self.err_path = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
        # The child keeps its own copies of the files; ours close once it has started.
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pathsessions", "demo", *args],
                env=env,
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    @property
    def out(self) -> str:
        return self.out_path.read_text()

    @property
    def err(self) -> str:
        return self.err_path.read_text()

    def exports(self) -> dict[str, str]:
        """The variables of the printed `export` line, once the server answers."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = EXPORT.search(self.out)
            if m is not None:
                variables = dict(item.split("=", 1) for item in m.group(1).split())
                try:
                    if httpx.get(f"{variables['BASE']}/health", timeout=1).status_code == 200:
                        return variables
                except httpx.TransportError:
                    pass
            if self.process.poll() is not None:
                pytest.fail(f"demo exited with {self.process.returncode}:\n{self.err}")
            time.sleep(0.05)
        pytest.fail(f"demo not ready:\n{self.out}\n{self.err}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


def create_session_with_bash(variables: dict[str, str]) -> str:
    """What a newcomer does: paste the export line, then a curl that uses the variables."""
    export = "export " + " ".join(f"{k}={v}" for k, v in variables.items())
    script = (
        export
        + """
curl -s -X POST "$BASE/api/v1/paths/$P/sessions/" \\
  -H "X-company-id: $C" -H "X-apiKey: $K" -H 'Content-Type: application/json' \\
  -d '{"sessionName": "Cohort", "startDate": "2030-01-15T08:00:00Z", "sessionOwnerGroup": "'"$G"'"}'
"""
    )
    env = {k: v for k, v in os.environ.items() if k not in variables}
    done = subprocess.run(
        [BASH, "-euo", "pipefail", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_the_printed_export_line_works_in_a_shell(database_url: str, tmp_path: Path) -> None:
    demo = Demo(database_url, tmp_path, "demo", "--port", "0")
    try:
        variables = demo.exports()
        assert list(variables) == [
            "C",
            "K",
            "P",
            "G",
            "I",
            "CLIENT_ID",
            "CLIENT_SECRET",
            "BASE",
            "ADMIN",
        ]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", variables["BASE"])
        assert not variables["BASE"].endswith(":0")
        assert re.fullmatch(r'\{"_id":"[0-9a-f]{24}"\}', create_session_with_bash(variables))
        # The ready-made curl line names the same server.
        assert f"curl -s -X POST '{variables['BASE']}/api/v1/paths/" in demo.out
        # The console's URL is printed, and the printed admin token signs in there.
        console = f"{variables['BASE']}/__admin/console"
        assert re.search(
            rf"sign\s+in\s+with\s+the\s+admin\s+token\s+above\):\s+{re.escape(console)}$",
            demo.out,
            re.M,
        )
        assert_console_signs_in(console, variables["ADMIN"])
    finally:
        demo.stop()


def assert_console_signs_in(console: str, token: str) -> None:
    with httpx.Client(timeout=10) as browser:
        page = browser.get(console)
        assert page.status_code == 200, page.text
        origin = console.removesuffix("/__admin/console")
        form = {"csrf": csrf_of(page.text, "/sign-in"), "token": token}
        signed = browser.post(console + "/sign-in", data=form, headers={"Origin": origin})
        assert (signed.status_code, signed.headers["location"]) == (303, "/__admin/console/")
        home = browser.get(console + "/")
        assert home.status_code == 200, home.text
        assert "Demo Learning" in home.text


def test_a_second_demo_on_a_busy_port_changes_nothing(database_url: str, tmp_path: Path) -> None:
    port = str(free_port())
    first = Demo(database_url, tmp_path, "first", "--port", port)
    try:
        variables = first.exports()
        second = Demo(database_url, tmp_path, "second", "--port", port)
        assert second.process.wait(timeout=30) == 1
        assert second.out == ""
        assert second.err == (
            f"error: port {port} on 127.0.0.1 is busy (another pathsessions server or demo?): "
            "stop that one, or choose another port with --port PORT (--port 0 picks a free one)\n"
        )
        # The first demo's key was not revoked: it still creates sessions.
        assert '"_id"' in create_session_with_bash(variables)
    finally:
        first.stop()


def test_with_host_0_0_0_0_the_printed_urls_name_the_loopback_address(
    database_url: str, tmp_path: Path
) -> None:
    demo = Demo(database_url, tmp_path, "demo", "--host", "0.0.0.0", "--port", "0")
    try:
        variables = demo.exports()
        assert variables["BASE"].startswith("http://127.0.0.1:")
        assert "0.0.0.0" not in demo.out
        assert '"_id"' in create_session_with_bash(variables)
    finally:
        demo.stop()
