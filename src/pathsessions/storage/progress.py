"""Learners' progress read back: what a session's counts by status are made from, and pages of
enrollments (one session's, or the whole company's with their sessions' dates).

The status rule is the core's (core/progress.py). A session's counts are read grouped by
what the rule looks at (the recorded status, whether a completion or some progress is
recorded), so that they are a few rows however many learners the session has; the rule is
then applied to each group.
"""

from __future__ import annotations

from typing import Any

from ..core.listing import ListQuery, Page
from ..core.model import Enrollment
from .database import Database, Row
from .enrollments import COLUMNS, enrollment
from .listing import fetch_page

# (recorded status, a completion recorded, some progress recorded, learners, certificates)
Group = tuple[str | None, bool, bool, int, int]
# An enrollment with its session's start and end dates.
Dated = tuple[Enrollment, int, int | None]


async def published_groups(db: Database, session_id: str) -> list[Group]:
    """The session's published enrollments grouped by what their status depends on, with how
    many of each carry a certificate. The session is one the caller found in its company."""
    rows = await db.fetchall(
        "SELECT progress_status, completed_at IS NOT NULL, COALESCE(progress, 0) > 0,"
        " COUNT(*), COUNT(certificate_id) FROM session_users"
        " WHERE session_id = ? AND status = 'published' GROUP BY 1, 2, 3",
        session_id,
    )
    return [(r[0], bool(r[1]), bool(r[2]), int(r[3]), int(r[4])) for r in rows]


_SESSION_COLUMNS = {"completedAt": "e.completed_at", "userId": "e.user_id"}
_COMPANY_COLUMNS = {**_SESSION_COLUMNS, "status": "e.status", "pathId": "e.path_id"}


async def session_page(
    db: Database, company_id: str, session_id: str, query: ListQuery
) -> Page[Enrollment]:
    """One page of the session's enrollments, published and archived, by id."""
    select = f"SELECT {COLUMNS} FROM session_users e WHERE e.session_id = ? AND e.company_id = ?"
    args: list[Any] = [session_id, company_id]
    return await fetch_page(db, select, args, query, _SESSION_COLUMNS, enrollment, "e.id")


def _dated(row: Row) -> Dated:
    return enrollment(row), row[17], row[18]


async def company_page(db: Database, company_id: str, query: ListQuery) -> Page[Dated]:
    """One page of every enrollment of the company, in every session of every path, by id,
    each with its session's dates."""
    select = (
        f"SELECT {COLUMNS}, s.start_date, s.end_date FROM session_users e"
        " JOIN path_sessions s ON s.id = e.session_id WHERE e.company_id = ?"
    )
    args: list[Any] = [company_id]
    return await fetch_page(db, select, args, query, _COMPANY_COLUMNS, _dated, "e.id")
