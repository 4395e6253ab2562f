"""Audiences and enrollments in v2's JSON shapes."""

from __future__ import annotations

from typing import Any

from ...core.model import Audience, Enrollment
from .dates import to_wire


def audience_object(audience: Audience) -> dict[str, Any]:
    return {
        "filters": [{"type": f.type, "ids": list(f.ids)} for f in audience.filters],
        "mode": audience.mode,
    }


def enrollment_object(e: Enrollment) -> dict[str, Any]:
    """Required fields always; `archivedAt` once archived, `modifiedAt` when known."""
    out: dict[str, Any] = {
        "_id": e.id,
        "userId": e.user_id,
        "sessionId": e.session_id,
        "createdAt": to_wire(e.created_at),
        "isSelfEnrolled": e.self_enrolled,
        "status": e.status,
    }
    if e.archived_at is not None:
        out["archivedAt"] = to_wire(e.archived_at)
    if e.modified_at is not None:
        out["modifiedAt"] = to_wire(e.modified_at)
    return out
