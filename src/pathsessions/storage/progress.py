"""Learners' progress read back: the status of each enrollment by the rule below, a session's
counts by status, and pages of enrollments with their status (one session's, or the whole
company's).

The status is computed in SQL, with the session's dates and the instant `now` given, so that
a session's counts are one GROUP BY however many learners it has, and the lists page by
enrollment id (keyset) with the status on each row. The rule, in order (docs/api-v2.md §6):

1. a recorded `successful`, `unsuccessful` or `awaitingCorrection` stands;
2. no recorded status but a completion date: `successful`;
3. before the session's start: `sessionNotOpened`;
4. the session ended (an end date at or before now): `unsuccessful`;
5. a recorded `notYetStarted`, `onTime`, `late` or `toRetake` stands;
6. some progress (above 0): `onTime`; else `notYetStarted`.

A recorded status of another value (`sessionNotOpened` included: it follows from the dates)
counts as none. The reason that goes with a status is the core's to give (core/progress.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.listing import ListQuery, Page
from ..core.model import Enrollment
from .database import Database, Row
from .enrollments import COLUMNS, enrollment
from .listing import fetch_page

STATUSES = (
    "awaitingCorrection",
    "late",
    "notYetStarted",
    "onTime",
    "sessionNotOpened",
    "successful",
    "toRetake",
    "unsuccessful",
)
FINAL = ("successful", "unsuccessful", "awaitingCorrection")
ONGOING = ("notYetStarted", "onTime", "late", "toRetake")


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


# Two `?`: now, now. Columns: `e` the enrollment, `s` its session.
STATUS = (
    "CASE"
    f" WHEN e.progress_status IN ({_quoted(FINAL)}) THEN e.progress_status"
    " WHEN e.progress_status IS NULL AND e.completed_at IS NOT NULL THEN 'successful'"
    " WHEN s.start_date > ? THEN 'sessionNotOpened'"
    " WHEN s.end_date IS NOT NULL AND s.end_date <= ? THEN 'unsuccessful'"
    f" WHEN e.progress_status IN ({_quoted(ONGOING)}) THEN e.progress_status"
    " WHEN COALESCE(e.progress, 0) > 0 THEN 'onTime'"
    " ELSE 'notYetStarted' END"
)

_FROM = " FROM session_users e JOIN path_sessions s ON s.id = e.session_id"
_SELECT = f"SELECT {COLUMNS}, s.end_date, {STATUS}{_FROM}"

# One enrollment with what its stats add: (enrollment, status type, the session's end date).
Stat = tuple[Enrollment, str, int | None]


def _stat(row: Row) -> Stat:
    return enrollment(row[:17]), str(row[18]), row[17]


async def counts(db: Database, session_id: str, now: int) -> tuple[dict[str, int], int]:
    """The session's published enrollments by status (every status present), and how many of
    them carry a certificate. The session is one the caller found in its company."""
    rows = await db.fetchall(
        f"SELECT {STATUS}, COUNT(*), COUNT(e.certificate_id){_FROM}"
        " WHERE e.session_id = ? AND e.status = 'published' GROUP BY 1",
        now,
        now,
        session_id,
    )
    by_status = dict.fromkeys(STATUSES, 0)
    certificates = 0
    for status, count, certified in rows:
        by_status[status] += int(count)
        certificates += int(certified)
    return by_status, certificates


_SESSION_COLUMNS = {"completedAt": "e.completed_at", "userId": "e.user_id"}
_COMPANY_COLUMNS = {
    **_SESSION_COLUMNS,
    "status": "e.status",
    "pathId": "e.path_id",
}


async def session_page(
    db: Database, company_id: str, session_id: str, query: ListQuery, now: int
) -> Page[Stat]:
    """One page of the session's enrollments, published and archived, by id."""
    args: list[Any] = [now, now, session_id, company_id]
    select = _SELECT + " WHERE e.session_id = ? AND e.company_id = ?"
    return await fetch_page(db, select, args, query, _SESSION_COLUMNS, _stat, "e.id")


async def company_page(db: Database, company_id: str, query: ListQuery, now: int) -> Page[Stat]:
    """One page of every enrollment of the company, in every session of every path, by id."""
    args: list[Any] = [now, now, company_id]
    select = _SELECT + " WHERE e.company_id = ?"
    return await fetch_page(db, select, args, query, _COMPANY_COLUMNS, _stat, "e.id")
