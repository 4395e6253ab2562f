"""`pathsessions load` of a large document: progress on a terminal only, a summary by kind,
generated keys once at the very end (or in a 0600 file), and `--quiet`."""

from __future__ import annotations

import json
import os
import pty
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pathsessions.cli import main
from support.cli import clean_environment

COMPANY = "5f1b2c3d4e5f60718293a4b5"
GROUP = "6a0000000000000000000001"


def document(users: int = 3, key: bool = False) -> dict[str, Any]:
    company: dict[str, Any] = {
        "id": COMPANY,
        "name": "Big Learning",
        "owner": "user0@big.test",
        "groups": [{"id": GROUP, "name": "Everyone", "public": True}],
        "users": [{"mail": f"user{i}@big.test"} for i in range(users)],
        "paths": [{"name": "Onboarding", "group": GROUP}],
    }
    if key:
        company["apiKeys"] = ["a-literal-key-for-the-load-tests"]
    return {"companies": [company]}


def write(tmp_path: Path, doc: Any, name: str = "doc.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


@pytest.fixture
def load(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Any:
    clean_environment(monkeypatch)
    monkeypatch.setenv("PATHSESSIONS_DATABASE_URL", database_url)

    def call(*args: str) -> tuple[int, str, str]:
        try:
            code = main(["load", *args])
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return call


def test_a_summary_by_kind_then_the_generated_key_framed_at_the_end(
    load: Any, tmp_path: Path
) -> None:
    code, out, err = load(write(tmp_path, document(users=3)))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    summary = lines.index("loaded 1 company: 1 group, 3 users, 1 path, 0 sessions, 1 API key")
    assert "companies[0]: new API key generated (shown once, at the end)" in lines[:summary]
    # After the summary, and last: a frame, a title, one row per key, a frame.
    block = lines[summary + 1 :]
    assert block[0] == ""
    assert block[1] == block[-1]
    assert set(block[1]) == {"="}
    assert block[2].startswith("New API keys, shown only this once")
    (key,) = re.findall(rf"^  companies\[0\]  {COMPANY}  (\S{{43}})$", out, re.M)
    assert out.count(key) == 1
    assert len(block) == 5


def test_reloading_prints_no_key_and_counts_again(load: Any, tmp_path: Path) -> None:
    file = write(tmp_path, document(users=2))
    assert load(file)[0] == 0
    code, out, _ = load(file)
    assert code == 0
    assert out.splitlines() == [
        f"companies[0]: company {COMPANY} (Big Learning)",
        "loaded 1 company: 1 group, 2 users, 1 path, 0 sessions, 0 API keys",
    ]


def test_secrets_file_takes_the_keys_with_mode_0600(load: Any, tmp_path: Path) -> None:
    secrets = tmp_path / "keys.json"
    code, out, err = load("--secrets-file", str(secrets), write(tmp_path, document()))
    assert (code, err) == (0, "")
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    (entry,) = json.loads(secrets.read_text())
    assert entry["document"] == "companies[0]"
    assert entry["company"] == COMPANY
    assert len(entry["apiKey"]) == 43
    assert entry["apiKey"] not in out
    assert out.splitlines()[-1] == f"1 new API key(s) written to {secrets}"


def test_secrets_file_is_not_left_behind_by_a_failed_load(load: Any, tmp_path: Path) -> None:
    secrets = tmp_path / "keys.json"
    bad = document()
    bad["companies"][0]["users"].append({"mail": "not-an-address"})
    code, out, err = load("--secrets-file", str(secrets), write(tmp_path, bad))
    assert (code, out) == (1, "")
    assert err == "error: companies[0].users[3].mail: not a valid e-mail address\n"
    assert not secrets.exists()


def test_quiet_prints_nothing_but_a_generated_key(load: Any, tmp_path: Path) -> None:
    assert load("--quiet", write(tmp_path, document(key=True), "with-key.json")) == (0, "", "")
    code, out, err = load("--quiet", "--reset", write(tmp_path, document()))
    assert (code, err) == (0, "")
    assert out.splitlines()[2].startswith("New API keys, shown only this once")
    assert "loaded" not in out


# --- the progress bar, on a terminal and off it ----------------------------------------------


def run_load(database_url: str, file: str, terminal: bool) -> tuple[int, str, str]:
    """`pathsessions load FILE` with standard error on a pseudo-terminal, or on a pipe."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHSESSIONS_")}
    env.update(PATHSESSIONS_DATABASE_URL=database_url, TERM="xterm", COLUMNS="100")
    env.pop("NO_COLOR", None)
    command = [sys.executable, "-m", "pathsessions", "load", file]
    if not terminal:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        return done.returncode, done.stdout, done.stderr
    primary, secondary = pty.openpty()
    out_path = Path(file).with_suffix(".out")
    with out_path.open("wb") as out_file:
        process = subprocess.Popen(
            command, env=env, stdout=out_file, stderr=secondary, stdin=subprocess.DEVNULL
        )
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    code = process.wait(timeout=120)
    return code, out_path.read_text(), seen.decode(errors="replace")


@pytest.mark.e2e
def test_progress_shows_on_a_terminal_only(database_url: str, tmp_path: Path) -> None:
    file = write(tmp_path, document(users=1500, key=True))
    code, out, err = run_load(database_url, file, terminal=True)
    assert code == 0, err
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", err)  # colours and cursor moves
    # 1 company, 1 group, 1,500 users, 1 path, 1 API key
    assert re.search(r"loading .* 1504/1504 objects", shown), shown
    assert out.splitlines()[-1] == (
        "loaded 1 company: 1 group, 1500 users, 1 path, 0 sessions, 1 API key"
    )
    code, out, err = run_load(database_url, file, terminal=False)
    assert (code, err) == (0, "")
    assert "\x1b" not in out
