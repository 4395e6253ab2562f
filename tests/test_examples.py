"""The shell examples of README.md and docs/*.md run as pasted, against a real server.

Each document's fenced blocks run in order, with bash, in a fresh directory, with the
variables a running demo exported (`C K P G I CLIENT_ID CLIENT_SECRET BASE ADMIN`). The HTML comment
on the line above a block says how (the convention is in the README, under "Quick start"):

- none: an `sh` block runs, and must exit 0 with no `"error"` in its output;
- `<!-- example: server -->`: it starts a server; it runs in the background on a free port
  (which replaces any `PATHSESSIONS_PORT=N` it sets) until the document is done, and the
  variables of any `export` line it prints are taken for the blocks after it;
- `<!-- example: skip (why) -->`: not runnable here;
- `<!-- example: run -->` on a `python` block: it runs with this interpreter.

`./dev` stands for a small script that runs `pathsessions` with this interpreter, as `./dev`
does inside the project's virtualenv, so that relative paths land in the test's directory.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
BASH = shutil.which("bash") or "/bin/bash"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.M | re.S)
MARKER = re.compile(r"<!--\s*example:\s*(\w+)[^>]*-->\s*$")
EXPORT = re.compile(r"^export ((?:[A-Z_]+=\S+ ?)+)$", re.M)


@dataclass(frozen=True)
class Block:
    document: str
    line: int
    language: str
    how: str  # run, server, skip
    code: str


def blocks(document: Path) -> list[Block]:
    text = document.read_text(encoding="utf-8")
    found = []
    for m in FENCE.finditer(text):
        language, code = m.group(1), m.group(2)
        line = text.count("\n", 0, m.start()) + 1
        above = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = MARKER.fullmatch(above.strip())
        how = marker.group(1) if marker else ("run" if language == "sh" else "skip")
        assert how in {"run", "server", "skip"}, f"{document.name}:{line}: unknown marker {how}"
        if language not in {"sh", "python"}:
            how = "skip"
        found.append(Block(document.name, line, language, how, code))
    return found


def test_the_convention_is_followed() -> None:
    runnable = [b for d in DOCUMENTS for b in blocks(d) if b.how != "skip"]
    assert any(b.how == "server" for b in runnable)
    assert any(b.language == "python" for b in runnable)
    for block in runnable:
        assert block.language == "sh" or block.how == "run", block


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Shell:
    """The directory, environment and background servers one document's examples share."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.dir = tmp_path
        dev = tmp_path / "dev"
        dev.write_text(
            "#!/bin/sh\n"
            'command="$1"; shift\n'
            'case "$command" in\n'
            f'  pathsessions) exec "{sys.executable}" -m pathsessions "$@" ;;\n'
            f'  demo) exec "{sys.executable}" -m pathsessions demo "$@" ;;\n'
            '  *) echo "./dev $command is not for examples" >&2; exit 2 ;;\n'
            "esac\n"
        )
        dev.chmod(0o755)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PATHSESSIONS_")}
        bin_dir = str(Path(sys.executable).parent)  # pathsessions, as in the virtualenv
        self.env["PATH"] = bin_dir + os.pathsep + self.env.get("PATH", "")
        self.env["PATHSESSIONS_DATABASE_URL"] = database_url
        self.env["PYTHONUNBUFFERED"] = "1"
        self.servers: list[tuple[subprocess.Popen[bytes], Path]] = []

    def server(self, code: str, name: str) -> None:
        port = free_port()
        code = re.sub(r"PATHSESSIONS_PORT=\d+", f"PATHSESSIONS_PORT={port}", code)
        out = self.dir / f"{name}.out"
        err = self.dir / f"{name}.err"
        # The child keeps its own copies of the files; ours close once it has started.
        with out.open("wb") as out_file, err.open("wb") as err_file:
            process = subprocess.Popen(
                [BASH, "-euo", "pipefail", "-c", code],
                cwd=self.dir,
                env={**self.env, "PATHSESSIONS_PORT": str(port)},
                stdin=subprocess.DEVNULL,
                stdout=out_file,
                stderr=err_file,
                start_new_session=True,
            )
        self.servers.append((process, err))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}:\n{err.read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        else:
            pytest.fail(f"{name} did not answer on port {port}:\n{err.read_text()}")
        exported = EXPORT.search(out.read_text())
        if exported is not None:
            for item in exported.group(1).split():
                variable, _, value = item.partition("=")
                self.env[variable] = value

    def run(self, block: Block, name: str) -> str:
        if block.language == "python":
            script = self.dir / f"{name}.py"
            script.write_text(block.code)
            command = [sys.executable, str(script)]
        else:
            command = [BASH, "-euo", "pipefail", "-c", block.code]
        done = subprocess.run(
            command,
            cwd=self.dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{name} failed:\n{block.code}\n{done.stdout}\n{done.stderr}"
        assert '"error"' not in done.stdout, f"{name}:\n{block.code}\n{done.stdout}"
        return done.stdout

    def stop(self) -> None:
        for process, _ in self.servers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, _ in self.servers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)


@pytest.mark.parametrize(
    "document",
    [d for d in DOCUMENTS if any(b.how != "skip" for b in blocks(d))],
    ids=lambda d: d.name,
)
def test_the_examples_run_as_pasted(document: Path, database_url: str, tmp_path: Path) -> None:
    shell = Shell(tmp_path, database_url)
    try:
        # The reader has a demo running, and its variables in the shell.
        shell.server("./dev demo", "first-demo")
        for block in blocks(document):
            name = f"{block.document}-line-{block.line}"
            if block.how == "server":
                shell.server(block.code, name)
            elif block.how == "run":
                shell.run(block, name)
    finally:
        shell.stop()


# The last line each of the README's Python examples prints, in order (v1, then v2).
PYTHON_LAST_LINES = ["400 user_not_found", "404 sessionNotFound No such path session."]


def test_the_python_examples_print_what_they_say(database_url: str, tmp_path: Path) -> None:
    runs = [b for b in blocks(ROOT / "README.md") if b.language == "python" and b.how == "run"]
    assert len(runs) == len(PYTHON_LAST_LINES)
    shell = Shell(tmp_path, database_url)
    try:
        shell.server("./dev demo", "demo")
        last_lines = [
            shell.run(block, f"readme-python-{i}").splitlines()[-1] for i, block in enumerate(runs)
        ]
    finally:
        shell.stop()
    assert last_lines == PYTHON_LAST_LINES
