"""Exports (docs/sandbox.md, "Exports"): a company's sessions and enrollments as CSV through
the control API and as CSV or JSON Lines through `pathsessions export`, read back with the
`csv` module and compared with what v1 and v2 answer for the same company."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import gc
import io
import json
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator, MutableMapping
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from pathsessions.app import create_app
from pathsessions.core.exports import ENROLLMENT_COLUMNS, EXPORTS, SESSION_COLUMNS
from pathsessions.settings import Settings
from pathsessions.storage import Database
from pathsessions.storage import sandbox as sandbox_store
from pathsessions.web.asgi import StreamAborted
from support.cli import Cli
from support.sandbox import ADMIN, ADMIN_TOKEN, admin, sandbox_settings
from support.v2 import v2_headers
from support.world import Credential

COMPANY = "7a0000000000000000000001"
KEY = "csv-corp-test-key"
CREDENTIAL = Credential("c1" + "0" * 30, "csv-corp-v2-secret", "full", ("paths:read",))
GROUP, TEAM = "7a0000000000000000000002", "7a0000000000000000000003"
PATH, OTHER_PATH = "7a0000000000000000000004", "7a0000000000000000000005"
ANN, BOB, CID = "7a0000000000000000000006", "7a0000000000000000000007", "7a0000000000000000000008"
# Every character that makes a spreadsheet run a cell as a formula.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
AWKWARD = 'comma, "quotes",\r\nand a line break'


def document() -> dict[str, Any]:
    people = [
        {"id": ANN, "mail": "ann@csv.test", "firstName": "Ann"},
        {"id": BOB, "mail": "bob@csv.test", "firstName": "Bob"},
        {"id": CID, "mail": "=cid@csv.test", "firstName": "Cid"},
    ]
    sessions: list[dict[str, Any]] = [
        {
            "path": PATH,
            "sessionName": AWKWARD,
            "startDate": "2031-01-02T09:00:00.000Z",
            "endDate": "2031-01-03T17:30:00.250Z",
            "sessionOwnerGroup": TEAM,
            "instructorsMails": ["bob@csv.test", "ann@csv.test"],
            "sessionAdditionalInformation": "Bring a laptop; and a charger",
            "enrollments": [
                {"user": "ann@csv.test", "selfEnrolled": True, "progress": {"progress": 42}},
                {"user": "bob@csv.test", "status": "archived"},
                {"user": "=cid@csv.test"},
            ],
        },
        {
            "path": OTHER_PATH,
            "sessionName": "No end, no information",
            "startDate": "2031-02-01T00:00:00.000Z",
            "sessionOwnerGroup": GROUP,
            "instructorsMails": ["ann@csv.test"],
        },
    ]
    for i, trigger in enumerate(TRIGGERS):
        sessions.append(
            {
                "path": PATH,
                "sessionName": f"Formula {i}",
                "startDate": f"2031-03-0{i + 1}T00:00:00.000Z",
                "sessionOwnerGroup": GROUP,
                "instructorsMails": ["ann@csv.test"],
                "sessionAdditionalInformation": f"{trigger}SUM(A1:A9)",
            }
        )
    return {
        "companies": [
            {
                "id": COMPANY,
                "name": "CSV Corp",
                "apiKeys": [KEY],
                "apiCredentials": [CREDENTIAL.fixture()],
                "owner": "ann@csv.test",
                "groups": [
                    {"id": GROUP, "name": "Everyone"},
                    {"id": TEAM, "name": '-Team, "B"', "parent": GROUP},
                ],
                "users": people,
                "paths": [
                    {"id": PATH, "name": "Safety, first", "group": GROUP},
                    {"id": OTHER_PATH, "name": "+Second", "group": GROUP},
                ],
                "sessions": sessions,
            }
        ]
    }


V1 = {"X-company-id": COMPANY, "X-apiKey": KEY}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return sandbox_settings(database_url)


@pytest.fixture
async def loaded(client: httpx.AsyncClient) -> None:
    r = await admin(client, "POST", "/fixtures", json=document())
    assert r.status_code == 200, r.text


def parse(body: bytes) -> list[list[str]]:
    # newline="" as the csv module asks: CR and LF inside quoted cells are the cells' own.
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


def guarded(value: str) -> str:
    return "'" + value if value.startswith(TRIGGERS) else value


def records(body: bytes, columns: tuple[str, ...]) -> list[dict[str, str]]:
    header, *rows = parse(body)
    assert tuple(header) == columns
    return [dict(zip(header, row, strict=True)) for row in rows]


async def get_csv(client: httpx.AsyncClient, what: str, company: str = COMPANY) -> httpx.Response:
    return await admin(client, "GET", f"/companies/{company}/{what}.csv")


def assert_rfc4180(r: httpx.Response) -> None:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert "content-length" not in r.headers  # streamed
    body = r.content
    assert body.endswith(b"\r\n")
    # Outside quoted cells every line ends with CRLF; the only LF without its CR is none.
    outside = b"".join(body.split(b'"')[::2])
    assert b"\n" not in outside.replace(b"\r\n", b"")


async def expected_sessions(client: httpx.AsyncClient) -> list[dict[str, str]]:
    """Each session's row, built from v1's and v2's answers."""
    listed = (await client.get("/api/v1/paths/sessions", headers=V1)).json()
    v2 = await v2_headers(client, CREDENTIAL)
    rows = []
    for s in sorted(listed, key=lambda s: s["sessionId"]):
        path = (await client.get(f"/api/v1/paths/{s['pathId']}", headers=V1)).json()
        group = (await client.get(f"/api/v1/groups/{s['sessionOwnerGroup']}", headers=V1)).json()
        r = await client.get(
            f"/api/v2/paths/{s['pathId']}/enrollments",
            params={"sessionId[eq]": s["sessionId"], "status[eq]": "published"},
            headers=v2,
        )
        assert r.status_code == 200, r.text
        mails = s["instructorsMails"]
        rows.append(
            {
                "sessionId": s["sessionId"],
                "pathId": s["pathId"],
                "pathName": path["name"],
                "sessionName": s["sessionName"],
                "startDate": s["startDate"],
                "endDate": s["endDate"] or "",
                "ownerGroupId": s["sessionOwnerGroup"],
                "ownerGroupName": group["name"],
                "mainInstructorMail": mails[0] if mails else "",
                "instructorsMails": ";".join(mails),
                "publishedEnrollments": str(len(r.json())),
                "additionalInformation": s["sessionAdditionalInformation"] or "",
                "createdAt": s["createdAt"],
                "modifiedAt": s["modifiedAt"],
            }
        )
    return [{k: guarded(v) for k, v in row.items()} for row in rows]


