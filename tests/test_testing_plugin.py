"""`pathsessions.testing`: the example suite in examples/pytest runs with the plugin, plainly
and in two processes (pytest -n 2), each test on a company of its own; `serve` works as a
context manager outside pytest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from pathsessions.testing import default_company, serve

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "pytest"

pytestmark = pytest.mark.backend_independent


def run_example(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            *args,
        ],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("parallel", [(), ("-n", "2")], ids=["plain", "two-processes"])
def test_the_example_suite_passes(parallel: tuple[str, ...]) -> None:
    done = run_example(*parallel)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout, done.stdout


def test_serve_loads_a_document_and_cleans_up() -> None:
    document = {"companies": [default_company("Served")]}
    with serve(fixture=document) as server:
        [company] = server.companies
        assert company.name == "Served"
        assert set(company.user_ids) >= {"owner@example.test", "leo@example.test"}
        with company.client as api:
            assert api.list_path_sessions() == []
        assert [c["name"] for c in server.admin.companies()] == ["Served"]
        url = server.url
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/health", timeout=1)
