"""Fixture keys of a session on who is enrolled (docs/fixtures.md): `audience`, `enrollments`
(with learners' progress) and `groups`; loaded all or nothing, idempotent, errors with their
JSON path; dynamic audiences following the roles a document loads."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from pathsessions.core import audiences as core_audiences
from pathsessions.core.clock import SettableClock
from pathsessions.core.model import Audience, AudienceFilter, Progress
from pathsessions.loader import FixtureError, load_document
from pathsessions.storage import Database
from pathsessions.storage import audiences as audience_store
from pathsessions.storage import enrollments as enrollment_store
from support import UNKNOWN_ID, World, world_document
from support.enrollments_v2 import (
    GONE,
    GROUPS,
    L1,
    L2,
    L3,
    L4,
    LONE,
    NEW_YEAR_2030,
    OTHER_GROUP,
    TEAM,
    published,
    users,
)

S1 = "6d0000000000000000000031"
S2 = "6d0000000000000000000032"
Mutation = Callable[[dict[str, Any]], Any]


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


PROGRESS = {
    "progress": 40,
    "status": {"type": "toRetake", "reason": "mandatoryReplay"},
    "timeSpent": 3_600_000,
    "score": 72.5,
    "completedAt": "2030-01-20T10:00:00.000Z",
    "startedAt": "2030-01-02T10:00:00Z",
    "certificateId": "6E00000000000000000000AA",
}


def document() -> dict[str, Any]:
    doc = world_document()
    acme = doc["companies"][0]
    acme["groups"] += GROUPS
    acme["users"] += users()
    acme["sessions"] = [
        _session(
            S1,
            "One",
            enrollments=[
                {
                    "user": "L1@acme.test",
                    "createdAt": "2030-01-02T00:00:00.000Z",
                    "progress": copy.deepcopy(PROGRESS),
                },
                {"user": L2, "selfEnrolled": True, "status": "published"},
                {
                    "user": GONE,
                    "status": "archived",
                    "createdAt": "2030-01-03T00:00:00.000Z",
                    "archivedAt": "2030-01-04T00:00:00.000Z",
                },
            ],
            groups=[TEAM, LONE.upper()],
        ),
        _session(
            S2,
            "Two",
            audience={
                "filters": [
                    {"type": "groups", "ids": [TEAM]},
                    {"type": "excludedLearners", "ids": [L2]},
                    {"type": "users", "ids": [L4]},
                ],
                "mode": "dynamic",
            },
        ),
    ]
    return doc


def session(doc: dict[str, Any], index: int) -> dict[str, Any]:
    found: dict[str, Any] = doc["companies"][0]["sessions"][index]
    return found


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for table in ("path_sessions", "session_users", "session_groups", "session_audiences"):
        rows = await db.fetchall(f"SELECT * FROM {table}")
        found[table] = sorted((tuple(r) for r in rows), key=repr)
    return found


async def test_the_keys_are_stored(db: Database, world: World) -> None:
    await load_document(db, document())
    by_user = {e.user_id: e for e in await enrollment_store.of_session(db, S1)}
    assert set(by_user) == {L1, L2, GONE}
    assert by_user[L1].created_at == by_user[L1].modified_at == NEW_YEAR_2030 + 86_400_000
    assert by_user[L1].self_enrolled is False
    assert by_user[L1].progress == Progress(
        progress=40,
        status="toRetake",
        reason="mandatoryReplay",
        time_spent=3_600_000,
        score=72.5,
        completed_at=NEW_YEAR_2030 + 19 * 86_400_000 + 36_000_000,
        started_at=NEW_YEAR_2030 + 86_400_000 + 36_000_000,
        certificate_id="6e00000000000000000000aa",
    )
    assert by_user[L2].self_enrolled is True
    assert by_user[L2].progress is None
    assert by_user[GONE].status == "archived"
    assert by_user[GONE].archived_at == by_user[GONE].modified_at
    groups = await db.fetchall(
        "SELECT group_id FROM session_groups WHERE session_id = ? ORDER BY group_id", S1
    )
    assert [g[0] for g in groups] == [TEAM, LONE]
    # An audience makes the session audience-builder, and is applied as a PUT would.
    row = await db.fetchone("SELECT is_audience_builder FROM path_sessions WHERE id = ?", S2)
    assert row is not None
    assert bool(row[0]) is True
    assert await audience_store.get(db, S2) == Audience(
        "dynamic",
        (
            AudienceFilter("groups", (TEAM,)),
            AudienceFilter("excludedLearners", (L2,)),
            AudienceFilter("users", (L4,)),
        ),
    )
    assert await published(db, S2) == [L1, L4]


async def test_loading_twice_is_loading_once(db: Database, world: World) -> None:
    await load_document(db, document())
    once = await snapshot(db)
    await load_document(db, document())
    twice = await snapshot(db)
    # Sessions are rewritten on every load (their modifiedAt moves); who is enrolled does not.
    del once["path_sessions"], twice["path_sessions"]
    for rows in (once, twice):
        rows["session_audiences"] = [r[:4] for r in rows["session_audiences"]]
    assert twice == once


async def test_the_enrollments_listed_are_the_sessions_and_a_key_left_out_keeps_them(
    db: Database, world: World
) -> None:
    await load_document(db, document())
    doc = document()
    session(doc, 0)["enrollments"] = [{"user": L3, "selfEnrolled": True}]
    session(doc, 0)["groups"] = [LONE]
    del session(doc, 1)["audience"]
    await load_document(db, doc)
    assert [e.user_id for e in await enrollment_store.of_session(db, S1)] == [L3]
    groups = await db.fetchall("SELECT group_id FROM session_groups WHERE session_id = ?", S1)
    assert [g[0] for g in groups] == [LONE]
    # Without `audience`, the stored one stays, and so do its enrollments.
    assert (await audience_store.get(db, S2)) is not None
    assert await published(db, S2) == [L1, L4]


async def test_enrollments_given_beside_an_audience_are_taken_as_they_are(
    db: Database, world: World
) -> None:
    doc = document()
    session(doc, 1)["enrollments"] = [{"user": L3}]
    await load_document(db, doc)
    assert await published(db, S2) == [L3]


async def test_dynamic_audiences_follow_the_roles_a_document_loads(
    db: Database, world: World, settable_clock: SettableClock
) -> None:
    settable_clock.set(NEW_YEAR_2030)
    await load_document(db, document(), clock=settable_clock)
    doc = document()
    acme = doc["companies"][0]
    acme["users"] = users(L3={TEAM: "learner"})
    del acme["sessions"]
    await load_document(db, doc, clock=settable_clock)
    assert await published(db, S2) == [L1, L3, L4]


def _set(path: str, value: Any) -> Mutation:
    """A mutation setting `value` at `path` under the first session (`a.b` or `a[0].b`)."""

    def mutate(doc: dict[str, Any]) -> None:
        target: Any = session(doc, 0)
        keys = path.replace("[", ".").replace("]", "").split(".")
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        last = keys[-1]
        if last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


AT = "companies[0].sessions[0]"
BAD: list[tuple[str, Mutation, str, str]] = [
    ("enrollments-type", _set("enrollments", {}), f"{AT}.enrollments", "must be an array"),
    (
        "enrollment-key",
        _set("enrollments[0].role", "x"),
        f"{AT}.enrollments[0].role",
        "unknown field",
    ),
    (
        "user-missing",
        lambda d: session(d, 0)["enrollments"][0].pop("user"),
        f"{AT}.enrollments[0].user",
        "required",
    ),
    (
        "user-unknown",
        _set("enrollments[0].user", UNKNOWN_ID),
        f"{AT}.enrollments[0].user",
        "unknown user",
    ),
    (
        "user-mail-unknown",
        _set("enrollments[0].user", "nobody@acme.test"),
        f"{AT}.enrollments[0].user",
        "unknown user",
    ),
    (
        "user-twice",
        _set("enrollments[1].user", "l1@ACME.test"),
        f"{AT}.enrollments[1].user",
        "duplicate user",
    ),
    (
        "self-enrolled",
        _set("enrollments[0].selfEnrolled", "yes"),
        f"{AT}.enrollments[0].selfEnrolled",
        "must be true or false",
    ),
    (
        "status",
        _set("enrollments[0].status", "deleted"),
        f"{AT}.enrollments[0].status",
        "must be one of",
    ),
    (
        "created-at",
        _set("enrollments[0].createdAt", "yesterday"),
        f"{AT}.enrollments[0].createdAt",
        "not a valid date",
    ),
    (
        "archived-published",
        _set("enrollments[0].archivedAt", "2030-01-05T00:00:00.000Z"),
        f"{AT}.enrollments[0].archivedAt",
        "only with status archived",
    ),
    (
        "archived-before",
        _set("enrollments[2].archivedAt", "2030-01-01T00:00:00.000Z"),
        f"{AT}.enrollments[2].archivedAt",
        "before createdAt",
    ),
    (
        "progress-value",
        _set("enrollments[0].progress.progress", 101),
        f"{AT}.enrollments[0].progress.progress",
        "must be an integer from 0 to 100",
    ),
    (
        "progress-key",
        _set("enrollments[0].progress.grade", 1),
        f"{AT}.enrollments[0].progress.grade",
        "unknown field",
    ),
    (
        "progress-status",
        _set("enrollments[0].progress.status.type", "done"),
        f"{AT}.enrollments[0].progress.status.type",
        "must be one of",
    ),
    (
        "progress-reason",
        _set("enrollments[0].progress.status.reason", "sessionEnded"),
        f"{AT}.enrollments[0].progress.status.reason",
        "must be mandatoryReplay",
    ),
    (
        "progress-time",
        _set("enrollments[0].progress.timeSpent", -1),
        f"{AT}.enrollments[0].progress.timeSpent",
        "must be a number of milliseconds",
    ),
    (
        "progress-score",
        _set("enrollments[0].progress.score", "high"),
        f"{AT}.enrollments[0].progress.score",
        "must be a number from 0 to 100",
    ),
    (
        "progress-certificate",
        _set("enrollments[0].progress.certificateId", "x"),
        f"{AT}.enrollments[0].progress.certificateId",
        "not a valid id",
    ),
    ("groups-id", _set("groups[1]", "nope"), f"{AT}.groups[1]", "not a valid id"),
    ("groups-foreign", _set("groups[1]", OTHER_GROUP), f"{AT}.groups[1]", "unknown group"),
    ("audience-type", _set("audience", []), f"{AT}.audience", "must be an object"),
    (
        "audience-key",
        _set("audience", {"filters": [], "mode": "manual", "x": 1}),
        f"{AT}.audience.x",
        "unknown field",
    ),
    (
        "audience-mode",
        _set("audience", {"filters": [], "mode": "often"}),
        f"{AT}.audience.mode",
        "must be one of",
    ),
    (
        "audience-filter",
        _set("audience", {"filters": [{"type": "roles", "ids": []}], "mode": "manual"}),
        f"{AT}.audience.filters[0].type",
        "must be one of",
    ),
    (
        "audience-id",
        _set("audience", {"filters": [{"type": "users", "ids": ["x"]}], "mode": "manual"}),
        f"{AT}.audience.filters[0].ids[0]",
        "not a valid id",
    ),
    (
        "audience-shape",
        _set("audience", {"filters": [{"type": "users", "ids": []}] * 2, "mode": "manual"}),
        f"{AT}.audience",
        "invalidAudienceBuilderShape",
    ),
    (
        "audience-users",
        _set("audience", {"filters": [{"type": "users", "ids": [UNKNOWN_ID]}], "mode": "manual"}),
        f"{AT}.audience",
        "usersNotFound",
    ),
    (
        "audience-groups",
        _set("audience", {"filters": [{"type": "groups", "ids": [OTHER_GROUP]}], "mode": "manual"}),
        f"{AT}.audience",
        "groupsNotFound",
    ),
    (
        "audience-not-builder",
        lambda d: session(d, 0).update(
            audience={"filters": [], "mode": "manual"}, isAudienceBuilder=False
        ),
        f"{AT}.isAudienceBuilder",
        "must be true with an audience",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "where", "problem"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
async def test_bad_keys_are_refused_with_their_path_and_change_nothing(
    db: Database, world: World, mutate: Mutation, where: str, problem: str
) -> None:
    await load_document(db, document())
    before = await snapshot(db)
    doc = document()
    mutate(doc)
    with pytest.raises(FixtureError) as caught:
        await load_document(db, doc)
    assert caught.value.where == where
    assert caught.value.problem.startswith(problem), caught.value.problem
    assert await snapshot(db) == before


async def test_a_child_session_has_no_audience(db: Database, world: World) -> None:
    doc = document()
    child = _session(
        "6d0000000000000000000033",
        "Child",
        rootSession=S1,
        audience={"filters": [], "mode": "manual"},
    )
    doc["companies"][0]["sessions"].append(child)
    with pytest.raises(FixtureError) as caught:
        await load_document(db, doc)
    assert caught.value.where == "companies[0].sessions[2].audience"


async def test_a_fixtures_enrollments_record_their_events(
    db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded: list[tuple[str, str]] = []

    async def emit(
        tx: Database, company_id: str, kind: Any, path_id: str, sid: str, *_: Any
    ) -> None:
        recorded.append((kind.value, sid))

    monkeypatch.setattr(core_audiences, "emit", emit)
    await load_document(db, document())
    enrolled, unenrolled = "path.session.users.enrolled", "path.session.users.unenrolled"
    assert recorded == [(enrolled, S1), (enrolled, S2)]
    recorded.clear()
    await load_document(db, document())
    assert recorded == []
    doc = document()
    session(doc, 0)["enrollments"] = [{"user": L2, "selfEnrolled": True}]
    await load_document(db, doc)
    assert recorded == [(unenrolled, S1)]
