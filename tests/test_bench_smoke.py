"""The benchmark runs (bench/README.md): every scenario, briefly, against a real server and the
raw ceiling under wrk, with no failed answer. Figures are not judged: a run of a second on a
shared machine says nothing about speed, only that each scenario still works end to end.

`./dev bench --smoke` is the same with a one-second warm-up per scenario and server (about
5 s a scenario); here the warm-ups are skipped to keep the suite short.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scenarios import SCENARIOS  # noqa: E402 (the repository root is on the path first)

pytestmark = pytest.mark.e2e

# A list answer (100,000 sessions) takes seconds: none is whole within a one-second run.
WHOLE_ANSWERS_TAKE_LONGER = {"list-sessions"}


@pytest.fixture(scope="module")
def wrk() -> str:
    """wrk, installed by the project's own script when it is missing."""
    if shutil.which("wrk") is None:
        done = subprocess.run(
            [shutil.which("bash") or "/bin/bash", str(ROOT / "bench" / "install_wrk.sh")],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if shutil.which("wrk") is None:
            pytest.skip(f"wrk is not installed and could not be: {done.stderr.strip()[-500:]}")
    found = shutil.which("wrk")
    assert found is not None
    return found


def test_every_scenario_runs_without_a_failed_answer(wrk: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--warmup", "0", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict[str, Any] = json.loads(done.stdout)
    assert report["ok"], report["failures"]
    assert report["smoke"]
    assert [s["name"] for s in report["scenarios"]] == [s.name for s in SCENARIOS]
    ours = [r for r in report["runs"] if r["server"] == "pathsessions"]
    assert sorted(r["scenario"] for r in ours) == sorted(s.name for s in SCENARIOS)
    for run in ours:
        assert run["non_2xx"] == 0, run
        assert sum(run["socket_errors"].values()) == 0, run
        assert run["bytes_read"] > 0, run
        if run["scenario"] not in WHOLE_ANSWERS_TAKE_LONGER:
            assert run["requests"] > 0, run
            assert run["requests_per_second"] > 0, run
            assert run["p99_ms"] > 0, run
    for scenario in report["scenarios"]:
        probe = scenario["probe"]
        assert probe is None or probe["problem"] is None, scenario
    ceilings = {r["scenario"] for r in report["runs"] if r["server"] == "raw"}
    assert ceilings == {s.name for s in SCENARIOS if s.ceiling}
