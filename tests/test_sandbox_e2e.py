"""The sandbox on a real server of two worker processes: its state is shared by both."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from support.realserver import (
    COMPANY,
    HEADERS,
    SESSIONS,
    Servers,
    body,
    created_id,
    load_example,
    query,
    stop_cleanly,
)
from support.sandbox import ADMIN, ADMIN_TOKEN

pytestmark = pytest.mark.e2e

FROZEN = "2029-03-04T05:06:07.890Z"


def worker_of(r: httpx.Response) -> str:
    """The process that answered: the request id's per-process prefix."""
    return r.headers["x-request-id"][:16]


def test_two_workers_share_faults_journal_and_clock(database_url: str, servers: Servers) -> None:
    load_example(database_url)
    server = servers.start("serve", "--workers", "2", env={"PATHSESSIONS_ADMIN_TOKEN": ADMIN_TOKEN})
    url = server.base_url

    def post(i: int) -> httpx.Response:
        # A new connection each time, so that both workers get some.
        return httpx.post(url + SESSIONS, headers=HEADERS, json=body(f"S{i}"), timeout=10.0)

    with httpx.Client(base_url=url, headers=ADMIN, timeout=10.0) as http:
        r = http.put("/__admin/clock", json={"frozenAt": FROZEN})
        assert r.status_code == 200
        r = http.post(
            "/__admin/faults",
            json={"operation": "createPathSession", "action": "respond", "status": 503, "times": 3},
        )
        assert r.status_code == 201
        fault = r.json()["id"]
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, range(40)))
        statuses = [a.status_code for a in answers]
        assert statuses.count(503) == 3, statuses
        assert statuses.count(200) == 37, statuses
        assert len({worker_of(a) for a in answers}) == 2  # both workers answered
        assert http.get("/__admin/faults").json() == []  # spent

        # Every answer of either worker is in the journal, the faulted ones with the fault.
        entries = http.get("/__admin/requests", params={"operation": "createPathSession"}).json()
        assert len(entries) == 40
        assert sum(e.get("fault") == fault for e in entries) == 3
        assert all(e["at"] == FROZEN for e in entries)

        # The frozen clock dated the sessions of both workers.
        created = [created_id(a) for a in answers if a.status_code == 200]
        for session_id in created[:10]:
            got = httpx.get(f"{url}/api/v1/paths/sessions/{session_id}", headers=HEADERS)
            assert got.json()["createdAt"] == FROZEN
        # A clock moved now is seen by both at once.
        http.post("/__admin/clock/advance", json={"ms": 1000})
        later: list[httpx.Response] = []
        while len({worker_of(a) for a in later}) < 2 and len(later) < 60:
            later.append(post(100 + len(later)))  # until both workers have answered
        assert len({worker_of(a) for a in later}) == 2
        for a in later:
            got = httpx.get(f"{url}/api/v1/paths/sessions/{created_id(a)}", headers=HEADERS)
            assert got.json()["createdAt"] == "2029-03-04T05:06:08.890Z"
    stop_cleanly(server)


def test_reset_and_hang_close_without_an_answer(database_url: str, servers: Servers) -> None:
    load_example(database_url)
    server = servers.start(env={"PATHSESSIONS_ADMIN_TOKEN": ADMIN_TOKEN})
    url = server.base_url
    with httpx.Client(base_url=url, headers=ADMIN, timeout=10.0) as http:
        http.post("/__admin/faults", json={"action": "reset", "times": 1})
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(url + SESSIONS, headers=HEADERS, json=body(), timeout=5.0)
        http.post("/__admin/faults", json={"action": "hang", "times": 1, "when": "after"})
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(url + SESSIONS, headers=HEADERS, json=body("H"), timeout=0.5)
        # The server goes on serving; `after` let the operation commit.
        assert created_id(httpx.post(url + SESSIONS, headers=HEADERS, json=body("next")))
        statuses = [
            e["status"] for e in http.get("/__admin/requests", params={"company": COMPANY}).json()
        ]
        assert statuses == [200, None, None]
    assert query(database_url, "SELECT name FROM path_sessions WHERE name = 'H'") == [("H",)]
    stop_cleanly(server)
