"""`./dev test` starts PostgreSQL and Redis portably, and says how to do without them.

The service-starting functions of `dev` are run on their own, by bash, with stand-ins for the
PostgreSQL and Redis commands on PATH: no real service is started or stopped."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BASH = shutil.which("bash") or "/bin/bash"
# What the functions may use besides the commands faked here.
TOOLS = ["awk", "cat", "mkdir", "seq", "sleep", "touch", "rm", "echo", "sh"]


def function(name: str) -> str:
    text = (ROOT / "dev").read_text()
    m = re.search(rf"^{name}\(\) \{{\n.*?^\}}\n", text, re.M | re.S)
    assert m is not None, f"dev has no function {name}()"
    return m.group(0)


def fake(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def run_function(
    name: str, tmp_path: Path, fakes: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    for command, script in fakes.items():
        fake(bin_dir, command, script)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "LOG": str(tmp_path / "calls")}
    script = f"set -euo pipefail\n{function(name)}\n{name}\necho done"
    return subprocess.run(
        [BASH, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# pg_isready fails until a cluster was started; every call is logged.
PG_ISREADY = 'echo "pg_isready $*" >> "$LOG"; [ -f "$HOME/started" ]'
PG_CTLCLUSTER = 'echo "pg_ctlcluster $*" >> "$LOG"; touch "$HOME/started"'
TWO_VERSIONS = """cat <<EOF
15 main 5433 down postgres /var/lib/postgresql/15/main /var/log/postgresql/15.log
16 main 5432 down postgres /var/lib/postgresql/16/main /var/log/postgresql/16.log
EOF"""


def test_postgres_starts_the_cluster_on_5432_when_two_versions_are_installed(
    tmp_path: Path,
) -> None:
    done = run_function(
        "postgres",
        tmp_path,
        {"pg_isready": PG_ISREADY, "pg_ctlcluster": PG_CTLCLUSTER, "pg_lsclusters": TWO_VERSIONS},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "done\n"
    calls = (tmp_path / "calls").read_text().splitlines()
    assert "pg_ctlcluster --skip-systemctl-redirect 16 main start" in calls
    assert "starting PostgreSQL (cluster 16 main)..." in done.stderr


@pytest.mark.parametrize(
    ("fakes", "why"),
    [
        ({"pg_isready": PG_ISREADY}, "pg_lsclusters and pg_ctlcluster not found"),
        (
            {
                "pg_isready": PG_ISREADY,
                "pg_ctlcluster": PG_CTLCLUSTER,
                "pg_lsclusters": "echo '15 main 5433 down postgres /d /l'",
            },
            "no local cluster is configured for port 5432",
        ),
        (
            {
                "pg_isready": PG_ISREADY,
                "pg_ctlcluster": "echo 'Error: permission denied' >&2; exit 1",
                "pg_lsclusters": TWO_VERSIONS,
            },
            "pg_ctlcluster 16 main start failed",
        ),
    ],
    ids=["no-postgresql-common", "no-cluster-on-5432", "start-refused"],
)
def test_postgres_that_cannot_start_says_how_to_do_without(
    tmp_path: Path, fakes: dict[str, str], why: str
) -> None:
    done = run_function("postgres", tmp_path, fakes)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "PostgreSQL is not running on 127.0.0.1:5432 and could not be started" in done.stderr
    assert why in done.stderr
    assert "PATHSESSIONS_TEST_POSTGRES_URL=postgresql://" in done.stderr
    assert "PATHSESSIONS_TEST_BACKENDS=sqlite ./dev test" in done.stderr


REDIS_CLI = 'echo "redis-cli $*" >> "$LOG"; [ -f "$HOME/started" ]'
REDIS_SERVER = 'echo "redis-server $*" >> "$LOG"; touch "$HOME/started"'


def test_redis_starts_without_paths_only_root_can_create(tmp_path: Path) -> None:
    done = run_function("redis", tmp_path, {"redis-cli": REDIS_CLI, "redis-server": REDIS_SERVER})
    assert done.returncode == 0, done.stderr
    (started,) = [c for c in (tmp_path / "calls").read_text().splitlines() if "server" in c]
    assert "/var/" not in started
    assert f"--dir {tmp_path}/.venv/services/redis" in started
    assert (tmp_path / ".venv" / "services" / "redis").is_dir()


def test_redis_that_cannot_start_says_how_to_do_without(tmp_path: Path) -> None:
    done = run_function("redis", tmp_path, {"redis-cli": REDIS_CLI})
    assert done.returncode == 1
    assert "Redis is not running on 127.0.0.1:6379 and could not be started" in done.stderr
    assert "redis-server not found" in done.stderr
    assert "PATHSESSIONS_TEST_REDIS_URL=redis://" in done.stderr


def test_services_given_by_url_are_not_started(tmp_path: Path) -> None:
    for name, variable in (
        ("postgres", "PATHSESSIONS_TEST_POSTGRES_URL"),
        ("redis", "PATHSESSIONS_TEST_REDIS_URL"),
    ):
        script = f"set -euo pipefail\n{function(name)}\n{variable}=x://elsewhere {name}\necho done"
        done = subprocess.run(
            [BASH, "-c", script],
            cwd=tmp_path,
            env={"PATH": "/nonexistent"},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert (done.returncode, done.stdout, done.stderr) == (0, "done\n", "")
