"""End to end: a real `pathsessions serve` process, spoken to over TCP, on each backend.

The data comes from the CLI (`pathsessions load tests/fixtures/example.json`), as an operator
would load it. Every server started here runs in its own process group, which the `servers`
fixture kills at the end whatever happened.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import signal
import socket
import time
from urllib.parse import urlencode

import httpx
import pytest

from pathsessions.client import Client, PathSessionsError
from pathsessions.storage import open_database
from pathsessions.storage.migrate import available, migrate
from support.realserver import (
    COMPANY,
    HEADERS,
    KEY,
    PATH,
    QUERY,
    READY_TIMEOUT,
    ROOT_GROUP,
    SALES_GROUP,
    SESSIONS,
    Server,
    Servers,
    assert_json,
    assert_logs_hold_no_secret,
    body,
    created_id,
    load_example,
    query,
    stop_cleanly,
)

pytestmark = pytest.mark.e2e


def test_the_server_answers_the_api_and_keeps_data_across_a_restart(
    database_url: str, servers: Servers
) -> None:
    load_example(database_url)
    server = servers.start()
    created: dict[str, str] = {}
    with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        assert_json(http.get("/health"), 200, {"status": "ok"})
        # Query-parameter credentials, then header credentials (and no trailing slash).
        created["query"] = created_id(http.post(SESSIONS, params=QUERY, json=body("By query")))
        created["header"] = created_id(
            http.post(SESSIONS.rstrip("/"), headers=HEADERS, json=body("By header"))
        )
        # A form body, with a bracketed array; and a form body labelled JSON (seen in a client).
        form = urlencode(
            [
                ("sessionName", "By form"),
                ("startDate", "2030-01-01T10:00:00+01:00"),
                ("sessionOwnerGroup", SALES_GROUP),
                ("instructorsMails[]", "INES@acme.test"),
            ]
        )
        for label, content_type in (
            ("form", "application/x-www-form-urlencoded"),
            ("form-as-json", "application/json"),
        ):
            created[label] = created_id(
                http.post(
                    SESSIONS,
                    headers={**HEADERS, "Content-Type": content_type},
                    content=form.replace("By+form", f"By+{label}"),
                )
            )
        # Credentials: missing, wrong key, right key for another company id.
        unauthorized = {"error": "unauthorized"}
        assert_json(http.post(SESSIONS, json=body()), 401, unauthorized)
        assert_json(
            http.post(SESSIONS, params={**QUERY, "apiKey": KEY + "!"}, json=body()),
            401,
            unauthorized,
        )
        assert_json(
            http.post(SESSIONS, headers={**HEADERS, "X-company-id": "5f1b2c3d4e5f60718293a4b6"}),
            401,
            unauthorized,
        )
        # Unknown route: the documented 404 body, before any credential check.
        not_found = {"message": "Not Found", "documentation_url": f"{server.base_url}/docs"}
        assert_json(http.get("/api/v1/nothing-here", headers=HEADERS), 404, not_found)
        assert_json(http.get(SESSIONS, params=QUERY), 404, not_found)
        assert_json(http.delete("/api/v1/paths"), 404, not_found)
        # Over 1 MiB: 413, before credentials too.
        too_big = b'{"sessionName": "' + b"x" * (1024 * 1024) + b'"}'
        for headers in (HEADERS, {}):
            assert_json(
                http.post(
                    SESSIONS,
                    headers={**headers, "Content-Type": "application/json"},
                    content=too_big,
                ),
                413,
                {"error": "payload_too_large"},
            )
        # Exactly 1 MiB is read (and is then a bad session, not a too-large body).
        exact = b'{"sessionName": 1, "p": "' + b"x" * (1024 * 1024 - 27) + b'"}'
        assert len(exact) == 1024 * 1024
        assert_json(
            http.post(SESSIONS, headers=HEADERS, content=exact),
            400,
            {"error": "invalid_session_name"},
        )
        # The API's own errors.
        assert_json(
            http.post(SESSIONS, headers=HEADERS, json=body(startDate="2030-01-01")),
            400,
            {"error": "invalid_start_date"},
        )
        assert_json(
            http.post(SESSIONS, headers=HEADERS, content=b"[1, 2]"), 400, {"error": "invalid_body"}
        )
        assert_json(
            http.post(f"/api/v1/paths/{'0' * 24}/sessions/", headers=HEADERS, json=body()),
            404,
            {"error": "path_not_found"},
        )

    # Everything acknowledged is stored, as sent.
    ines = query(database_url, "SELECT id FROM users WHERE mail_key = 'ines@acme.test'")[0][0]
    owner = "6b0000000000000000000001"
    stored = query(
        database_url,
        "SELECT s.id, s.name, s.start_date, s.owner_group_id, i.user_id FROM path_sessions s"
        " JOIN session_instructors i ON i.session_id = s.id",
    )
    start = 1893488400000  # 2030-01-01T09:00:00.000Z
    assert stored == sorted(
        [
            (created["query"], "By query", start, ROOT_GROUP, owner),
            (created["header"], "By header", start, ROOT_GROUP, owner),
            (created["form"], "By form", start, SALES_GROUP, ines),
            (created["form-as-json"], "By form-as-json", start, SALES_GROUP, ines),
            # The example document's own session.
            *[
                (r[0], "Cohort 1", start, ROOT_GROUP, ines)
                for r in query(database_url, "SELECT id FROM path_sessions WHERE name = 'Cohort 1'")
            ],
        ],
        key=repr,
    )

    # A clean stop, then a restart on the same database: the data and the key are there.
    stop_cleanly(server)
    access = [
        (line["path"], line["status"])
        for line in map(json.loads, server.stderr.splitlines())
        if line["logger"] == "pathsessions.access" and line["method"] == "POST"
    ]
    assert (SESSIONS, 200) in access
    assert (SESSIONS, 401) in access
    assert (SESSIONS, 413) in access
    assert_logs_hold_no_secret(server)
    assert "Traceback" not in server.stderr

    again = servers.start()
    with httpx.Client(base_url=again.base_url, timeout=10.0) as http:
        created["after restart"] = created_id(
            http.post(SESSIONS, params=QUERY, json=body("After restart"))
        )
    ids = {r[0] for r in query(database_url, "SELECT id FROM path_sessions")}
    assert set(created.values()) <= ids
    assert len(ids) == len(created) + 1
    stop_cleanly(again)
    assert_logs_hold_no_secret(again)


def test_acknowledged_writes_survive_a_kill(database_url: str, servers: Servers) -> None:
    """SIGKILL right after the last answer: every acknowledged session is in the database."""
    load_example(database_url)
    server = servers.start()
    acknowledged: dict[str, str] = {}
    with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        for i in range(30):
            name = f"Kill test {i}"
            acknowledged[created_id(http.post(SESSIONS, headers=HEADERS, json=body(name)))] = name
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    stored = dict(query(database_url, "SELECT id, name FROM path_sessions WHERE name LIKE 'Kill%'"))
    assert stored == acknowledged
    # And the killed server's database serves again.
    again = servers.start()
    with httpx.Client(base_url=again.base_url, timeout=10.0) as http:
        created_id(http.post(SESSIONS, headers=HEADERS, json=body("After the kill")))
    stop_cleanly(again)
    assert len(query(database_url, "SELECT id FROM path_sessions")) == 32
    assert_logs_hold_no_secret(server)


def test_serve_with_two_workers(database_url: str, servers: Servers) -> None:
    load_example(database_url)
    server = servers.start("serve", "--workers", "2")
    ids: set[str] = set()
    with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        for i in range(40):
            # A new connection each time, so that both workers get some.
            r = httpx.post(
                server.base_url + SESSIONS, headers=HEADERS, json=body(f"W{i}"), timeout=10.0
            )
            ids.add(created_id(r))
        assert_json(http.get("/health"), 200, {"status": "ok"})
        assert_json(http.post(SESSIONS, json=body()), 401, {"error": "unauthorized"})
    assert len(ids) == 40
    stored = {
        r[0] for r in query(database_url, "SELECT id FROM path_sessions WHERE name LIKE 'W%'")
    }
    assert stored == ids
    workers = set(re.findall(r"Started server process \[(\d+)\]", server.stderr))
    assert len(workers) == 2, server.stderr
    stop_cleanly(server)
    assert_logs_hold_no_secret(server)
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)


@pytest.mark.fresh_database
def test_serve_refuses_a_database_newer_than_itself(database_url: str, servers: Servers) -> None:
    newest = available()[-1].version

    async def prepare() -> None:
        db = await open_database(database_url, pg_pool_size=1)
        try:
            await migrate(db)
            await db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)",
                newest + 1,
                "future",
            )
        finally:
            await db.close()

    asyncio.run(prepare())
    server = servers.start(ready=False)
    assert server.process.wait(timeout=30) == 1
    assert server.stderr.splitlines()[-1] == (
        f"error: the database is at schema version {newest + 1}, newer than this program's "
        f"{newest}; upgrade pathsessions"
    )
    assert "Traceback" not in server.stderr
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.base_url}/health", timeout=1.0)


def test_demo_prints_a_working_key(database_url: str, servers: Servers) -> None:
    # A sandbox needs no secret store: the demo signs tokens without being given a secret.
    server = servers.start("demo", env={"PATHSESSIONS_TOKEN_SECRET": ""})
    deadline = time.monotonic() + READY_TIMEOUT
    while "API key" not in server.stdout and time.monotonic() < deadline:
        time.sleep(0.05)
    printed = dict(
        re.findall(r"^\s+(company id|API key|path id|group id)\s*: (\S+)$", server.stdout, re.M)
    )
    assert sorted(printed) == ["API key", "company id", "group id", "path id"], server.stdout
    with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        created_id(
            http.post(
                f"/api/v1/paths/{printed['path id']}/sessions/",
                headers={"X-company-id": printed["company id"], "X-apiKey": printed["API key"]},
                json={
                    "sessionName": "Demo cohort",
                    "startDate": "2030-01-15T09:00:00+01:00",
                    "sessionOwnerGroup": printed["group id"],
                },
            )
        )
        token = http.post(
            "/api/v2/oauth2/token",
            json={
                "grant_type": "client_credentials",
                "client_id": printed["company id"],
                "client_secret": printed["API key"],
            },
        ).json()["access_token"]
        groups = http.get("/api/v1/groups", headers={"Authorization": f"Bearer {token}"})
        assert groups.status_code == 200
        # The sandbox is on, with the admin token printed.
        [admin_token] = re.findall(r"^\s+admin token: (\S+) ", server.stdout, re.M)
        clock = http.get("/__admin/clock", headers={"Authorization": f"Bearer {admin_token}"})
        assert clock.status_code == 200
        # The example call it prints answers what the server received last.
        call = f"curl -s '{server.base_url}/__admin/requests?limit=1' -H 'Authorization: Bearer"
        assert call in server.stdout
        journal = http.get(
            "/__admin/requests",
            params={"limit": 1},
            headers={"Authorization": f"Bearer {admin_token}"},
        )
        assert [entry["operation"] for entry in journal.json()] == ["listGroups"]
    stop_cleanly(server)
    assert printed["API key"] not in server.stderr
    assert token not in server.stderr


def test_the_client_drives_every_endpoint_of_a_real_server(
    database_url: str, servers: Servers
) -> None:
    load_example(database_url)
    server = servers.start()
    with Client(server.base_url, COMPANY, KEY) as api:
        session_id = api.create_path_session(
            PATH,
            session_name="Client cohort",
            start_date=dt.datetime(2031, 3, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
            end_date="2031-03-02T17:00:00Z",
            session_owner_group=ROOT_GROUP,
            instructors_mails=["INES@acme.test"],
            additional_information="REG-7",
        )
        listed = {s["sessionId"]: s for s in api.list_path_sessions()}
        assert listed[session_id]["startDate"] == "2031-03-01T09:00:00.000Z"
        assert listed[session_id]["instructorsMails"] == ["ines@acme.test"]

        api.fetch_token()  # from here on, the calls carry the bearer token
        updated = api.update_path_session(
            session_id,
            session_name="Renamed",
            start_date="2031-03-01T09:00:00.000Z",
            session_owner_group=SALES_GROUP,
            additional_information=None,
        )
        assert (updated["sessionName"], updated["sessionOwnerGroup"]) == ("Renamed", SALES_GROUP)
        assert updated["sessionAdditionalInformation"] is None
        assert updated["endDate"] == "2031-03-02T17:00:00.000Z"

        owner = api.get_user("owner@acme.test")
        api.enrol_users(session_id, emails=["ines@acme.test"])
        api.enrol_users(session_id, ids=[owner["_id"]])
        api.enrol_groups(session_id, [SALES_GROUP])
        detail = api.get_path_session(session_id)
        assert sorted(u["mail"] for u in detail["users"]) == ["ines@acme.test", "owner@acme.test"]
        assert detail["groups"] == [{"_id": SALES_GROUP, "name": "Sales"}]
        assert detail["path"]["_id"] == PATH
        assert session_id in api.get_path(PATH)["sessionIds"]
        api.unenrol_users(session_id, ids=[owner["_id"]])
        api.unenrol_groups(session_id, [SALES_GROUP])
        assert [u["mail"] for u in api.list_session_users(session_id)] == ["ines@acme.test"]

        assert {g["_id"] for g in api.list_groups()} == {ROOT_GROUP, SALES_GROUP}
        assert api.get_group(SALES_GROUP)["parent"] == ROOT_GROUP
        assert "gone@acme.test" not in {u["mail"] for u in api.list_users()}
        assert {p["name"] for p in api.list_paths()} == {"Onboarding", "Old path"}

        api.delete_path_session(session_id)
        with pytest.raises(PathSessionsError) as missing:
            api.get_path_session(session_id)
        assert (missing.value.status, missing.value.code) == (404, "path_session_not_found")
        with pytest.raises(PathSessionsError) as unknown:
            api.get_user("nobody@acme.test")
        assert (unknown.value.status, unknown.value.code) == (400, "user_not_found")

    with Client(server.base_url, COMPANY, "wrong-key") as intruder:
        with pytest.raises(PathSessionsError) as refused:
            intruder.list_groups()
        assert (refused.value.status, refused.value.code) == (401, "unauthorized")
        with pytest.raises(PathSessionsError) as no_token:
            intruder.fetch_token()
        assert (no_token.value.status, no_token.value.code) == (401, "invalid_client")
    assert_logs_hold_no_secret(server)


def raw_request(server: Server, request: bytes) -> bytes:
    """Send bytes as they are (no client library would send these) and read the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_huge_headers_and_request_lines_are_answered_not_crashed_on(
    database_url: str, servers: Servers
) -> None:
    load_example(database_url)
    server = servers.start()
    big_header = b"X-Big: " + b"a" * 4_000_000 + b"\r\n"
    many_headers = b"".join(b"X-H%d: v\r\n" % i for i in range(50_000))
    long_query = f"/api/v1/groups?company={COMPANY}&x=".encode() + b"q" * 60_000
    huge_query = b"/api/v1/groups?x=" + b"q" * 2_000_000
    # Over PATHSESSIONS_MAX_HEADER_BYTES (32 KiB) of request line and headers: 431, and the
    # connection closed (docs/api.md, decision 68).
    for path, extra in (
        (b"/api/v1/groups", big_header),
        (b"/api/v1/groups", many_headers),
        (long_query, b""),
        (huge_query, b""),
    ):
        head = b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n"
        answer = raw_request(server, head + extra + b"\r\n")
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]
    # Under it: answered by the API.
    medium = b"X-Big: " + b"a" * 20_000 + b"\r\n"
    answer = raw_request(server, b"GET /api/v1/groups HTTP/1.1\r\nHost: x\r\n" + medium + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:100]
    # A request line the HTTP parser refuses is answered by it, and the connection closed.
    bad = b"GET /api/v1/groups?x=\x01 HTTP/1.1\r\nHost: x\r\n\r\n"
    assert raw_request(server, bad).startswith(b"HTTP/1.1 400 ")
    # The server goes on serving.
    assert httpx.get(f"{server.base_url}/api/v1/groups", headers=HEADERS).status_code == 200
    stop_cleanly(server)
    assert max(map(len, server.stderr.splitlines())) < 10_000  # nothing echoed whole