async def test_sessions_csv_is_rfc4180_and_says_what_the_api_says(
    client: httpx.AsyncClient, loaded: None
) -> None:
    r = await get_csv(client, "sessions")
    assert_rfc4180(r)
    assert r.content.startswith(b"sessionId,pathId,pathName,sessionName,startDate,endDate,")
    got = records(r.content, SESSION_COLUMNS)
    assert got == await expected_sessions(client)
    # The cells the fixture makes awkward, as a spreadsheet will read them.
    first = got[0]
    assert first["sessionName"] == AWKWARD
    assert f'"{AWKWARD.replace(chr(34), 2 * chr(34))}"'.encode() in r.content
    assert first["pathName"] == "Safety, first"
    assert first["ownerGroupName"] == '\'-Team, "B"'
    assert first["mainInstructorMail"] == "bob@csv.test"
    assert first["instructorsMails"] == "bob@csv.test;ann@csv.test"
    assert first["publishedEnrollments"] == "2"  # the archived one is not counted
    assert first["endDate"] == "2031-01-03T17:30:00.250Z"
    second = got[1]
    assert (second["endDate"], second["additionalInformation"]) == ("", "")
    assert second["pathName"] == "'+Second"
    assert second["publishedEnrollments"] == "0"


@pytest.mark.parametrize("trigger", TRIGGERS, ids=repr)
async def test_a_cell_a_spreadsheet_would_run_gets_a_quote(
    client: httpx.AsyncClient, loaded: None, trigger: str
) -> None:
    got = records((await get_csv(client, "sessions")).content, SESSION_COLUMNS)
    [row] = [row for row in got if row["sessionName"] == f"Formula {TRIGGERS.index(trigger)}"]
    assert row["additionalInformation"] == f"'{trigger}SUM(A1:A9)"


