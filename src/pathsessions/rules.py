"""The field rules of a path session, as pure functions (no storage, no I/O).

Each rule takes the raw decoded value (or `MISSING`) and answers the clean value or raises the
documented `ApiError`. The service calls them in the order the API checks them.
"""

from __future__ import annotations

from typing import Final

from .domain import is_object_id, normalize_email, parse_date
from .errors import ApiError


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

MAX_SESSION_NAME = 1_000
MAX_ADDITIONAL_INFORMATION = 10_000
MAX_INSTRUCTORS = 100


def storable(value: str) -> bool:
    """PostgreSQL text cannot hold NUL (SQLite can): refused on both, so both behave alike."""
    return "\x00" not in value


def session_name(value: object) -> str:
    """Kept exactly as sent; only its trimmed form must be non-empty."""
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_SESSION_NAME
        or not storable(value)
    ):
        raise ApiError("invalid_session_name")
    return value


def start_date(value: object) -> int:
    ms = parse_date(value)
    if ms is None:
        raise ApiError("invalid_start_date")
    return ms


def end_date(value: object, start: int) -> int | None:
    if value is MISSING or value is None:
        return None
    ms = parse_date(value)
    if ms is None or ms < start:
        raise ApiError("invalid_end_date")
    return ms


def owner_group_id(value: object) -> str:
    if not isinstance(value, str) or not is_object_id(value):
        raise ApiError("invalid_session_owner_group")
    return value.lower()


def distinct_mails(items: list[object]) -> list[str] | None:
    """Normalised addresses, a repeat counted once at its first position; None if any item
    is not a valid address."""
    mails: dict[str, None] = {}
    for item in items:
        mail = normalize_email(item)
        if mail is None:
            return None
        mails[mail] = None
    return list(mails)


def instructor_mails(value: object) -> list[str]:
    """Distinct normalised addresses, first position kept; [] means the platform owner."""
    if value is MISSING:
        return []
    if not isinstance(value, list):
        raise ApiError("invalid_instructors")
    mails = distinct_mails(value)
    if mails is None or len(mails) > MAX_INSTRUCTORS:
        raise ApiError("invalid_instructors")
    return mails


def additional_information(value: object) -> str | None:
    if value is MISSING or value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_ADDITIONAL_INFORMATION or not storable(value):
        raise ApiError("invalid_session_additional_information")
    return value
