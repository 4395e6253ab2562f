"""What the v2 enrolment tests share: a scene of learners and groups loaded on top of the
world, the URLs of §5, and reads of what is stored."""

from __future__ import annotations

from typing import Any

import httpx

from pathsessions.core.clock import Clock
from pathsessions.storage import Database

from .sessions_v2 import V2_PATHS, load_acme, session_url
from .world import WORLD

TEAM = "6a0000000000000000000010"  # under Sales
SUBTEAM = "6a0000000000000000000011"  # under Team
LONE = "6a0000000000000000000012"  # a group of its own, at the top
L1 = "6b0000000000000000000010"  # learner in Team
L2 = "6b0000000000000000000011"  # learner in Subteam
L3 = "6b0000000000000000000012"  # no role anywhere
GONE = "6b0000000000000000000013"  # deleted, learner in Team
L4 = "6b0000000000000000000014"  # learner in Lone
OTHER_USER = "6b0000000000000000000099"  # a user of the other company
OTHER_GROUP = WORLD.other_group
# 2030-01-01T00:00:00Z: the world's sessions run from 2030-01-01T09:00 to 2030-01-31T09:00.
NEW_YEAR_2030 = 1_893_456_000_000
DAY = 86_400_000

GROUPS: list[dict[str, Any]] = [
    {"id": TEAM, "name": "Team", "parent": WORLD.sales_group},
    {"id": SUBTEAM, "name": "Subteam", "parent": TEAM},
    {"id": LONE, "name": "Lone"},
]


def users(**roles: dict[str, str]) -> list[dict[str, Any]]:
    """The scene's learners; `roles` replaces the roles of a learner by its key (L1…)."""
    learners: dict[str, dict[str, Any]] = {
        "L1": {"id": L1, "mail": "l1@acme.test", "roles": {TEAM: "learner"}},
        "L2": {"id": L2, "mail": "l2@acme.test", "roles": {SUBTEAM: "learner"}},
        "L3": {"id": L3, "mail": "l3@acme.test"},
        "GONE": {
            "id": GONE,
            "mail": "gone2@acme.test",
            "status": "deleted",
            "roles": {TEAM: "learner"},
        },
        "L4": {"id": L4, "mail": "l4@acme.test", "roles": {LONE: "coach"}},
    }
    for key, given in roles.items():
        learners[key] = {**learners[key], "roles": given}
    return list(learners.values())


async def load_scene(db: Database, clock: Clock | None = None, **parts: Any) -> None:
    """The scene's groups and learners on top of the world (and `parts` beside them)."""
    parts.setdefault("groups", GROUPS)
    parts.setdefault("users", users())
    await load_acme(db, clock, **parts)


def audience_url(session_id: str, path_id: str = WORLD.path) -> str:
    return f"{session_url(session_id, path_id)}/audiences"


def enrollments_url(path_id: str = WORLD.path) -> str:
    return f"{V2_PATHS}/{path_id}/enrollments"


def self_enrollment_url(session_id: str, user_id: str, path_id: str = WORLD.path) -> str:
    return f"{session_url(session_id, path_id)}/self-enrollments/{user_id}"


def audience(mode: str = "dynamic", **filters: list[str]) -> dict[str, Any]:
    """A PUT body: `users=[…]`, `groups=[…]`, `excludedLearners=[…]`, in that order."""
    return {"filters": [{"type": t, "ids": ids} for t, ids in filters.items()], "mode": mode}


async def put_audience(
    client: httpx.AsyncClient, headers: dict[str, str], session_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    r = await client.put(audience_url(session_id), json=body, headers=headers)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert isinstance(answer, dict)
    return answer


async def published(db: Database, session_id: str) -> list[str]:
    """The users with a published enrollment in the session, by id."""
    rows = await db.fetchall(
        "SELECT user_id FROM session_users WHERE session_id = ? AND status = 'published'"
        " ORDER BY user_id",
        session_id,
    )
    return [row[0] for row in rows]


async def enrollments_state(db: Database) -> list[tuple[Any, ...]]:
    """Every enrollment and audience, to check that a refused request changed nothing."""
    rows = await db.fetchall(
        "SELECT id, session_id, user_id, status, archived_at, modified_at, self_enrolled"
        " FROM session_users ORDER BY id"
    )
    audiences = await db.fetchall(
        "SELECT session_id, mode, filters FROM session_audiences ORDER BY session_id"
    )
    return [tuple(r) for r in rows] + [tuple(a) for a in audiences]
