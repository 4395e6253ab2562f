"""The rows of a company's exports (docs/sandbox.md, "Exports"): every session with its path's
and owner group's names, and every enrollment with its user's address, read in id order a
batch at a time (`keyset_batches`), so that memory stays flat at any size.

An export is not a snapshot, as the v1 list is not: rows written while it streams may or may
not be in it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from .database import Database, Row, keyset_batches, slices

# The session's columns, then its published enrollments, counted through the index on
# (session_id, id).
_SESSIONS = (
    "SELECT s.id, s.path_id, p.name, s.name, s.start_date, s.end_date, s.owner_group_id,"
    " g.name, s.additional_information, s.created_at, s.modified_at,"
    " (SELECT COUNT(*) FROM session_users su"
    " WHERE su.session_id = s.id AND su.status = 'published')"
    " FROM path_sessions s JOIN paths p ON p.id = s.path_id"
    " JOIN company_groups g ON g.id = s.owner_group_id"
    " WHERE s.company_id = ? AND s.id > ? ORDER BY s.id"
)

_ENROLLMENTS = (
    "SELECT e.id, e.session_id, e.path_id, e.user_id, u.mail, e.self_enrolled, e.status,"
    " e.enrolled_at, e.archived_at, e.progress"
    " FROM session_users e JOIN users u ON u.id = e.user_id"
    " WHERE e.company_id = ? AND e.id > ? ORDER BY e.id"
)


async def session_rows(
    db: Database, company_id: str, batch: int | None = None
) -> AsyncIterator[list[tuple[Row, list[str]]]]:
    """Each session's row (the columns of `_SESSIONS`) with its instructors' addresses in
    order (the main one first), a `slices` at a time."""
    async for rows in keyset_batches(db, _SESSIONS, company_id, batch, sliced=False):
        mails = await _instructor_mails(db, [row[0] for row in rows])
        for part in slices(rows):
            yield [(row, mails.get(row[0], [])) for row in part]


async def _instructor_mails(db: Database, session_ids: list[str]) -> dict[str, list[str]]:
    rows = await db.fetchall(
        "SELECT si.session_id, u.mail FROM session_instructors si"
        " JOIN users u ON u.id = si.user_id WHERE "
        + db.any_of("si.session_id")
        + " ORDER BY si.session_id, si.position",
        db.array(session_ids),
    )
    found: dict[str, list[str]] = {}
    for session_id, mail in rows:
        found.setdefault(session_id, []).append(mail)
    return found


async def enrollment_rows(
    db: Database, company_id: str, batch: int | None = None
) -> AsyncIterator[list[Row]]:
    """Every enrollment of the company, published and archived (the columns of
    `_ENROLLMENTS`), a `slices` at a time."""
    async for rows in keyset_batches(db, _ENROLLMENTS, company_id, batch):
        yield rows
