"""A path's enrollments, self-enrollments, and v1 and v2 agreeing on who is enrolled, through
the real app (docs/api-v2.md, "Who is enrolled")."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from pathsessions.api.v2 import enrollments as enrollments_module
from pathsessions.app import App
from pathsessions.client import ClientV2, PathSessionsError
from pathsessions.core import audiences as core_audiences
from pathsessions.core.clock import SettableClock
from pathsessions.core.events import EventKind
from pathsessions.storage import Database
from support import UNKNOWN_ID, World
from support.enrollments_v2 import (
    DAY,
    L1,
    L2,
    L3,
    L4,
    LONE,
    NEW_YEAR_2030,
    TEAM,
    audience,
    audience_url,
    enrollments_state,
    enrollments_url,
    load_scene,
    published,
    put_audience,
    self_enrollment_url,
)
from support.sessions_v2 import DATE, LINK, assert_v2_error, create, session_url
from support.v2 import v2_headers
from support.world import WORLD
from test_client_v2 import InApp, with_client

SECOND_PATH = "6c0000000000000000000003"
S1 = "6d0000000000000000000021"  # v1-made, with enrollments of every kind
S2 = "6d0000000000000000000022"  # audience builder
CHILD = "6d0000000000000000000023"
ELSEWHERE = "6d0000000000000000000024"

ITEM_REQUIRED = {"_id", "userId", "sessionId", "createdAt", "isSelfEnrolled", "status"}
ITEM_OPTIONAL = {"archivedAt", "modifiedAt"}


def _session(session_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": session_id,
        "path": "6c0000000000000000000001",
        "sessionName": name,
        "startDate": "2030-01-01T09:00:00.000Z",
        "endDate": "2030-01-31T09:00:00.000Z",
        "sessionOwnerGroup": "6a0000000000000000000001",
        "instructorsMails": ["ines@acme.test"],
        **extra,
    }


async def _scene(db: Database, world: World) -> None:
    await load_scene(
        db,
        paths=[{"id": SECOND_PATH, "name": "Second", "group": world.root_group}],
        sessions=[
            _session(
                S1,
                "One",
                enrollments=[
                    {"user": L1, "createdAt": "2030-01-02T00:00:00.000Z"},
                    {
                        "user": "l2@acme.test",
                        "selfEnrolled": True,
                        "createdAt": "2030-01-03T00:00:00.000Z",
                    },
                    {
                        "user": L3,
                        "status": "archived",
                        "createdAt": "2030-01-04T00:00:00.000Z",
                        "archivedAt": "2030-01-05T00:00:00.000Z",
                    },
                ],
            ),
            _session(
                S2,
                "Two",
                audience=audience("manual", users=[L4]),
                enrollments=[
                    {"user": L4, "createdAt": "2030-01-06T00:00:00.000Z"},
                    {"user": L3, "selfEnrolled": True, "createdAt": "2030-01-07T00:00:00.000Z"},
                ],
            ),
            _session(
                CHILD,
                "Child",
                rootSession=S1,
                enrollments=[
                    {"user": L1, "selfEnrolled": True, "createdAt": "2030-01-08T00:00:00.000Z"}
                ],
            ),
            _session(ELSEWHERE, "Elsewhere", path=SECOND_PATH, enrollments=[{"user": L1}]),
        ],
    )


async def _list(
    client: httpx.AsyncClient, headers: dict[str, str], query: str = "", path_id: str | None = None
) -> list[dict[str, Any]]:
    url = enrollments_url() if path_id is None else enrollments_url(path_id)
    r = await client.get(url + query, headers=headers)
    assert r.status_code == 200, r.text
    items = r.json()
    assert isinstance(items, list)
    return items


async def test_the_list_holds_every_enrollment_of_the_paths_sessions_in_id_order(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await _scene(db, world)
    headers = await v2_headers(client)
    items = await _list(client, headers)
    assert [i["_id"] for i in items] == sorted(i["_id"] for i in items)
    assert {(i["sessionId"], i["userId"]) for i in items} == {
        (S1, L1),
        (S1, L2),
        (S1, L3),
        (S2, L4),
        (S2, L3),
        (CHILD, L1),
    }
    for item in items:
        assert ITEM_REQUIRED <= set(item) <= ITEM_REQUIRED | ITEM_OPTIONAL, item
        assert None not in item.values()
        for key in ("createdAt", "archivedAt", "modifiedAt"):
            if key in item:
                assert DATE.fullmatch(item[key])
    by = {(i["sessionId"], i["userId"]): i for i in items}
    assert by[(S1, L1)] == {
        "_id": by[(S1, L1)]["_id"],
        "userId": L1,
        "sessionId": S1,
        "createdAt": "2030-01-02T00:00:00.000Z",
        "isSelfEnrolled": False,
        "status": "published",
        "modifiedAt": "2030-01-02T00:00:00.000Z",
    }
    assert by[(S1, L2)]["isSelfEnrolled"] is True
    assert by[(S1, L3)]["status"] == "archived"
    assert by[(S1, L3)]["archivedAt"] == "2030-01-05T00:00:00.000Z"
    assert [i["userId"] for i in await _list(client, headers, path_id=SECOND_PATH)] == [L1]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?status[eq]=archived", {(S1, L3)}),
        ("?status[eq]=published&sessionId[eq]=" + S1, {(S1, L1), (S1, L2)}),
        ("?sessionId[in]=" + S2 + "&sessionId[in]=" + CHILD, {(S2, L4), (S2, L3), (CHILD, L1)}),
        ("?sessionId[nin][0]=" + S1 + "&sessionId[nin][1]=" + CHILD, {(S2, L4), (S2, L3)}),
        ("?sessionId[ne]=" + S1 + "&createdAt[lt]=2030-01-07", {(S2, L4)}),
        ("?createdAt[gte]=2030-01-03T00:00:00.000Z&createdAt[lt]=2030-01-05", {(S1, L2), (S1, L3)}),
        (
            "?modifiedAt[gte]=2030-01-05&modifiedAt[lt]=2030-01-06T00:00:00.001Z",
            {(S1, L3), (S2, L4)},
        ),
    ],
)
async def test_filters(
    client: httpx.AsyncClient, world: World, db: Database, query: str, expected: set[Any]
) -> None:
    await _scene(db, world)
    headers = await v2_headers(client)
    items = await _list(client, headers, query)
    assert {(i["sessionId"], i["userId"]) for i in items} == expected


@pytest.mark.parametrize(
    "query",
    [
        "?status[eq]=deleted",
        "?status[ne]=published",
        "?sessionId[eq]=nope",
        "?createdAt[gt]=2030-01-01",
        "?userId[eq]=" + L1,
        "?next=forged.token",
    ],
)
async def test_a_malformed_filter_is_bad_request(
    client: httpx.AsyncClient, world: World, query: str
) -> None:
    headers = await v2_headers(client)
    r = await client.get(enrollments_url() + query, headers=headers)
    assert_v2_error(r, 400, "badRequest")


async def test_pages_follow_the_link_with_the_filters_kept(
    client: httpx.AsyncClient, world: World, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _scene(db, world)
    headers = await v2_headers(client)
    every = await _list(client, headers, "?sessionId[ne]=" + CHILD)
    small = replace(enrollments_module.ENROLLMENTS, page_size=2)
    monkeypatch.setattr(enrollments_module, "ENROLLMENTS", small)
    url: str | None = enrollments_url() + "?sessionId[ne]=" + CHILD
    seen: list[str] = []
    pages = 0
    while url is not None:
        r = await client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        assert len(r.json()) <= 2
        seen += [i["_id"] for i in r.json()]
        pages += 1
        link = r.headers.get("link")
        url = None if link is None else LINK.fullmatch(link)["url"]  # type: ignore[index]
    assert pages == 3
    assert seen == [i["_id"] for i in every]
    assert len(seen) == 5


async def test_an_unknown_or_foreign_path_is_not_found(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    headers = await v2_headers(client)
    for path_id in (UNKNOWN_ID, "nope", world.other_path):
        r = await client.get(enrollments_url(path_id), headers=headers)
        assert_v2_error(r, 404, "pathNotFound")
    other = await v2_headers(client, world.other_credential)
    r = await client.get(enrollments_url(), headers=other)
    assert_v2_error(r, 404, "pathNotFound")
    directory = await v2_headers(client, world.directory_read_credential)
    r = await client.get(enrollments_url(), headers=directory)
    assert_v2_error(r, 403, "invalid_scope")


# --- Self-enrollments ---------------------------------------------------------------------------


async def test_a_self_enrollment_is_archived(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    settable_clock.set(NEW_YEAR_2030 + DAY)
    await _scene(db, world)
    headers = await v2_headers(client)
    r = await client.delete(self_enrollment_url(S1, L2.upper()), headers=headers)
    assert r.status_code == 204, r.text
    assert r.content == b""
    (item,) = await _list(
        client, headers, f"?sessionId[eq]={S1}&status[eq]=archived&createdAt[lt]=2030-01-04"
    )
    assert item["userId"] == L2
    assert item["archivedAt"] == item["modifiedAt"] == "2030-01-02T00:00:00.000Z"
    # Once archived, it is not enrolled any more.
    r = await client.delete(self_enrollment_url(S1, L2), headers=headers)
    assert_v2_error(r, 404, "learnerNotEnrolled")


async def test_self_enrollment_checks_in_order(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    settable_clock.set(NEW_YEAR_2030)
    await _scene(db, world)
    before = await enrollments_state(db)
    cases = [
        (self_enrollment_url(S1, L2, UNKNOWN_ID), 404, "pathNotFound"),
        (self_enrollment_url(S1, L2, world.other_path), 404, "pathNotFound"),
        (self_enrollment_url(UNKNOWN_ID, L2), 404, "sessionNotFound"),
        (self_enrollment_url(ELSEWHERE, L1), 400, "sessionNotBelongToPath"),
        (self_enrollment_url(CHILD, L1), 400, "childPathSession"),
        (self_enrollment_url(S1, UNKNOWN_ID), 404, "learnerNotEnrolled"),
        (self_enrollment_url(S1, "nope"), 404, "learnerNotEnrolled"),
        (self_enrollment_url(S1, L3), 404, "learnerNotEnrolled"),  # archived
        (self_enrollment_url(S1, L1), 400, "learnerNotSelfEnrolled"),
        (self_enrollment_url(S2, L4), 400, "learnerNotSelfEnrolled"),  # by the audience
    ]
    headers = await v2_headers(client)
    for url, status, code in cases:
        r = await client.delete(url, headers=headers)
        assert_v2_error(r, status, code)
    read_only = await v2_headers(client, world.paths_read_credential)
    r = await client.delete(self_enrollment_url(S1, L2), headers=read_only)
    assert_v2_error(r, 403, "invalid_scope")
    other = await v2_headers(client, world.other_credential)
    r = await client.delete(self_enrollment_url(S1, L2), headers=other)
    assert_v2_error(r, 404, "pathNotFound")
    # Ended, by the server's clock, comes after the child check and before the learner's.
    settable_clock.set(NEW_YEAR_2030 + 40 * DAY)
    headers = await v2_headers(client)
    r = await client.delete(self_enrollment_url(S1, UNKNOWN_ID), headers=headers)
    assert_v2_error(r, 400, "sessionEnded")
    r = await client.delete(self_enrollment_url(CHILD, L1), headers=headers)
    assert_v2_error(r, 400, "childPathSession")
    assert await enrollments_state(db) == before


# --- v1 and v2 agree ----------------------------------------------------------------------------


def _v1(session_id: str, kind: str = "users") -> str:
    return f"/api/v1/paths/sessions/{session_id}/{kind}"


async def _v1_users(client: httpx.AsyncClient, world: World, session_id: str) -> list[str]:
    r = await client.get(f"/api/v1/paths/sessions/{session_id}", headers=world.headers)
    assert r.status_code == 200, r.text
    return sorted(u["_id"] for u in r.json()["users"])


async def test_v1_enrolment_writes_enrollments_v2_reads(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await load_scene(db)
    headers = await v2_headers(client)
    session = await create(client, headers)
    r = await client.post(
        world.sessions_url(),
        json={
            "sessionName": "v1",
            "startDate": "2030-01-01T09:00:00.000Z",
            "sessionOwnerGroup": world.root_group,
            "instructorsMails": [world.instructor_mail],
        },
        headers=world.headers,
    )
    assert r.status_code == 200, r.text
    for session_id in (r.json()["_id"], session["_id"]):
        r = await client.patch(_v1(session_id), json={"userIds": [L1, L2]}, headers=world.headers)
        assert r.content == b'{"status":"users_enrolled"}'
        r = await client.request(
            "DELETE", _v1(session_id), json={"userIds": [L2]}, headers=world.headers
        )
        assert r.content == b'{"status":"users_unenrolled"}'
        by = {i["userId"]: i for i in await _list(client, headers, f"?sessionId[eq]={session_id}")}
        assert by[L1]["status"] == "published"
        assert by[L1]["isSelfEnrolled"] is False
        assert by[L2]["status"] == "archived"
        assert "archivedAt" in by[L2]
        assert await _v1_users(client, world, session_id) == [L1]


async def test_v1_reads_who_an_audience_enrolled(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await load_scene(db)
    headers = await v2_headers(client)
    session_id = (await create(client, headers))["_id"]
    await put_audience(client, headers, session_id, audience("manual", groups=[TEAM]))
    assert await _v1_users(client, world, session_id) == [L1, L2]


async def test_v1_user_enrolment_on_an_audience_builder_session_changes_its_audience(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await load_scene(db)
    headers = await v2_headers(client)
    session_id = (await create(client, headers))["_id"]
    await put_audience(
        client, headers, session_id, audience("dynamic", groups=[TEAM], excludedLearners=[L3])
    )
    await client.patch(_v1(session_id), json={"userIds": [L3, L4]}, headers=world.headers)
    await client.request("DELETE", _v1(session_id), json={"userIds": [L1]}, headers=world.headers)
    r = await client.get(audience_url(session_id), headers=headers)
    # L3 and L4 named, L3 no longer excluded; L1, still a member of Team, excluded.
    assert r.json() == audience("dynamic", groups=[TEAM], users=[L3, L4], excludedLearners=[L1])
    assert await published(db, session_id) == [L2, L3, L4]
    # Applying the audience again keeps what v1 did.
    await put_audience(client, headers, session_id, r.json())
    assert await published(db, session_id) == [L2, L3, L4]


async def test_v1_group_enrolment_on_an_audience_builder_session_adds_a_groups_filter(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await load_scene(db)
    headers = await v2_headers(client)
    session_id = (await create(client, headers))["_id"]
    await put_audience(client, headers, session_id, audience("manual", users=[L1]))
    r = await client.patch(
        _v1(session_id, "groups"), json={"groupIds": [LONE, TEAM]}, headers=world.headers
    )
    assert r.content == b'{"status":"groups_enrolled"}'
    r = await client.get(audience_url(session_id), headers=headers)
    assert r.json() == audience("manual", users=[L1], groups=[LONE, TEAM])
    assert await published(db, session_id) == [L1, L2, L4]
    r = await client.get(f"/api/v1/paths/sessions/{session_id}", headers=world.headers)
    assert sorted(g["_id"] for g in r.json()["groups"]) == sorted([LONE, TEAM])
    # Unenrolling a group takes it out of the filter and archives who it alone included.
    r = await client.request(
        "DELETE", _v1(session_id, "groups"), json={"groupIds": [TEAM]}, headers=world.headers
    )
    assert r.content == b'{"status":"groups_unenrolled"}'
    r = await client.get(audience_url(session_id), headers=headers)
    assert r.json() == audience("manual", users=[L1], groups=[LONE])
    assert await published(db, session_id) == [L1, L4]
    await client.request(
        "DELETE", _v1(session_id, "groups"), json={"groupIds": [LONE]}, headers=world.headers
    )
    r = await client.get(audience_url(session_id), headers=headers)
    assert r.json() == audience("manual", users=[L1])


async def test_v1_group_enrolment_elsewhere_records_the_group_only(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await load_scene(db, sessions=[_session(S1, "v1 session")])
    r = await client.patch(_v1(S1, "groups"), json={"groupIds": [TEAM]}, headers=world.headers)
    assert r.content == b'{"status":"groups_enrolled"}'
    assert await published(db, S1) == []
    r = await client.get(f"/api/v1/paths/sessions/{S1}", headers=world.headers)
    assert [g["_id"] for g in r.json()["groups"]] == [TEAM]
    assert r.json()["users"] == []


async def test_v1_enrolment_is_accepted_on_an_ended_session(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    settable_clock.set(NEW_YEAR_2030 + 40 * DAY)
    await load_scene(
        db, settable_clock, sessions=[_session(S2, "Ended", audience=audience("dynamic"))]
    )
    r = await client.patch(_v1(S2), json={"userIds": [L1]}, headers=world.headers)
    assert r.content == b'{"status":"users_enrolled"}'
    r = await client.patch(_v1(S2, "groups"), json={"groupIds": [LONE]}, headers=world.headers)
    assert r.content == b'{"status":"groups_enrolled"}'
    assert await published(db, S2) == [L1, L4]
    # The v2 audience of an ended session cannot be replaced.
    headers = await v2_headers(client)
    r = await client.put(audience_url(S2), json=audience("manual"), headers=headers)
    assert_v2_error(r, 400, "sessionEnded")


async def test_deleting_a_session_deletes_its_enrollments_and_audience(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await _scene(db, world)
    headers = await v2_headers(client)
    r = await client.delete(session_url(S2), headers=headers)
    assert r.status_code == 204
    assert {i["sessionId"] for i in await _list(client, headers)} == {S1, CHILD}
    assert await db.fetchall("SELECT 1 FROM session_audiences WHERE session_id = ?", S2) == []


# --- The client ---------------------------------------------------------------------------------


def test_the_client_sends_the_audience_and_the_filters_of_enrollments() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path == "/api/v2/oauth2/token":
            return httpx.Response(
                200, json={"token_type": "Bearer", "access_token": "t", "expires_in": "3600"}
            )
        if request.method == "DELETE":
            return httpx.Response(204)
        if request.url.path.endswith("/enrollments"):
            return httpx.Response(200, json=[])
        if request.method == "PUT":
            return httpx.Response(200, content=request.content)
        return httpx.Response(200, json={"filters": [], "mode": "manual"})

    client = ClientV2("http://server", "c" * 32, "secret", transport=httpx.MockTransport(handler))
    base = f"/api/v2/paths/{WORLD.path}/sessions/{S2}"
    assert client.get_audience(WORLD.path, S2) == audience("manual")
    answer = client.put_audience(WORLD.path, S2, mode="dynamic", groups=[TEAM], users=[L1])
    assert answer == {
        "filters": [{"type": "users", "ids": [L1]}, {"type": "groups", "ids": [TEAM]}],
        "mode": "dynamic",
    }
    assert (
        list(
            client.list_enrollments(
                WORLD.path, status={"eq": "archived"}, session_id={"in": [S1, S2]}
            )
        )
        == []
    )
    client.archive_self_enrollment(WORLD.path, S2, L3)
    calls = [(r.method, r.url.path, r.url.query.decode()) for r in sent[1:]]
    assert calls == [
        ("GET", f"{base}/audiences", ""),
        ("PUT", f"{base}/audiences", ""),
        (
            "GET",
            f"/api/v2/paths/{WORLD.path}/enrollments",
            f"status%5Beq%5D=archived&sessionId%5Bin%5D={S1}&sessionId%5Bin%5D={S2}",
        ),
        ("DELETE", f"{base}/self-enrollments/{L3}", ""),
    ]
    assert all(r.headers["360-api-version"] == "v2.0" for r in sent[1:])


async def test_the_client_reads_what_the_server_answers(
    app: App, client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await _scene(db, world)
    expected = await _list(client, await v2_headers(client), f"?sessionId[eq]={S1}")

    def scenario(api: ClientV2, sent: InApp) -> None:
        assert list(api.list_enrollments(WORLD.path, session_id={"eq": S1})) == expected
        assert api.get_audience(WORLD.path, S2) == audience("manual", users=[L4])
        answer = api.put_audience(WORLD.path, S2, mode="dynamic", users=[L4, L1])
        assert answer == audience("dynamic", users=[L4, L1])
        api.archive_self_enrollment(WORLD.path, S1, L2)
        with pytest.raises(PathSessionsError) as refused:
            api.archive_self_enrollment(WORLD.path, S1, L1)
        assert (refused.value.status, refused.value.code) == (400, "learnerNotSelfEnrolled")

    await with_client(app, scenario)
    assert await published(db, S1) == [L1]
    assert await published(db, S2) == [L1, L3, L4]


# --- Events -------------------------------------------------------------------------------------


async def test_enrolment_writes_record_their_events_never_for_a_child_session(
    client: httpx.AsyncClient, world: World, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _scene(db, world)
    recorded: list[tuple[str, str]] = []

    async def emit(
        tx: Database, company_id: str, kind: EventKind, path_id: str, session_id: str, *_: Any
    ) -> None:
        assert company_id == world.company
        assert path_id == world.path
        recorded.append((kind.value, session_id))

    monkeypatch.setattr(core_audiences, "emit", emit)
    headers = await v2_headers(client)

    async def events(method: str, url: str, body: Any = None, v1: bool = False) -> list[Any]:
        recorded.clear()
        r = await client.request(method, url, json=body, headers=world.headers if v1 else headers)
        assert r.status_code < 300, r.text
        return list(recorded)

    enrolled, unenrolled = "path.session.users.enrolled", "path.session.users.unenrolled"
    url = audience_url(S2)
    assert await events("PUT", url, audience("manual", users=[L4, L1])) == [(enrolled, S2)]
    assert await events("PUT", url, audience("manual", users=[L4, L1])) == []
    assert await events("PUT", url, audience("manual", users=[L2])) == [
        (enrolled, S2),
        (unenrolled, S2),
    ]
    assert await events("DELETE", self_enrollment_url(S2, L3)) == [(unenrolled, S2)]
    assert await events("PATCH", _v1(S1), {"userIds": [L3]}, v1=True) == [(enrolled, S1)]
    assert await events("PATCH", _v1(S1), {"userIds": [L3]}, v1=True) == []
    assert await events("DELETE", _v1(S1), {"userIds": [L3]}, v1=True) == [(unenrolled, S1)]
    assert await events("PATCH", _v1(S2, "groups"), {"groupIds": [LONE]}, v1=True) == [
        (enrolled, S2)
    ]
    assert await events("PATCH", _v1(S2, "groups"), {"groupIds": [LONE]}, v1=True) == []
    assert await events("PATCH", _v1(S2, "groups"), {"groupIds": [TEAM]}, v1=True) == [
        (enrolled, S2)
    ]
    assert await events("DELETE", _v1(S2, "groups"), {"groupIds": [TEAM]}, v1=True) == [
        (unenrolled, S2)
    ]
    assert await events("PATCH", _v1(CHILD), {"userIds": [L3]}, v1=True) == []
    assert await events("DELETE", _v1(CHILD), {"userIds": [L3, L1]}, v1=True) == []
    assert await published(db, CHILD) == []
