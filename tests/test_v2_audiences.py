"""v2 session audiences through the real app (docs/api-v2.md, "Who is enrolled"): the
default audience, whom an audience includes, how each mode adds and archives, dynamic modes
following later group membership, every error in its order, validation, scopes, tenancy."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pathsessions.core.clock import SettableClock
from pathsessions.storage import Database
from support import UNKNOWN_ID, World
from support.enrollments_v2 import (
    DAY,
    GONE,
    L1,
    L2,
    L3,
    L4,
    LONE,
    NEW_YEAR_2030,
    OTHER_GROUP,
    SUBTEAM,
    TEAM,
    audience,
    audience_url,
    enrollments_state,
    enrollments_url,
    load_scene,
    published,
    put_audience,
    users,
)
from support.sessions_v2 import assert_v2_error, create, load_acme
from support.v2 import v2_headers

SECOND_PATH = "6c0000000000000000000003"
V1_SESSION = "6d0000000000000000000011"
CHILD = "6d0000000000000000000012"
ELSEWHERE = "6d0000000000000000000013"
ROOT = "6d0000000000000000000014"


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


async def _v2_session(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    session = await create(client, headers, endDate="2030-01-31T09:00:00.000Z")
    assert session["isAudienceBuilder"] is True
    session_id = session["_id"]
    assert isinstance(session_id, str)
    return session_id


async def _by_user(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    r = await client.get(enrollments_url(), headers=headers)
    assert r.status_code == 200, r.text
    return {e["userId"]: e for e in r.json()}


async def test_a_session_created_through_v2_starts_with_no_filter_in_manual_mode(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await v2_headers(client)
    session_id = await _v2_session(client, headers)
    r = await client.get(audience_url(session_id), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"filters": [], "mode": "manual"}


async def test_the_audience_includes_users_and_members_of_groups_and_sub_groups(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await load_scene(db)
    headers = await v2_headers(client)
    session_id = await _v2_session(client, headers)
    # Ids in any case, one twice: stored lower-cased, once, in the order given.
    # A deleted user may be named (an audience read back can be put back), never enrolled.
    body = audience("manual", users=[L3, GONE, L3.upper()], groups=[TEAM], excludedLearners=[L4])
    answer = await put_audience(client, headers, session_id, body)
    assert answer == audience("manual", users=[L3, GONE], groups=[TEAM], excludedLearners=[L4])
    r = await client.get(audience_url(session_id), headers=headers)
    assert r.json() == answer
    # Team's learner, Subteam's (a sub-group), the user named; not the deleted member.
    assert await published(db, session_id) == [L1, L2, L3]
    for e in (await _by_user(client, headers)).values():
        assert e["isSelfEnrolled"] is False
        assert e["status"] == "published"
        assert e["sessionId"] == session_id
        assert "archivedAt" not in e


async def test_excluded_learners_are_left_out(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await load_scene(db)
    headers = await v2_headers(client)
    session_id = await _v2_session(client, headers)
    body = audience("dynamic", groups=[TEAM, LONE], excludedLearners=[L2, GONE])
    await put_audience(client, headers, session_id, body)
    assert await published(db, session_id) == [L1, L4]


async def test_learners_no_longer_included_are_archived_and_come_back_with_their_enrollment(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    await load_scene(db)
    settable_clock.set(NEW_YEAR_2030 - 10 * DAY)
    headers = await v2_headers(client)
    session_id = await _v2_session(client, headers)
    await put_audience(client, headers, session_id, audience("manual", users=[L1, L3]))
    first = await _by_user(client, headers)
    settable_clock.advance(60_000)
    await put_audience(client, headers, session_id, audience("manual", users=[L3]))
    after = await _by_user(client, headers)
    assert after[L1]["status"] == "archived"
    assert after[L1]["archivedAt"] == after[L1]["modifiedAt"] != first[L1]["modifiedAt"]
    assert after[L3] == first[L3]
    settable_clock.advance(60_000)
    await put_audience(client, headers, session_id, audience("manual", users=[L1, L3]))
    again = await _by_user(client, headers)
    assert again[L1]["_id"] == first[L1]["_id"]
    assert again[L1]["createdAt"] == first[L1]["createdAt"]
    assert again[L1]["status"] == "published"
    assert "archivedAt" not in again[L1]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("dynamic", [L2]),
        ("manual", [L2]),
        ("dynamicEnrollment", [L1, L2]),  # never archives
        ("dynamicUnenrollment", []),  # never adds
    ],
)
async def test_each_mode_adds_and_archives_by_its_rules(
    client: httpx.AsyncClient, world: World, db: Database, mode: str, expected: list[str]
) -> None:
    await load_scene(db)
    headers = await v2_headers(client)
    session_id = await _v2_session(client, headers)
    await put_audience(client, headers, session_id, audience("manual", users=[L1]))
    await put_audience(client, headers, session_id, audience(mode, users=[L2]))
    assert await published(db, session_id) == expected


async def test_an_audience_never_archives_a_self_enrollment(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await load_scene(db)
    await load_acme(
        db,
        sessions=[
            _session(
                ROOT,
                "Root",
                audience=audience("manual", users=[L1]),
                enrollments=[{"user": L3, "selfEnrolled": True}, {"user": L1}],
            )
        ],
    )
    headers = await v2_headers(client)
    await put_audience(client, headers, ROOT, audience("dynamic", users=[L2]))
    assert await published(db, ROOT) == [L2, L3]


@pytest.mark.parametrize(
    ("mode", "joined", "left"),
    [
        ("dynamic", True, True),
        ("dynamicEnrollment", True, False),
        ("dynamicUnenrollment", False, True),
        ("manual", False, False),
    ],
)
async def test_dynamic_modes_follow_later_changes_of_group_membership(
    client: httpx.AsyncClient,
    world: World,
    db: Database,
    settable_clock: SettableClock,
    mode: str,
    joined: bool,
    left: bool,
) -> None:
    settable_clock.set(NEW_YEAR_2030)
    await load_scene(db, settable_clock)
    headers = await v2_headers(client)
    session_id = await _v2_session(client, headers)
    await put_audience(client, headers, session_id, audience("manual", groups=[TEAM]))
    await put_audience(client, headers, session_id, audience(mode, groups=[TEAM]))
    assert await published(db, session_id) == [L1, L2]
    # L3 joins Subteam (under Team); L1 leaves (deleted: a fixture adds roles, never
    # removes one).
    changed = users(L3={SUBTEAM: "learner"})
    changed[0]["status"] = "deleted"
    await load_scene(db, settable_clock, users=changed)
    expected = {L1, L2} | ({L3} if joined else set())
    if left:
        expected.discard(L1)
    assert await published(db, session_id) == sorted(expected)


async def test_an_ended_session_no_longer_follows(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    settable_clock.set(NEW_YEAR_2030)
    await load_scene(db, settable_clock)
    headers = await v2_headers(client)
    session_id = await _v2_session(client, headers)
    await put_audience(client, headers, session_id, audience("dynamic", groups=[TEAM]))
    settable_clock.set(NEW_YEAR_2030 + 40 * DAY)
    await load_scene(db, settable_clock, users=users(L3={TEAM: "learner"}))
    assert await published(db, session_id) == [L1, L2]


async def test_a_user_deleted_later_leaves_a_dynamic_audience(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    settable_clock.set(NEW_YEAR_2030)
    await load_scene(db, settable_clock)
    headers = await v2_headers(client)
    session_id = await _v2_session(client, headers)
    await put_audience(client, headers, session_id, audience("dynamic", users=[L3]))
    gone = [{**u, "status": "deleted"} if u["id"] == L3 else u for u in users()]
    await load_scene(db, settable_clock, users=gone)
    assert await published(db, session_id) == []


# --- Errors, in order ---------------------------------------------------------------------------


async def _error_scene(db: Database, world: World) -> None:
    await load_scene(
        db,
        paths=[{"id": SECOND_PATH, "name": "Second", "group": world.root_group}],
        sessions=[
            _session(V1_SESSION, "Made through v1"),
            _session(ROOT, "Root", isAudienceBuilder=True),
            _session(CHILD, "Child", rootSession=ROOT, isAudienceBuilder=True),
            _session(ELSEWHERE, "Elsewhere", path=SECOND_PATH, isAudienceBuilder=True),
        ],
    )


@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_common_checks_then_audience_builder_in_order(
    client: httpx.AsyncClient, world: World, db: Database, method: str
) -> None:
    await _error_scene(db, world)
    headers = await v2_headers(client)
    body = audience("manual") if method == "PUT" else None
    cases = [
        (audience_url(ROOT, UNKNOWN_ID), 404, "pathNotFound"),
        (audience_url(ROOT, "not-an-id"), 404, "pathNotFound"),
        (audience_url(ROOT, world.other_path), 404, "pathNotFound"),
        (audience_url(UNKNOWN_ID), 404, "sessionNotFound"),
        (audience_url("xyz"), 404, "sessionNotFound"),
        (audience_url(ELSEWHERE), 400, "sessionNotBelongToPath"),
        (audience_url(V1_SESSION), 400, "sessionIsNotAudienceBuilder"),
    ]
    before = await enrollments_state(db)
    for url, status, code in cases:
        r = await client.request(method, url, json=body, headers=headers)
        assert_v2_error(r, status, code)
    assert await enrollments_state(db) == before


async def test_put_checks_in_order(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    await _error_scene(db, world)
    settable_clock.set(NEW_YEAR_2030)
    before = await enrollments_state(db)

    async def refused(session_id: str, body: dict[str, Any], status: int, code: str) -> None:
        # A token of the clock's time: the clock moves over more than a token's hour.
        headers = await v2_headers(client)
        r = await client.put(audience_url(session_id), json=body, headers=headers)
        assert_v2_error(r, status, code)
        assert await enrollments_state(db) == before

    bad = audience("manual", users=[L1], groups=[TEAM], excludedLearners=[L1])
    # A child session: refused as a child, its content not judged.
    await refused(CHILD, bad, 400, "childPathSession")
    # Ended, by the server's clock: an end date at now has passed.
    settable_clock.set(NEW_YEAR_2030 + 30 * DAY + 9 * 3_600_000)
    await refused(ROOT, bad, 400, "sessionEnded")
    settable_clock.set(NEW_YEAR_2030)
    two_of_a_type = {
        "filters": [{"type": "users", "ids": [UNKNOWN_ID]}, {"type": "users", "ids": [L1]}],
        "mode": "manual",
    }
    await refused(ROOT, two_of_a_type, 400, "invalidAudienceBuilderShape")
    await refused(ROOT, audience(users=[UNKNOWN_ID], groups=[UNKNOWN_ID]), 404, "usersNotFound")
    await refused(ROOT, audience(users=[L1], excludedLearners=[UNKNOWN_ID]), 404, "usersNotFound")
    other_user = await db.fetchone("SELECT id FROM users WHERE company_id = ?", world.other_company)
    assert other_user is not None
    await refused(ROOT, audience(users=[other_user[0]]), 404, "usersNotFound")
    await refused(ROOT, audience(groups=[TEAM, UNKNOWN_ID]), 404, "groupsNotFound")
    await refused(ROOT, audience(groups=[OTHER_GROUP]), 404, "groupsNotFound")
    # The path archived comes before all of those.
    await load_acme(
        db,
        paths=[
            {
                "id": world.path,
                "name": "Onboarding",
                "group": world.root_group,
                "status": "archived",
            }
        ],
    )
    before = await enrollments_state(db)
    await refused(ROOT, bad, 400, "pathArchived")
    await refused(CHILD, bad, 400, "pathArchived")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "body: must be an object"),
        ({"mode": "manual"}, "filters: is required"),
        ({"filters": []}, "mode: is required"),
        ({"filters": [], "mode": "sometimes"}, "mode: is not one of the allowed values"),
        ({"filters": {}, "mode": "manual"}, "filters: must be an array"),
        ({"filters": [{"type": "roles", "ids": []}], "mode": "manual"}, "filters[0]"),
        ({"filters": [{"type": "users"}], "mode": "manual"}, "filters[0].ids: is required"),
        (
            {"filters": [{"type": "users", "ids": ["nope"]}], "mode": "manual"},
            "filters[0].ids[0]: must match",
        ),
        (
            {"filters": [{"type": "groups", "ids": [UNKNOWN_ID] * 5001}], "mode": "manual"},
            "filters[0].ids: must have at most 5000 items",
        ),
        (
            {"filters": [{"type": "users", "ids": []}] * 4, "mode": "manual"},
            "filters: must have at most 3 items",
        ),
    ],
)
async def test_a_malformed_body_is_bad_request_naming_the_field(
    client: httpx.AsyncClient, world: World, db: Database, body: Any, message: str
) -> None:
    headers = await v2_headers(client)
    session_id = await _v2_session(client, headers)
    before = await enrollments_state(db)
    r = await client.put(audience_url(session_id), json=body, headers=headers)
    assert_v2_error(r, 400, "badRequest")
    assert r.json()["error"]["message"].startswith(message), r.json()
    assert await enrollments_state(db) == before


async def test_each_operation_needs_its_scope(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    headers = await v2_headers(client)
    session_id = await _v2_session(client, headers)
    read_only = await v2_headers(client, world.paths_read_credential)
    directory = await v2_headers(client, world.directory_read_credential)
    r = await client.get(audience_url(session_id), headers=read_only)
    assert r.status_code == 200, r.text
    r = await client.put(audience_url(session_id), json=audience(users=[L1]), headers=read_only)
    assert_v2_error(r, 403, "invalid_scope")
    r = await client.get(audience_url(session_id), headers=directory)
    assert_v2_error(r, 403, "invalid_scope")


async def test_another_companys_session_answers_as_missing(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    headers = await v2_headers(client)
    session_id = await _v2_session(client, headers)
    other = await v2_headers(client, world.other_credential)
    for method in ("GET", "PUT"):
        r = await client.request(
            method, audience_url(session_id), json=audience("manual"), headers=other
        )
        assert_v2_error(r, 404, "pathNotFound")
        r = await client.request(
            method,
            audience_url(session_id, world.other_path),
            json=audience("manual"),
            headers=other,
        )
        assert_v2_error(r, 404, "sessionNotFound")
