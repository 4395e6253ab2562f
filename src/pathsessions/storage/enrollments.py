"""Enrollments: one user in one session, published or archived, with the learner's progress.

v1's enrol/unenrol and v2's audiences write the same rows (table `session_users`): v1 sees
what v2 enrolled and the other way round. Unenrolling archives; enrolling again publishes the
same enrollment, with its id. The queries that name a session by id alone are for a session
the caller has already found in its company.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.ids import new_id
from ..core.listing import ListQuery, Page
from ..core.model import Enrollment, Progress
from .database import Database, Row
from .listing import fetch_page

COLUMNS = (
    "e.id, e.session_id, e.path_id, e.user_id, e.enrolled_at, e.modified_at, e.self_enrolled,"
    " e.status, e.archived_at, e.progress, e.progress_status, e.progress_reason, e.time_spent,"
    " e.score, e.completed_at, e.started_at, e.certificate_id"
)


def enrollment(row: Row) -> Enrollment:
    """The record of a row selected with `COLUMNS`."""
    progress = None
    if row[9] is not None:
        progress = Progress(
            progress=row[9],
            status=row[10],
            reason=row[11],
            time_spent=row[12],
            score=row[13],
            completed_at=row[14],
            started_at=row[15],
            certificate_id=row[16],
        )
    return Enrollment(
        id=row[0],
        session_id=row[1],
        path_id=row[2],
        user_id=row[3],
        created_at=row[4],
        modified_at=row[5],
        self_enrolled=bool(row[6]),
        status=row[7],
        archived_at=row[8],
        progress=progress,
    )


async def publish(
    db: Database,
    company_id: str,
    path_id: str,
    session_id: str,
    user_ids: Sequence[str],
    now: int,
    *,
    self_enrolled: bool = False,
) -> list[str]:
    """Give each user a published enrollment in the session: a new one, or their archived
    one published again (same id and `createdAt`, enrolled the way it is now). Answer the
    users who were not enrolled before, in the order given. Call inside a transaction that
    holds the session."""
    if not user_ids:
        return []
    rows = await db.fetchall(
        "SELECT user_id FROM session_users WHERE session_id = ? AND status = 'published' AND "
        + db.any_of("user_id"),
        session_id,
        db.array(user_ids),
    )
    already = {row[0] for row in rows}
    added = [u for u in dict.fromkeys(user_ids) if u not in already]
    await db.executemany(
        "INSERT INTO session_users (id, company_id, path_id, session_id, user_id, enrolled_at,"
        " modified_at, self_enrolled, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'published')"
        " ON CONFLICT (session_id, user_id) DO UPDATE SET status = 'published',"
        " archived_at = NULL, modified_at = excluded.modified_at,"
        " self_enrolled = excluded.self_enrolled",
        [
            (new_id(), company_id, path_id, session_id, user_id, now, now, self_enrolled)
            for user_id in added
        ],
    )
    return added


async def archive(db: Database, session_id: str, user_ids: Sequence[str], now: int) -> int:
    """Archive the users' published enrollments in the session; answer how many there were.
    Call inside a transaction that holds the session."""
    if not user_ids:
        return 0
    return await db.execute(
        "UPDATE session_users SET status = 'archived', archived_at = ?, modified_at = ?"
        " WHERE session_id = ? AND status = 'published' AND " + db.any_of("user_id"),
        now,
        now,
        session_id,
        db.array(user_ids),
    )


async def of_session(db: Database, session_id: str) -> list[Enrollment]:
    """Every enrollment of the session, published and archived, oldest first."""
    rows = await db.fetchall(
        f"SELECT {COLUMNS} FROM session_users e WHERE e.session_id = ?"
        " ORDER BY e.enrolled_at, e.id",
        session_id,
    )
    return [enrollment(row) for row in rows]


async def get(db: Database, company_id: str, enrollment_id: str) -> Enrollment | None:
    row = await db.fetchone(
        f"SELECT {COLUMNS} FROM session_users e WHERE e.id = ? AND e.company_id = ?",
        enrollment_id,
        company_id,
    )
    return None if row is None else enrollment(row)


async def set_progress(
    db: Database, company_id: str, enrollment_id: str, progress: Progress | None
) -> bool:
    """Record (or, with None, forget) a learner's progress; answer whether the enrollment
    exists in the company. Progress is not an edit of the enrollment: `modifiedAt` stays."""
    p = progress or Progress(progress=0)
    fields = (
        None if progress is None else p.progress,
        p.status,
        p.reason,
        p.time_spent,
        p.score,
        p.completed_at,
        p.started_at,
        p.certificate_id,
    )
    changed = await db.execute(
        "UPDATE session_users SET progress = ?, progress_status = ?, progress_reason = ?,"
        " time_spent = ?, score = ?, completed_at = ?, started_at = ?, certificate_id = ?"
        " WHERE id = ? AND company_id = ?",
        *fields,
        enrollment_id,
        company_id,
    )
    return changed > 0


async def published(db: Database, session_id: str) -> dict[str, bool]:
    """User id -> whether they enrolled themselves, for the session's published enrollments."""
    rows = await db.fetchall(
        "SELECT user_id, self_enrolled FROM session_users"
        " WHERE session_id = ? AND status = 'published'",
        session_id,
    )
    return {row[0]: bool(row[1]) for row in rows}


