"""v2 learners' progress through the real app: a session's counts by status, its learners'
statistics and the company's, the status rule by the server's clock, pages with filters,
unenrolled learners, tenancy and the scope."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from pathsessions.api.v2 import progress as progress_api
from pathsessions.client import ClientV2
from pathsessions.core.clock import SettableClock
from pathsessions.core.model import Progress
from pathsessions.storage import Database
from support import UNKNOWN_ID, World
from support.progress import DAY, HOUR, NEW_YEAR_2030, enrol, learner_ids, learners, record, unenrol
from support.sessions_v2 import DATE, LINK, V2_PATHS, assert_v2_error, load_acme
from support.v2 import v2_headers

SECOND_PATH = "6c0000000000000000000003"
SESSION = "6d0000000000000000000001"
OPEN_ENDED = "6d0000000000000000000002"
ELSEWHERE = "6d0000000000000000000003"  # of SECOND_PATH
START = NEW_YEAR_2030 + 9 * HOUR  # 2030-01-01T09:00:00Z
END = START + 30 * DAY  # 2030-01-31T09:00:00Z
STATS = f"{V2_PATHS}/stats"
STATUSES = {
    "awaitingCorrection",
    "late",
    "notYetStarted",
    "onTime",
    "sessionNotOpened",
    "successful",
    "toRetake",
    "unsuccessful",
}
REQUIRED = {"_id", "userId", "progress", "status", "timeSpent", "enrolledAt", "selfEnrolled"}
OPTIONAL = {"completedAt", "score", "unenrolledAt", "certificateId", "startedAt", "dueDate"}
CERTIFICATE = "6e0000000000000000000001"


def statuses_url(session_id: str = SESSION, path_id: str | None = None) -> str:
    return f"{V2_PATHS}/{path_id or '6c0000000000000000000001'}/sessions/{session_id}/user-statuses"


def stats_url(session_id: str = SESSION, path_id: str | None = None) -> str:
    return f"{V2_PATHS}/{path_id or '6c0000000000000000000001'}/sessions/{session_id}/user-stats"


def _session(session_id: str, path_id: str, end: bool = True) -> dict[str, Any]:
    session: dict[str, Any] = {
        "id": session_id,
        "path": path_id,
        "sessionName": f"Session {session_id[-1]}",
        "startDate": "2030-01-01T09:00:00.000Z",
        "sessionOwnerGroup": "6a0000000000000000000001",
        "instructorsMails": ["ines@acme.test"],
    }
    if end:
        session["endDate"] = "2030-01-31T09:00:00.000Z"
    return session


async def _sessions(db: Database, world: World, users: list[str]) -> None:
    """Three sessions (one without an end date, one of another path) and learners."""
    await load_acme(
        db,
        paths=[{"id": SECOND_PATH, "name": "Second", "group": world.root_group}],
        users=learners(users),
        sessions=[
            _session(SESSION, world.path),
            _session(OPEN_ENDED, world.path, end=False),
            _session(ELSEWHERE, SECOND_PATH),
        ],
    )


async def _get(client: httpx.AsyncClient, url: str, **params: Any) -> Any:
    r = await client.get(url, params=params, headers=await v2_headers(client))
    assert r.status_code == 200, r.text
    return r.json()


async def _all(client: httpx.AsyncClient, url: str, params: Any = None) -> tuple[list[Any], int]:
    """Every item of a list, following its links; and how many pages it took."""
    headers = await v2_headers(client)
    r = await client.get(url, params=params, headers=headers)
    items, pages = [], 1
    while True:
        assert r.status_code == 200, r.text
        items += r.json()
        link = r.headers.get("link")
        if link is None:
            return items, pages
        m = LINK.fullmatch(link)
        assert m is not None, link
        r = await client.get(m["url"], headers=headers)
        pages += 1


def _by_user(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["userId"]: item for item in items}


# --- The status rule ----------------------------------------------------------------------

# One learner each: (recorded progress or None, status before the start, while running, once
# ended); a status with a reason is written (type, reason).
CASES: list[tuple[Progress | None, Any, Any, Any]] = [
    (None, "sessionNotOpened", "notYetStarted", ("unsuccessful", "sessionEnded")),
    (Progress(0), "sessionNotOpened", "notYetStarted", ("unsuccessful", "sessionEnded")),
    (Progress(40), "sessionNotOpened", "onTime", ("unsuccessful", "sessionEnded")),
    # A completion with no status recorded is a success, whatever the dates.
    (Progress(100, completed_at=START + DAY), "successful", "successful", "successful"),
    # Final statuses stand, with their reason when it is one of theirs.
    (Progress(100, status="successful"), "successful", "successful", "successful"),
    (Progress(30, status="unsuccessful"), "unsuccessful", "unsuccessful", "unsuccessful"),
    (
        Progress(90, status="awaitingCorrection"),
        "awaitingCorrection",
        "awaitingCorrection",
        "awaitingCorrection",
    ),
    # Statuses of a running session stand while it runs; the dates win before and after.
    (
        Progress(50, status="toRetake", reason="mandatoryReplay"),
        "sessionNotOpened",
        ("toRetake", "mandatoryReplay"),
        ("unsuccessful", "sessionEnded"),
    ),
    (Progress(20, status="late"), "sessionNotOpened", "late", ("unsuccessful", "sessionEnded")),
    (Progress(0, status="onTime"), "sessionNotOpened", "onTime", ("unsuccessful", "sessionEnded")),
    # A reason that is not its status's is not answered; a recorded `sessionNotOpened` is
    # the dates' to give.
    (
        Progress(10, status="late", reason="sessionEnded"),
        "sessionNotOpened",
        "late",
        ("unsuccessful", "sessionEnded"),
    ),
    (
        Progress(10, status="sessionNotOpened"),
        "sessionNotOpened",
        "onTime",
        ("unsuccessful", "sessionEnded"),
    ),
]


def _expected(value: Any) -> dict[str, str]:
    if isinstance(value, tuple):
        return {"type": value[0], "reason": value[1]}
    return {"type": value}


async def test_each_status_follows_the_rule_by_the_servers_clock(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    users = learner_ids(len(CASES))
    await _sessions(db, world, users)
    enrolled = await enrol(db, SESSION, users, START - 10 * DAY)
    for user, (recorded, *_) in zip(users, CASES, strict=True):
        await record(db, enrolled[user], recorded)

    moments = [
        (START - 1, 1),
        (START, 2),  # a session runs from its start date on
        (END - 1, 2),
        (END, 3),  # an end date at now has passed
        (END + 365 * DAY, 3),
    ]
    for now, column in moments:
        settable_clock.set(now)
        items = _by_user(await _get(client, stats_url()))
        counts = await _get(client, statuses_url())
        expected_counts = dict.fromkeys(STATUSES, 0)
        for user, case in zip(users, CASES, strict=True):
            value = case[column]
            assert items[user]["status"] == _expected(value), (now, user, case)
            expected_counts[_expected(value)["type"]] += 1
        assert counts == {"certificates": 0, "usersCountByStatus": expected_counts}, now


async def test_a_session_without_an_end_date_never_ends(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    users = learner_ids(2)
    await _sessions(db, world, users)
    enrolled = await enrol(db, OPEN_ENDED, users, START - DAY)
    await record(db, enrolled[users[1]], Progress(60))
    settable_clock.set(END + 100 * 365 * DAY)
    items = _by_user(await _get(client, stats_url(OPEN_ENDED)))
    assert items[users[0]]["status"] == {"type": "notYetStarted"}
    assert items[users[1]]["status"] == {"type": "onTime"}
    assert "dueDate" not in items[users[0]]
    counts = await _get(client, statuses_url(OPEN_ENDED))
    assert counts["usersCountByStatus"]["notYetStarted"] == 1
    assert counts["usersCountByStatus"]["onTime"] == 1


# --- Items and counts -----------------------------------------------------------------------


async def test_an_item_carries_the_enrollment_and_the_recorded_progress(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    users = learner_ids(3)
    await _sessions(db, world, users)
    await enrol(db, SESSION, users[:2], START - DAY)
    enrolled = await enrol(db, SESSION, users[2:], START - DAY, self_enrolled=True)
    await record(
        db,
        enrolled[users[0]],
        Progress(
            100,
            status="successful",
            time_spent=3_723_000,
            score=87.6,
            completed_at=START + 2 * DAY,
            started_at=START + HOUR,
            certificate_id=CERTIFICATE,
        ),
    )
    settable_clock.set(START + 3 * DAY)
    items = _by_user(await _get(client, stats_url()))
    done = items[users[0]]
    assert done == {
        "_id": enrolled[users[0]],
        "userId": users[0],
        "progress": 100,
        "status": {"type": "successful"},
        "timeSpent": 3_723_000,
        "enrolledAt": "2029-12-31T09:00:00.000Z",
        "selfEnrolled": False,
        "completedAt": "2030-01-03T09:00:00.000Z",
        "score": 88,
        "certificateId": CERTIFICATE,
        "startedAt": "2030-01-01T10:00:00.000Z",
        "dueDate": "2030-01-31T09:00:00.000Z",
    }
    # Nothing recorded: no progress, no time spent, and no optional field but the due date.
    assert items[users[1]] == {
        "_id": enrolled[users[1]],
        "userId": users[1],
        "progress": 0,
        "status": {"type": "notYetStarted"},
        "timeSpent": 0,
        "enrolledAt": "2029-12-31T09:00:00.000Z",
        "selfEnrolled": False,
        "dueDate": "2030-01-31T09:00:00.000Z",
    }
    assert items[users[2]]["selfEnrolled"] is True
    for item in items.values():
        assert REQUIRED <= set(item) <= REQUIRED | OPTIONAL
        assert None not in item.values()
        for key in ("enrolledAt", "completedAt", "startedAt", "dueDate", "unenrolledAt"):
            if key in item:
                assert DATE.fullmatch(item[key]), item
    counts = await _get(client, statuses_url())
    assert counts["certificates"] == 1
    assert counts["usersCountByStatus"]["successful"] == 1
    assert counts["usersCountByStatus"]["notYetStarted"] == 2
    # The company-wide list says the same, with the path and the session.
    company = _by_user(await _get(client, STATS))
    assert company[users[0]] == {**done, "pathId": world.path, "sessionId": SESSION}


async def test_unenrolled_learners_are_listed_with_unenrolled_at_and_not_counted(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    users = learner_ids(3)
    await _sessions(db, world, users)
    enrolled = await enrol(db, SESSION, users, START - DAY)
    await record(db, enrolled[users[0]], Progress(100, certificate_id=CERTIFICATE))
    await unenrol(db, SESSION, users[:2], START + HOUR)
    settable_clock.set(START + DAY)
    items = _by_user(await _get(client, stats_url()))
    assert set(items) == set(users)
    assert items[users[0]]["unenrolledAt"] == "2030-01-01T10:00:00.000Z"
    assert items[users[1]]["unenrolledAt"] == "2030-01-01T10:00:00.000Z"
    assert "unenrolledAt" not in items[users[2]]
    counts = await _get(client, statuses_url())
    assert counts["certificates"] == 0
    assert sum(counts["usersCountByStatus"].values()) == 1
    # Enrolled again: the same enrollment, published, without `unenrolledAt`.
    again = await enrol(db, SESSION, users[:1], START + 2 * HOUR)
    assert again[users[0]] == enrolled[users[0]]
    items = _by_user(await _get(client, stats_url()))
    assert "unenrolledAt" not in items[users[0]]
    assert (await _get(client, statuses_url()))["certificates"] == 1
    # Path stats: `status[eq]` is the enrollment's status.
    archived = await _get(client, STATS, **{"status[eq]": "archived"})
    assert [i["userId"] for i in archived] == [users[1]]
    published = await _get(client, STATS, **{"status[eq]": "published"})
    assert {i["userId"] for i in published} == {users[0], users[2]}


async def test_an_empty_session_counts_zero_of_every_status(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await _sessions(db, world, [])
    assert await _get(client, statuses_url()) == {
        "certificates": 0,
        "usersCountByStatus": dict.fromkeys(STATUSES, 0),
    }
    assert await _get(client, stats_url()) == []
    assert await _get(client, STATS) == []


# --- Pages and filters ----------------------------------------------------------------------


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 3, so that a few learners make several pages."""
    for name in ("SESSION_STATS", "PATH_STATS"):
        monkeypatch.setattr(progress_api, name, replace(getattr(progress_api, name), page_size=3))