async def test_enrollments_csv_lists_every_enrollment_as_v2_does(
    client: httpx.AsyncClient, loaded: None
) -> None:
    r = await get_csv(client, "enrollments")
    assert_rfc4180(r)
    got = records(r.content, ENROLLMENT_COLUMNS)
    v2 = await v2_headers(client, CREDENTIAL)
    listed: list[dict[str, Any]] = []
    for path in (PATH, OTHER_PATH):
        answer = await client.get(f"/api/v2/paths/{path}/enrollments", headers=v2)
        assert answer.status_code == 200, answer.text
        listed += [{**e, "pathId": path} for e in answer.json()]
    mails = {ANN: "ann@csv.test", BOB: "bob@csv.test", CID: "'=cid@csv.test"}
    expected = [
        {
            "enrollmentId": e["_id"],
            "sessionId": e["sessionId"],
            "pathId": e["pathId"],
            "userId": e["userId"],
            "userMail": mails[e["userId"]],
            "selfEnrolled": "true" if e["isSelfEnrolled"] else "false",
            "status": e["status"],
            "createdAt": e["createdAt"],
            "archivedAt": e.get("archivedAt", ""),
            "progress": "42" if e["userId"] == ANN else "",
        }
        for e in sorted(listed, key=lambda e: e["_id"])
    ]
    assert got == expected
    assert sorted(e["status"] for e in got) == ["archived", "published", "published"]
    assert [e["archivedAt"] != "" for e in got if e["status"] == "archived"] == [True]


async def test_a_company_with_nothing_answers_the_header_alone(
    client: httpx.AsyncClient, world: Any
) -> None:
    for what, columns in (("sessions", SESSION_COLUMNS), ("enrollments", ENROLLMENT_COLUMNS)):
        r = await get_csv(client, what, world.other_company)
        assert_rfc4180(r)
        assert r.content == ",".join(columns).encode() + b"\r\n"


async def test_exports_name_one_company_and_need_the_admin_token(
    client: httpx.AsyncClient, loaded: None, world: Any
) -> None:
    for what in ("sessions", "enrollments"):
        url = f"/__admin/companies/{COMPANY}/{what}.csv"
        assert (await client.get(url)).json() == {"error": "unauthorized"}
        r = await client.get(url, headers=V1)
        assert (r.status_code, r.json()) == (401, {"error": "unauthorized"})
        for unknown in ("7a00000000000000000000ff", "not-an-id"):
            r = await get_csv(client, what, unknown)
            # As every other /__admin/companies/{companyId} route answers it.
            same = await admin(client, "GET", f"/companies/{unknown}/export")
            assert (r.status_code, r.json()) == (404, same.json())
            assert r.json() == {"error": "not_found", "message": f"no company {unknown}"}
        # Another company's rows are never in it.
        assert world.company not in (await get_csv(client, what)).text


# --- The command ---------------------------------------------------------------------------
# Sync tests: the command runs its own event loop; the application beside it runs on another.