async def of_user(db: Database, session_id: str, user_id: str) -> Enrollment | None:
    row = await db.fetchone(
        f"SELECT {COLUMNS} FROM session_users e WHERE e.session_id = ? AND e.user_id = ?",
        session_id,
        user_id,
    )
    return None if row is None else enrollment(row)


# The list filters of enrollments, on their columns.
_FILTERED = {
    "status": "e.status",
    "createdAt": "e.enrolled_at",
    "modifiedAt": "e.modified_at",
    "sessionId": "e.session_id",
}


async def path_page(
    db: Database, company_id: str, path_id: str, query: ListQuery
) -> Page[Enrollment]:
    """A page of the path's enrollments, every session's, in id order (index
    `session_users_path`)."""
    return await fetch_page(
        db,
        f"SELECT {COLUMNS} FROM session_users e WHERE e.company_id = ? AND e.path_id = ?",
        [company_id, path_id],
        query,
        _FILTERED,
        enrollment,
        "e.id",
    )


async def put(
    db: Database,
    company_id: str,
    path_id: str,
    session_id: str,
    user_id: str,
    *,
    self_enrolled: bool,
    status: str,
    created_at: int | None,
    archived_at: int | None,
    now: int,
) -> str:
    """Write one enrollment exactly as given (the fixture loader's): a new one, or the user's
    in the session overwritten. Without `created_at`, an existing one keeps its own and a new
    one is made `now`; `modifiedAt` is its last change by those dates. Answer its id."""
    existing = await of_user(db, session_id, user_id)
    created = now if existing is None else existing.created_at
    if created_at is not None:
        created = created_at
    archived: int | None = None
    if status == "archived":
        # Given, else the enrollment's own archiving date, else now.
        archived = archived_at
        if archived is None:
            kept = None if existing is None else existing.archived_at
            archived = now if kept is None else kept
    if archived is not None and created_at is None and archived < created:
        created = archived  # an enrollment is never archived before it was made
    modified = created if archived is None else max(created, archived)
    if existing is None:
        enrollment_id = new_id()
        await db.execute(
            "INSERT INTO session_users (id, company_id, path_id, session_id, user_id,"
            " enrolled_at, modified_at, self_enrolled, status, archived_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            enrollment_id,
            company_id,
            path_id,
            session_id,
            user_id,
            created,
            modified,
            self_enrolled,
            status,
            archived,
        )
        return enrollment_id
    await db.execute(
        "UPDATE session_users SET enrolled_at = ?, modified_at = ?, self_enrolled = ?,"
        " status = ?, archived_at = ? WHERE id = ?",
        created,
        modified,
        self_enrolled,
        status,
        archived,
        existing.id,
    )
    return existing.id


async def remove_others(db: Database, session_id: str, kept_user_ids: Sequence[str]) -> None:
    """Delete the session's enrollments of users not in `kept_user_ids`."""
    if not kept_user_ids:
        await db.execute("DELETE FROM session_users WHERE session_id = ?", session_id)
        return
    await db.execute(
        "DELETE FROM session_users WHERE session_id = ? AND NOT (" + db.any_of("user_id") + ")",
        session_id,
        db.array(kept_user_ids),
    )
