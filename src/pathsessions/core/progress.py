"""Learners' progress in path sessions, read back: a session's counts by status, its
learners' statistics, and every learner's across the company.

A learner's status is the one recorded with their progress, or else follows from the
session's dates by the server's clock (`status`, below). No API writes progress: fixtures
and the sandbox do.
"""

from __future__ import annotations

import msgspec

from ..storage import Database
from ..storage import progress as store
from .clock import Clock
from .listing import ListQuery, Page
from .model import Company, Enrollment
from .path_sessions import find_path_session

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
# Recorded, these stand whatever the dates.
FINAL = frozenset({"successful", "unsuccessful", "awaitingCorrection"})
# Recorded, these stand while the session runs; the dates decide before and after.
RUNNING = frozenset({"notYetStarted", "onTime", "late", "toRetake"})
# The reasons each status may carry; a recorded reason of another status is not answered.
REASONS: dict[str, frozenset[str]] = {
    "toRetake": frozenset({"mandatoryReplay"}),
    "unsuccessful": frozenset({"sessionEnded"}),
}
SESSION_ENDED = "sessionEnded"


def status(
    recorded: str | None,
    completed: bool,
    progressed: bool,
    start: int,
    end: int | None,
    now: int,
) -> str:
    """A learner's status, in this order: a recorded final status; a completion without a
    recorded status is a success; before the start, `sessionNotOpened`; once the session has
    ended (an end date at or before now), `unsuccessful`; a recorded status of a running
    session; else `onTime` with some progress, `notYetStarted` without. A recorded status of
    any other value (`sessionNotOpened` included: the dates give it) counts as none."""
    if recorded is not None and recorded in FINAL:
        return recorded
    if recorded is None and completed:
        return "successful"
    if now < start:
        return "sessionNotOpened"
    if end is not None and end <= now:
        return "unsuccessful"
    if recorded is not None and recorded in RUNNING:
        return recorded
    return "onTime" if progressed else "notYetStarted"


def reason(recorded: str | None, recorded_reason: str | None, decided: str) -> str | None:
    """The recorded reason when the status is the recorded one; `sessionEnded` when the
    session's end made the learner unsuccessful; only ever a reason of that status."""
    if recorded == decided:
        given = recorded_reason
    elif decided == "unsuccessful":
        given = SESSION_ENDED
    else:
        given = None
    return given if given in REASONS.get(decided, ()) else None


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


def user_stat(e: Enrollment, start: int, end: int | None, now: int) -> UserStat:
    p = e.progress
    if p is None:
        decided = status(None, False, False, start, end, now)
        return UserStat(e, decided, reason(None, None, decided), end)
    decided = status(p.status, p.completed_at is not None, p.progress > 0, start, end, now)
    return UserStat(e, decided, reason(p.status, p.reason, decided), end)


async def session_counts(
    company: Company, db: Database, clock: Clock, path_id: str, session_id: str
) -> SessionCounts:
    """The session's learners (published enrollments) counted by status, and the
    certificates among them."""
    _, session = await find_path_session(company, db, path_id, session_id)
    now = clock.now_ms()
    by_status = dict.fromkeys(STATUSES, 0)
    certificates = 0
    for recorded, completed, progressed, learners, certified in await store.published_groups(
        db, session.id
    ):
        decided = status(recorded, completed, progressed, session.start_date, session.end_date, now)
        by_status[decided] += learners
        certificates += certified
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
    page = await store.session_page(db, company.id, session.id, query)
    now = clock.now_ms()
    start, end = session.start_date, session.end_date
    return Page([user_stat(e, start, end, now) for e in page.items], page.next_after)


async def company_stats_page(
    company: Company, db: Database, clock: Clock, query: ListQuery
) -> Page[UserStat]:
    """One page of every enrollment of the company with its statistics."""
    page = await store.company_page(db, company.id, query)
    now = clock.now_ms()
    items = [user_stat(e, start, end, now) for e, start, end in page.items]
    return Page(items, page.next_after)