class LiveSandbox:
    """The application with its control API, on a loop of its own, the fixture loaded."""

    def __init__(self, database_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.app = create_app(sandbox_settings(database_url))
        self.loop.run_until_complete(self.app.startup())
        r = self.request("POST", "/__admin/fixtures", json=document())
        assert r.status_code == 200, r.text

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await c.request(method, url, headers=ADMIN, **kwargs)

        return self.loop.run_until_complete(go())

    def csv(self, what: str) -> bytes:
        r = self.request("GET", f"/__admin/companies/{COMPANY}/{what}.csv")
        assert r.status_code == 200, r.text
        return r.content

    def close(self) -> None:
        self.loop.run_until_complete(self.app.shutdown())
        self.loop.close()


@pytest.fixture
def live_sandbox(database_url: str) -> Iterator[LiveSandbox]:
    running = LiveSandbox(database_url)
    yield running
    running.close()


@pytest.fixture
def export_cli(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("PATHSESSIONS_ADMIN_TOKEN", ADMIN_TOKEN)
    return cli


def test_the_command_writes_what_the_route_answers(
    live_sandbox: LiveSandbox, export_cli: Cli, tmp_path: Path
) -> None:
    for what in ("sessions", "enrollments"):
        served = live_sandbox.csv(what)
        out = tmp_path / f"{what}.csv"
        assert export_cli.ok("export", what, "--company", COMPANY, "--output", str(out)) == ""
        assert out.read_bytes() == served
        # Standard output by default, CSV by default: the same bytes, CRLF included.
        printed = export_cli.ok("export", what, "--company", COMPANY.upper())
        assert printed.encode() == served


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = text.split("\n")
    assert lines[-1] == ""
    return [json.loads(line) for line in lines[:-1]]


def test_the_command_writes_json_lines(live_sandbox: LiveSandbox, export_cli: Cli) -> None:
    for what, columns in (("sessions", SESSION_COLUMNS), ("enrollments", ENROLLMENT_COLUMNS)):
        objects = json_lines(
            export_cli.ok("export", what, "--company", COMPANY, "--format", "json")
        )
        assert all(tuple(o) == columns for o in objects)
        # The same rows as the CSV, in the same order.
        csv_rows = records(live_sandbox.csv(what), columns)
        assert [o[columns[0]] for o in objects] == [row[columns[0]] for row in csv_rows]
    # With their JSON types, and without the formula guard (no spreadsheet reads JSON).
    sessions = json_lines(
        export_cli.ok("export", "sessions", "--company", COMPANY, "--format", "json")
    )
    first = sessions[0]
    assert first["sessionName"] == AWKWARD
    assert first["instructorsMails"] == ["bob@csv.test", "ann@csv.test"]
    assert first["publishedEnrollments"] == 2
    assert sessions[1]["endDate"] is None
    assert sessions[1]["pathName"] == "+Second"
    enrollments = json_lines(
        export_cli.ok("export", "enrollments", "--company", COMPANY, "--format", "json")
    )
    by_user = {o["userId"]: o for o in enrollments}
    assert by_user[ANN]["progress"] == 42
    assert by_user[ANN]["selfEnrolled"] is True
    assert by_user[BOB]["progress"] is None
    assert by_user[CID]["userMail"] == "=cid@csv.test"


def test_the_command_refuses_what_it_cannot_export(
    live_sandbox: LiveSandbox, cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert cli.failed("export", "sessions", "--company", COMPANY) == (
        "error: export needs the sandbox: set PATHSESSIONS_ADMIN_TOKEN\n"
    )
    monkeypatch.setenv("PATHSESSIONS_ADMIN_TOKEN", ADMIN_TOKEN)
    out = tmp_path / "out.csv"
    for unknown in ("7a00000000000000000000ff", "x"):
        err = cli.failed("export", "enrollments", "--company", unknown, "--output", str(out))
        assert err == f"error: no company {unknown}\n"
    assert not out.exists()
    err = cli.failed("export", "sessions", "--company", COMPANY, "--output", str(tmp_path))
    assert err.startswith(f"error: cannot write {tmp_path}: ")
    assert cli("export", "paths", "--company", COMPANY).code == 2
    assert cli("export", "sessions", "--company", COMPANY, "--format", "xlsx").code == 2


# --- At size --------------------------------------------------------------------------------

# Enough that the whole answer is several times what streaming it may hold at once (a few
# slices: 1.8 MB at most measured, on PostgreSQL's batches of 500), small enough to take
# seconds (tracing allocations slows the export about threefold).
BIG = 15_000
HELD = 5 * 1024 * 1024 // 2


async def grow(db: Database, count: int) -> None:
    """`count` copies of the fixture's first session, each with its instructors and its three
    enrollments, written by the bulk path the fixture loader uses (`Database.bulk_insert`)."""
    schema = await sandbox_store.columns(db)
    columns = schema["path_sessions"]
    [session] = await db.fetchall(
        f"SELECT {', '.join(columns)} FROM path_sessions WHERE company_id = ? ORDER BY id LIMIT 1",
        COMPANY,
    )
    instructors = await db.fetchall(
        "SELECT position, user_id FROM session_instructors WHERE session_id = ?", session[0]
    )
    enrolled = schema["session_users"]
    enrollments = await db.fetchall(
        f"SELECT {', '.join(enrolled)} FROM session_users WHERE session_id = ?", session[0]
    )
    ids = [f"7b{i:022x}" for i in range(count)]
    at_id, at_session = enrolled.index("id"), enrolled.index("session_id")

    def copied(i: int, session_id: str) -> list[list[Any]]:
        rows = []
        for n, enrollment in enumerate(enrollments):
            row = list(enrollment)
            row[at_id], row[at_session] = f"7c{n:02x}{i:020x}", session_id
            rows.append(row)
        return rows

    async with db.transaction() as tx:
        await tx.bulk_insert("path_sessions", columns, [(new, *session[1:]) for new in ids])
        await tx.bulk_insert(
            "session_instructors",
            ("session_id", "position", "user_id"),
            [(new, position, user) for new in ids for position, user in instructors],
        )
        await tx.bulk_insert(
            "session_users", enrolled, [row for i, new in enumerate(ids) for row in copied(i, new)]
        )


class Counted:
    """What a streamed answer sent: its bytes and chunks, kept only as counts."""

    def __init__(self) -> None:
        self.status = 0
        self.size = 0
        self.chunks = 0
        self.tail = b""

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            return
        body = message.get("body", b"")
        self.size += len(body)
        self.chunks += 1
        if body:
            self.tail = body[-200:]


def traced_peak(work: Callable[[], object]) -> int:
    """The most memory allocated at once while `work` runs, beyond what was held before."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        work()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_exports_stream_in_constant_memory_at_any_size(
    live_sandbox: LiveSandbox, export_cli: Cli, tmp_path: Path
) -> None:
    live_sandbox.loop.run_until_complete(grow(live_sandbox.app.db, BIG))
    for what in ("sessions", "enrollments"):
        url = f"/__admin/companies/{COMPANY}/{what}.csv"
        scope = {
            "type": "http",
            "method": "GET",
            "path": url,
            "raw_path": url.encode(),
            "query_string": b"",
            "headers": [(b"authorization", ADMIN["Authorization"].encode())],
        }
        sent = Counted()

        async def receive(sent: Counted = sent) -> dict[str, Any]:
            if sent.status == 0:
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()  # the client stays until the answer ends
            raise AssertionError

        async def answer(scope: dict[str, Any] = scope, sent: Counted = sent) -> None:
            await live_sandbox.app(scope, receive, sent.send)

        peak = traced_peak(partial(live_sandbox.loop.run_until_complete, answer()))
        assert sent.status == 200
        rows = (BIG + 8) if what == "sessions" else (3 * BIG + 3)
        assert sent.size > rows * 100
        assert sent.chunks > rows // 1000  # sent as it is read, not at the end
        assert sent.tail.endswith(b"\r\n")
        # A few slices' worth, whatever the size: a small part of the whole answer.
        assert peak < min(HELD, sent.size // 2), (what, peak, sent.size)

        out = tmp_path / f"{what}.csv"
        peak = traced_peak(
            partial(export_cli.ok, "export", what, "--company", COMPANY, "--output", str(out))
        )
        size = out.stat().st_size
        assert size == sent.size
        assert peak < min(HELD, size // 2), (what, peak, size)


# --- Failures -------------------------------------------------------------------------------


def failing_sessions(monkeypatch: pytest.MonkeyPatch, after_rows: bool) -> None:
    """Sessions whose reading fails, at once or after their first slice, with a message that
    must not reach the client or the log."""
    real = EXPORTS["sessions"]

    async def batches(db: Database, company_id: str) -> AsyncIterator[list[Any]]:
        if after_rows:
            async for part in real.batches(db, company_id):
                yield part
                break
        raise RuntimeError("SELECT " + "secret".upper())

    monkeypatch.setitem(EXPORTS, "sessions", dataclasses.replace(real, batches=batches))


async def test_an_export_failing_before_any_row_answers_500(
    client: httpx.AsyncClient,
    loaded: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    failing_sessions(monkeypatch, after_rows=False)
    r = await get_csv(client, "sessions")
    assert (r.status_code, r.json()) == (
        500,
        {"error": "internal_error", "message": "see the server log"},
    )
    assert "error_id=admin unhandled RuntimeError" in caplog.text
    assert "SECRET" not in caplog.text


async def test_an_export_failing_midway_is_cut_short_and_logged(
    client: httpx.AsyncClient,
    loaded: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    failing_sessions(monkeypatch, after_rows=True)
    # The connection is broken off (the in-process transport re-raises what the app raised):
    # a truncated CSV never arrives looking whole.
    with pytest.raises(StreamAborted) as aborted:
        await get_csv(client, "sessions")
    assert str(aborted.value) == "admin"
    assert "error_id=admin unhandled RuntimeError" in caplog.text
    assert "SECRET" not in caplog.text
    assert aborted.value.__cause__ is None
