"""Export of v2 data (docs/sandbox.md, export a company): enrollments with their ids, status,
dates, self-enrollment and progress, audiences and v1 groups load back exactly; an export of
what was loaded is the same document, and v2 reads answer the same."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from pathsessions.settings import Settings
from support import World, world_document
from support.enrollments_v2 import (
    GONE,
    GROUPS,
    L1,
    L2,
    L3,
    L4,
    LONE,
    TEAM,
    audience_url,
    enrollments_url,
    users,
)
from support.sandbox import admin, sandbox_settings
from support.sessions_v2 import ALL_SESSIONS, session_url
from support.v2 import v2_headers

S1 = "6d0000000000000000000041"
S2 = "6d0000000000000000000042"
S3 = "6d0000000000000000000043"
E1 = "6e0000000000000000000041"  # L1's enrollment in S1, its id given


@pytest.fixture
def settings(database_url: str) -> Settings:
    return sandbox_settings(database_url)


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


def document() -> dict[str, Any]:
    """v1 and v2 data: learners in groups, an audience applied, one stored beside its own
    enrollments, self-enrolled and archived enrollments, progress, v1 groups."""
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
                    "id": E1,
                    "user": L1,
                    "createdAt": "2030-01-02T00:00:00.000Z",
                    "progress": {
                        "progress": 40,
                        "status": {"type": "toRetake", "reason": "mandatoryReplay"},
                        "timeSpent": 3_600_000,
                        "score": 72.5,
                        "completedAt": "2030-01-20T10:00:00.000Z",
                        "startedAt": "2030-01-02T10:00:00.000Z",
                        "certificateId": "6e00000000000000000000aa",
                    },
                },
                {"user": L2, "selfEnrolled": True, "progress": {"progress": 100}},
                {
                    "user": GONE,
                    "status": "archived",
                    "createdAt": "2030-01-03T00:00:00.000Z",
                    "archivedAt": "2030-01-04T00:00:00.000Z",
                },
            ],
            groups=[LONE, TEAM],  # not in id order: v1 keeps the enrolment order
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
        _session(
            S3,
            "Three",
            audience={"filters": [{"type": "users", "ids": [L3]}], "mode": "manual"},
            enrollments=[{"user": L3}, {"user": L4, "status": "archived"}],
        ),
    ]
    return doc


async def v2_reads(client: httpx.AsyncClient) -> dict[str, Any]:
    """What v2 answers of the sessions' enrollments, audiences and learners' statuses."""
    headers = await v2_headers(client)
    urls = [enrollments_url(), ALL_SESSIONS, "/api/v2/paths/stats"]
    urls += [audience_url(S2), audience_url(S3)]  # S1 has none: not an audience builder
    for session_id in (S1, S2, S3):
        urls += [
            f"{session_url(session_id)}/user-statuses",
            f"{session_url(session_id)}/user-stats",
        ]
    seen: dict[str, Any] = {}
    for url in urls:
        r = await client.get(url, headers=headers)
        assert r.status_code == 200, (url, r.text)
        seen[url] = r.json()
    return seen


async def v1_groups_of(client: httpx.AsyncClient, world: World, session_id: str) -> list[str]:
    """The groups v1's session read lists, in its order."""
    r = await client.get(f"/api/v1/paths/sessions/{session_id}", headers=world.headers)
    assert r.status_code == 200, r.text
    return [g["_id"] for g in r.json()["groups"]]


async def export(client: httpx.AsyncClient, company_id: str) -> dict[str, Any]:
    r = await admin(client, "GET", f"/companies/{company_id}/export")
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def sessions_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in document["companies"][0]["sessions"]}


async def test_v2_enrollments_and_audiences_survive_export_and_load(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await admin(client, "POST", "/fixtures", json=document())
    assert r.status_code == 200, r.text
    before = await v2_reads(client)
    # The fixture's learners are there to be compared (not an empty answer twice).
    enrolled = before[enrollments_url()]
    assert {e["userId"] for e in enrolled} >= {L1, L2, L3, L4, GONE}

    exported = await export(client, world.company)
    sessions = sessions_of(exported)
    one = {e["user"]: e for e in sessions[S1]["enrollments"]}
    assert one[L1]["id"] == E1
    assert one[L1]["progress"]["status"] == {"type": "toRetake", "reason": "mandatoryReplay"}
    assert one[L2]["selfEnrolled"] is True
    assert one[GONE]["status"] == "archived"
    assert one[GONE]["archivedAt"] == "2030-01-04T00:00:00.000Z"
    assert all("id" in e and "modifiedAt" in e for e in one.values())
    assert sessions[S1]["groups"] == [LONE, TEAM]
    v1_groups = await v1_groups_of(client, world, S1)
    assert v1_groups == [LONE, TEAM]
    assert sessions[S2]["audience"]["mode"] == "dynamic"
    assert {e["user"] for e in sessions[S2]["enrollments"]} == {L1, L4}
    assert sessions[S3]["audience"] == {
        "filters": [{"type": "users", "ids": [L3]}],
        "mode": "manual",
    }

    assert (await admin(client, "DELETE", f"/companies/{world.company}")).status_code == 204
    r = await admin(client, "POST", "/fixtures", json=exported)
    assert r.status_code == 200, r.text
    assert await export(client, world.company) == exported
    assert await v2_reads(client) == before
    assert await v1_groups_of(client, world, S1) == v1_groups

    # Loaded again over itself, the export changes nothing.
    r = await admin(client, "POST", "/fixtures", json=exported)
    assert r.status_code == 200, r.text
    assert await export(client, world.company) == exported
    assert await v2_reads(client) == before


async def test_an_enrollment_id_is_kept_and_never_shared(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await admin(client, "POST", "/fixtures", json=document())
    assert r.status_code == 200, r.text
    exported = await export(client, world.company)
    ids = {e["user"]: e["id"] for e in sessions_of(exported)[S1]["enrollments"]}

    def changed(user: str, new_id: str) -> tuple[dict[str, Any], str]:
        doc = copy.deepcopy(exported)
        items = sessions_of(doc)[S1]["enrollments"]
        k = next(i for i, e in enumerate(items) if e["user"] == user)
        items[k]["id"] = new_id
        s = next(i for i, s in enumerate(doc["companies"][0]["sessions"]) if s["id"] == S1)
        return doc, f"companies[0].sessions[{s}].enrollments[{k}].id"

    # A kept enrollment has its own id.
    doc, where = changed(L2, "6e00000000000000000000ff")
    r = await admin(client, "POST", "/fixtures", json=doc)
    assert r.status_code == 400
    assert r.json()["message"] == f"{where}: this enrollment exists with the id {ids[L2]}"
    # A new one cannot take another's.
    doc = copy.deepcopy(exported)
    doc["companies"][0]["sessions"] = [
        _session(S3, "Three", enrollments=[{"user": L3}, {"id": ids[L2], "user": L1}])
    ]
    r = await admin(client, "POST", "/fixtures", json=doc)
    assert r.status_code == 400
    assert r.json()["message"] == (
        "companies[0].sessions[0].enrollments[1].id: id of another enrollment"
    )
    # Twice in one document.
    doc = copy.deepcopy(exported)
    items = sessions_of(doc)[S3]["enrollments"]
    items[0]["id"] = items[1]["id"]
    r = await admin(client, "POST", "/fixtures", json=doc)
    assert r.status_code == 400
    assert r.json()["message"].endswith(".enrollments[1].id: duplicate enrollment id")
    # Nothing of the refused loads was written.
    assert await export(client, world.company) == exported
