"""The size and PostgreSQL benchmark (`python -m bench.scale`, bench/README.md) runs end to
end: every measurement once, briefly, on small companies, with no failed answer, and the
figures it compares are there. Like the main smoke run, it judges no figure."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from support.databases import BACKENDS, POSTGRES_URL

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def wrk() -> str:
    """wrk, installed by the project's own script when it is missing."""
    if shutil.which("wrk") is None:
        subprocess.run(
            [shutil.which("bash") or "/bin/bash", str(ROOT / "bench" / "install_wrk.sh")],
            capture_output=True,
            timeout=600,
            check=False,
        )
    found = shutil.which("wrk")
    if found is None:
        pytest.skip("wrk is not installed and could not be")
    return found


def test_every_measurement_runs_without_a_failed_answer(wrk: str) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl reads the v1 listing and is not installed")
    # The PostgreSQL part needs the test server; a SQLite-only run measures sizes alone.
    with_pg = "postgresql" in BACKENDS
    part = ["--part", "all", "--pg-url", POSTGRES_URL] if with_pg else ["--part", "scale"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--smoke", "--json", "--sessions", "3000", *part],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict[str, Any] = json.loads(done.stdout)
    runs = report["runs"]
    assert {(r["name"], r["target"]) for r in runs} == {
        *(
            (kind, size)
            for kind in ("v1-get", "v2-get", "v2-deep-page")
            for size in ("1,000", "3,000")
        ),
        *(
            (name, backend)
            for name in ("create-c32-w1", "mixed-c256-w2")
            for backend in ("sqlite", "postgresql")
        ),
    }
    for run in runs:
        assert run["non_2xx"] == 0, run
        assert run["socket_errors"] == 0, run
        assert run["requests_per_second"] > 0, run
    (listing,) = report["listings"]
    assert listing["sessions"] == 3000
    summary = report["summary"]
    assert summary["v1-get"]["cost_ratio"] > 0
    if with_pg:
        assert summary["mixed-c256-w2"]["postgresql/sqlite"] > 0


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="counts PostgreSQL's round trips")
def test_round_trips_are_counted_for_each_request() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.roundtrips", "--pg-url", POSTGRES_URL],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    lines = [line for line in done.stdout.splitlines() if "round trips" in line]
    assert [line.split(":")[0] for line in lines] == ["v1 create", "v1 get-by-id", "v2 get-by-id"]
    # No statement of asyncpg's own: a connection given back to the pool is not reset.
    assert "RESET" not in done.stdout
