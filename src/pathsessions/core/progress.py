"""Learners' progress in path sessions, read back: a session's counts by status, its
learners' statistics, and every learner's across the company.

A learner's status is the one recorded with their progress, or else follows from the
session's dates by the server's clock; the rule, in its order, is written once, in
storage/progress.py, where it is computed for counts and pages alike. Here: the reason that
goes with a status, and the checks that find the session.
"""

from __future__ import annotations

import msgspec

from ..storage import Database
from ..storage import progress as store
from .clock import Clock
from .listing import ListQuery, Page
from .model import Company, Enrollment
from .path_sessions import find_path_session

STATUSES = store.STATUSES
# The reasons each status may carry; a recorded reason of another status is not answered.
REASONS: dict[str, frozenset[str]] = {
    "toRetake": frozenset({"mandatoryReplay"}),
    "unsuccessful": frozenset({"sessionEnded"}),
}
SESSION_ENDED = "sessionEnded"


class UserStat(msgspec.Struct, frozen=True):
    """One enrollment's statistics: the enrollment (with its recorded progress, if any), its
    status and reason as of now, and when its session is due (the session's end date)."""

    enrollment: Enrollment
    status: str
    reason: str | None
    due_date: int | None


class SessionCounts(msgspec.Struct, frozen=True):
    # Published enrollments by status, every status present.
    by_status: dict[str, int]
    # Published enrollments with a certificate recorded.
    certificates: int


def _reason(enrollment: Enrollment, status: str) -> str | None:
    """The recorded reason when the status is the recorded one; `sessionEnded` when the
    session's end made the learner unsuccessful; nothing otherwise."""
    recorded = enrollment.progress
    if recorded is not None and recorded.status == status:
        reason = recorded.reason
    elif status == "unsuccessful":
        reason = SESSION_ENDED
    else:
        reason = None
    return reason if reason in REASONS.get(status, ()) else None


def _stat(found: store.Stat) -> UserStat:
    enrollment, status, due_date = found
    return UserStat(enrollment, status, _reason(enrollment, status), due_date)


def _page(page: Page[store.Stat]) -> Page[UserStat]:
    return Page([_stat(found) for found in page.items], page.next_after)


async def session_counts(
    company: Company, db: Database, clock: Clock, path_id: str, session_id: str
) -> SessionCounts:
    """The session's learners (published enrollments) counted by status, and their
    certificates."""
    _, session = await find_path_session(company, db, path_id, session_id)
    by_status, certificates = await store.counts(db, session.id, clock.now_ms())
    return SessionCounts(by_status, certificates)


async def session_stats_page(
    company: Company,
    db: Database,
    clock: Clock,
    path_id: str,
    session_id: str,
    query: ListQuery,
) -> Page[UserStat]:
    """One page of the session's enrollments with their statistics, unenrolled ones too."""
    _, session = await find_path_session(company, db, path_id, session_id)
    return _page(await store.session_page(db, company.id, session.id, query, clock.now_ms()))


async def company_stats_page(
    company: Company, db: Database, clock: Clock, query: ListQuery
) -> Page[UserStat]:
    """One page of every enrollment of the company with its statistics."""
    return _page(await store.company_page(db, company.id, query, clock.now_ms()))
