"""Learners for the progress tests: users enrolled in a session and their progress recorded,
straight through storage (no API writes progress), on the test's database."""

from __future__ import annotations

from collections.abc import Sequence

from pathsessions.core.model import Progress
from pathsessions.storage import Database
from pathsessions.storage import enrollments as store

from .world import ACME, WORLD

# 2030-01-01T00:00:00Z
NEW_YEAR_2030 = 1_893_456_000_000
HOUR = 3_600_000
DAY = 24 * HOUR


def learner_ids(count: int, prefix: str = "6b00000000000000000001") -> list[str]:
    """`count` user ids (at most 256 per prefix), to load as users."""
    return [f"{prefix}{n:02x}" for n in range(count)]


def learners(ids: Sequence[str]) -> list[dict[str, str]]:
    """The fixture entries of users with these ids."""
    return [
        {"id": user_id, "mail": f"learner-{user_id[-4:]}@acme.test", "firstName": "Lea"}
        for user_id in ids
    ]


async def enrol(
    db: Database,
    session_id: str,
    user_ids: Sequence[str],
    now: int,
    *,
    path_id: str = WORLD.path,
    company_id: str = ACME,
    self_enrolled: bool = False,
) -> dict[str, str]:
    """Publish the users' enrollments in the session at `now`; answer user id -> enrollment
    id."""
    async with db.transaction() as tx:
        await store.publish(
            tx, company_id, path_id, session_id, user_ids, now, self_enrolled=self_enrolled
        )
    return {e.user_id: e.id for e in await store.of_session(db, session_id)}


async def unenrol(db: Database, session_id: str, user_ids: Sequence[str], now: int) -> None:
    async with db.transaction() as tx:
        await store.archive(tx, session_id, user_ids, now)


async def record(
    db: Database, enrollment_id: str, progress: Progress | None, company_id: str = ACME
) -> None:
    """Record (None: forget) the learner's progress in that enrollment."""
    assert await store.set_progress(db, company_id, enrollment_id, progress)