@pytest.mark.usefixtures("small_pages")
async def test_user_stats_page_by_id_with_their_filters(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    users = learner_ids(10)
    await _sessions(db, world, users)
    enrolled = await enrol(db, SESSION, users, START - DAY)
    for n, user in enumerate(users):
        if n % 2 == 0:
            await record(db, enrolled[user], Progress(100, completed_at=START + n * DAY))
    items, pages = await _all(client, stats_url())
    assert [i["_id"] for i in items] == sorted(enrolled.values())
    assert pages == 4
    # completedAt: 0, 2, 4, 6, 8 days after the start; [2 days, 8 days) keeps 2, 4 and 6.
    dates = {"completedAt[gte]": "2030-01-03T09:00:00.000Z", "completedAt[lt]": "2030-01-09"}
    items, pages = await _all(client, stats_url(), dates)
    assert sorted(i["userId"] for i in items) == [users[2], users[4], users[6]]
    # userId lists, both spellings; `ne`; the filters carried by the page tokens.
    params = [("userId[in]", u) for u in users[:5]] + [("userId[ne]", users[0])]
    items, pages = await _all(client, stats_url(), params)
    assert sorted(i["userId"] for i in items) == users[1:5]
    assert pages == 2
    params = [(f"userId[nin][{n}]", u) for n, u in enumerate(users[:5])]
    items, _ = await _all(client, stats_url(), params)
    assert sorted(i["userId"] for i in items) == users[5:]


@pytest.mark.usefixtures("small_pages")
async def test_path_stats_page_across_the_company_with_their_filters(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    users = learner_ids(4)
    await _sessions(db, world, users)
    first = await enrol(db, SESSION, users, START - DAY)
    second = await enrol(db, OPEN_ENDED, users[:2], START - DAY)
    elsewhere = await enrol(db, ELSEWHERE, users[1:], START - DAY, path_id=SECOND_PATH)
    await unenrol(db, ELSEWHERE, users[3:], START)
    await record(db, first[users[0]], Progress(100, completed_at=START + DAY))
    ids = sorted([*first.values(), *second.values(), *elsewhere.values()])
    items, pages = await _all(client, STATS)
    assert [i["_id"] for i in items] == ids
    assert pages == 3
    assert {(i["pathId"], i["sessionId"]) for i in items} == {
        (world.path, SESSION),
        (world.path, OPEN_ENDED),
        (SECOND_PATH, ELSEWHERE),
    }
    items, _ = await _all(client, STATS, {"pathId[eq]": SECOND_PATH})
    assert sorted(i["_id"] for i in items) == sorted(elsewhere.values())
    items, _ = await _all(client, STATS, {"pathId[ne]": SECOND_PATH, "userId[eq]": users[1]})
    assert sorted(i["_id"] for i in items) == sorted([first[users[1]], second[users[1]]])
    items, _ = await _all(client, STATS, {"status[eq]": "archived"})
    assert [i["_id"] for i in items] == [elsewhere[users[3]]]
    items, _ = await _all(client, STATS, {"completedAt[gte]": "2030-01-01"})
    assert [i["_id"] for i in items] == [first[users[0]]]


@pytest.mark.usefixtures("small_pages")
async def test_a_page_token_of_one_sessions_list_is_refused_for_another(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    users = learner_ids(4)
    await _sessions(db, world, users)
    await enrol(db, SESSION, users, START - DAY)
    headers = await v2_headers(client)
    r = await client.get(stats_url(), headers=headers)
    m = LINK.fullmatch(r.headers["link"])
    assert m is not None
    token = m["url"].split("next=", 1)[1]
    r = await client.get(stats_url(OPEN_ENDED), params={"next": token}, headers=headers)
    assert_v2_error(r, 400, "badRequest")
    r = await client.get(STATS, params={"next": token}, headers=headers)
    assert_v2_error(r, 400, "badRequest")
    # The same session, its id spelt in capitals: the same list.
    r = await client.get(stats_url(SESSION.upper()), params={"next": token}, headers=headers)
    assert r.status_code == 200, r.text
    assert len(r.json()) == 1


@pytest.mark.parametrize(
    ("url", "params"),
    [
        (STATS, {"status[eq]": "onTime"}),
        (STATS, {"status[ne]": "archived"}),
        (STATS, {"sessionId[eq]": SESSION}),
        (STATS, {"pathId[eq]": "nope"}),
        (stats_url(), {"status[eq]": "published"}),
        (stats_url(), {"completedAt[gte]": "yesterday"}),
    ],
)
async def test_a_malformed_filter_is_bad_request(
    client: httpx.AsyncClient, world: World, db: Database, url: str, params: dict[str, str]
) -> None:
    await _sessions(db, world, [])
    r = await client.get(url, params=params, headers=await v2_headers(client))
    assert_v2_error(r, 400, "badRequest")
    assert r.json()["error"]["message"].startswith(next(iter(params)))


# --- Checks, tenancy, scope, routes -----------------------------------------------------------


@pytest.mark.parametrize("url", [statuses_url, stats_url])
async def test_path_then_session_then_their_link_are_checked_in_order(
    client: httpx.AsyncClient, world: World, db: Database, url: Any
) -> None:
    await _sessions(db, world, [])
    headers = await v2_headers(client)
    for path_id, session_id, status, code in [
        (UNKNOWN_ID, UNKNOWN_ID, 404, "pathNotFound"),
        ("not-an-id", SESSION, 404, "pathNotFound"),
        (world.other_path, SESSION, 404, "pathNotFound"),
        (world.path, UNKNOWN_ID, 404, "sessionNotFound"),
        (world.path, "not-an-id", 404, "sessionNotFound"),
        (world.path, ELSEWHERE, 400, "sessionNotBelongToPath"),
    ]:
        r = await client.get(url(session_id, path_id), headers=headers)
        assert_v2_error(r, status, code)
    r = await client.get(url(SESSION, world.path.upper()), headers=headers)
    assert r.status_code == 200, r.text


async def test_another_companys_sessions_and_learners_are_invisible(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    users = learner_ids(2)
    await _sessions(db, world, users)
    await enrol(db, SESSION, users, START - DAY)
    other = await v2_headers(client, world.other_credential)
    for url in (statuses_url(), stats_url()):
        r = await client.get(url, headers=other)
        assert_v2_error(r, 404, "pathNotFound")
    r = await client.get(statuses_url(path_id=world.other_path), headers=other)
    assert_v2_error(r, 404, "sessionNotFound")
    r = await client.get(STATS, headers=other)
    assert r.status_code == 200
    assert r.json() == []
    assert len(await _get(client, STATS)) == 2


@pytest.mark.parametrize("url", [statuses_url(), stats_url(), STATS])
async def test_each_needs_the_path_stats_scope(
    client: httpx.AsyncClient, world: World, db: Database, url: str
) -> None:
    await _sessions(db, world, [])
    r = await client.get(url, headers=await v2_headers(client, world.paths_read_credential))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "invalid_scope"


async def test_the_company_list_is_not_taken_for_a_path_named_stats(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    users = learner_ids(1)
    await _sessions(db, world, users)
    await enrol(db, SESSION, users, START - DAY)
    items = await _get(client, STATS)
    assert [i["userId"] for i in items] == users
    # A path id still reads the path.
    assert (await _get(client, f"{V2_PATHS}/{world.path}"))["_id"] == world.path


# --- The client -------------------------------------------------------------------------------


@pytest.mark.backend_independent
def test_the_client_asks_for_the_statistics_with_their_filters() -> None:
    sent: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v2/oauth2/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": "3600"})
        sent.append(f"{request.url.raw_path.decode()}")
        if request.url.path.endswith("/user-statuses"):
            return httpx.Response(200, json={"certificates": 0, "usersCountByStatus": {}})
        return httpx.Response(200, json=[{"_id": "x"}])

    transport = httpx.MockTransport(server)
    with ClientV2("http://api.test", "c" * 32, "secret", transport=transport) as api:
        assert api.get_session_stats("p", "s")["certificates"] == 0
        stats = api.list_user_stats("p", "s", user_id={"in": ["a", "b"]})
        assert [i["_id"] for i in stats] == ["x"]
        path_stats = api.list_path_stats(
            status={"eq": "archived"}, path_id={"ne": "p"}, completed_at={"gte": "2030-01-01"}
        )
        assert [i["_id"] for i in path_stats] == ["x"]
    assert sent == [
        "/api/v2/paths/p/sessions/s/user-statuses",
        "/api/v2/paths/p/sessions/s/user-stats?userId%5Bin%5D=a&userId%5Bin%5D=b",
        "/api/v2/paths/stats?status%5Beq%5D=archived&pathId%5Bne%5D=p&completedAt%5Bgte%5D=2030-01-01",
    ]
