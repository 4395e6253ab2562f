"""The PathSession object: a stored session in v2's JSON shape."""

from __future__ import annotations

from typing import Any

import msgspec

from ...core.model import SessionTranslation, StoredSession
from .dates import to_wire


def _translation(t: SessionTranslation) -> dict[str, Any]:
    fields = {} if t.translated_fields.name is None else {"name": t.translated_fields.name}
    return {
        "lang": t.lang,
        "published": t.published,
        "translatorIds": list(t.translator_ids),
        "translatedFields": fields,
    }


def path_session(session: StoredSession, *, translations: bool = True) -> dict[str, Any]:
    """Required fields always; optional ones only when set, never null. A session made
    through v1 reads with v1's implied values: its first instructor is the main one."""
    instructors = session.instructor_ids
    out: dict[str, Any] = {
        "_id": session.id,
        "pathId": session.path_id,
        "name": session.name,
        "startDate": to_wire(session.start_date),
        "mainInstructorId": instructors[0] if instructors else "",
        "instructorIds": list(instructors[1:]),
        "groupId": session.owner_group_id,
        "registrationRequestValidation": session.registration_request_validation,
        "isAudienceBuilder": session.is_audience_builder,
        "createdAt": to_wire(session.created_at),
        "modifiedAt": to_wire(session.modified_at),
    }
    if translations:
        out["translations"] = [_translation(t) for t in session.translations]
    if session.end_date is not None:
        out["endDate"] = to_wire(session.end_date)
    if session.user_limit is not None:
        out["userLimit"] = session.user_limit
    if session.automatic_reenrollment is not None:
        out["automaticReenrollment"] = msgspec.to_builtins(session.automatic_reenrollment)
    if session.ip_filtering is not None:
        out["ipFiltering"] = msgspec.to_builtins(session.ip_filtering)
    if session.additional_information is not None:
        out["additionalInformation"] = session.additional_information
    if session.root_session_id is not None:
        out["rootSessionId"] = session.root_session_id
    return out


def without_translations(session: StoredSession) -> dict[str, Any]:
    return path_session(session, translations=False)
