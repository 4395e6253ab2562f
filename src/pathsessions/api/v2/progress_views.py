"""Learners' statistics in v2's JSON shapes: `SessionUserStatDTO` (one session's learner),
`PathSessionUserStatDTO` (the same with its path and session) and `AggregatedSessionStatDTO`."""

from __future__ import annotations

from typing import Any

from ...core.progress import SessionCounts, UserStat
from .dates import to_wire


def user_stat(stat: UserStat) -> dict[str, Any]:
    """Required fields always (no progress recorded reads as 0 and no time spent); optional
    ones only when known, never null."""
    e = stat.enrollment
    p = e.progress
    status: dict[str, Any] = {"type": stat.status}
    if stat.reason is not None:
        status["reason"] = stat.reason
    out: dict[str, Any] = {
        "_id": e.id,
        "userId": e.user_id,
        "progress": 0 if p is None else p.progress,
        "status": status,
        "timeSpent": 0 if p is None or p.time_spent is None else p.time_spent,
        "enrolledAt": to_wire(e.created_at),
        "selfEnrolled": e.self_enrolled,
    }
    if p is not None:
        if p.completed_at is not None:
            out["completedAt"] = to_wire(p.completed_at)
        if p.score is not None:
            # A percentage, published as an integer.
            out["score"] = round(p.score)
        if p.certificate_id is not None:
            out["certificateId"] = p.certificate_id
        if p.started_at is not None:
            out["startedAt"] = to_wire(p.started_at)
    if e.archived_at is not None:
        out["unenrolledAt"] = to_wire(e.archived_at)
    if stat.due_date is not None:
        out["dueDate"] = to_wire(stat.due_date)
    return out


def path_user_stat(stat: UserStat) -> dict[str, Any]:
    return {
        **user_stat(stat),
        "pathId": stat.enrollment.path_id,
        "sessionId": stat.enrollment.session_id,
    }


def session_counts(counts: SessionCounts) -> dict[str, Any]:
    return {"certificates": counts.certificates, "usersCountByStatus": dict(counts.by_status)}
