"""The field rules of `PATCH /api/v1/paths/sessions/{id}`, as pure functions.

Same limits as creation, other answers: whole sentences in the class-validator style that
the real service's documented messages show. `MISSING` means "keep the current value".
"""

from __future__ import annotations

from .domain import is_object_id, parse_date
from .errors import PATCH_PREFIX, ApiError
from .rules import (
    MAX_ADDITIONAL_INFORMATION,
    MAX_INSTRUCTORS,
    MAX_SESSION_NAME,
    MISSING,
    distinct_mails,
    storable,
)


def _fail(message: str) -> ApiError:
    return ApiError(PATCH_PREFIX + message)


def session_name(value: object) -> str:
    if value is MISSING or value is None or (isinstance(value, str) and not value.strip()):
        raise _fail("sessionName should not be empty")
    if not isinstance(value, str):
        raise _fail("sessionName must be a string")
    if len(value) > MAX_SESSION_NAME:
        raise _fail(f"sessionName must be shorter than or equal to {MAX_SESSION_NAME} characters")
    if not storable(value):
        raise _fail("sessionName must not contain NUL characters")
    return value


def owner_group_id(value: object) -> str:
    if not isinstance(value, str) or not is_object_id(value):
        raise _fail("sessionOwnerGroup must be a mongodb id")
    return value.lower()


def start_date(value: object) -> int:
    ms = parse_date(value)
    if ms is None:
        raise _fail("startDate must be a valid ISO 8601 date string")
    return ms


def end_date(value: object, current: int | None) -> int | None:
    """Left out: kept; null: removed."""
    if value is MISSING:
        return current
    if value is None:
        return None
    ms = parse_date(value)
    if ms is None:
        raise _fail("endDate must be a valid ISO 8601 date string")
    return ms


def instructor_mails(value: object) -> list[str] | None:
    """Left out: None (instructors kept); else distinct normalised addresses, in order."""
    if value is MISSING:
        return None
    if not isinstance(value, list):
        raise _fail("instructorsMails must be an array")
    if not value:
        raise _fail("instructorsMails should not be empty")
    mails = distinct_mails(value)
    if mails is None:
        raise _fail("each value in instructorsMails must be an email")
    if len(mails) > MAX_INSTRUCTORS:
        raise _fail(f"instructorsMails must contain no more than {MAX_INSTRUCTORS} elements")
    return mails


def additional_information(value: object, current: str | None) -> str | None:
    """Left out: kept; null: removed."""
    if value is MISSING:
        return current
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail("sessionAdditionalInformation must be a string")
    if len(value) > MAX_ADDITIONAL_INFORMATION:
        raise _fail(
            "sessionAdditionalInformation must be shorter than or equal to "
            f"{MAX_ADDITIONAL_INFORMATION} characters"
        )
    if not storable(value):
        raise _fail("sessionAdditionalInformation must not contain NUL characters")
    return value
