"""Reading v1 request bodies, in v1's field names and in the order v1 checks them.

Each rule takes the raw decoded value (or `MISSING`) and answers the clean value or raises:
`DomainError` for create and enrolment (v1 answers a code), `FieldError` for PATCH (v1
answers a sentence). The functions handed to the core (`session_fields`, `session_changes`,
`users`, `groups`) are called by it at the point of the check order where v1 reads the body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

import msgspec

from ...core.errors import DomainError, ErrorCode
from ...core.lookups import Lookups
from ...core.model import StoredSession
from ...core.sessions import SessionChanges, SessionFields
from ...core.values import (
    MAX_ADDITIONAL_INFORMATION,
    MAX_ENROLMENT_ITEMS,
    MAX_INSTRUCTORS,
    MAX_SESSION_NAME,
    is_object_id,
    normalize_email,
    parse_date,
    storable,
)
from .errors import FieldError, FieldMessage

E = ErrorCode
Fields = dict[str, Any] | None


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def _fail(code: ErrorCode, field: str) -> DomainError:
    return DomainError(code, field)


# --- Create: POST /api/v1/paths/{pathId}/sessions ---------------------------------------


def session_name(value: object) -> str:
    """Kept exactly as sent; only its trimmed form must be non-empty."""
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_SESSION_NAME
        or not storable(value)
    ):
        raise _fail(E.INVALID_SESSION_NAME, "sessionName")
    return value


def start_date(value: object) -> int:
    ms = parse_date(value)
    if ms is None:
        raise _fail(E.INVALID_START_DATE, "startDate")
    return ms


def end_date(value: object, start: int) -> int | None:
    if value is MISSING or value is None:
        return None
    ms = parse_date(value)
    if ms is None or ms < start:
        raise _fail(E.INVALID_END_DATE, "endDate")
    return ms


def owner_group_id(value: object) -> str:
    if not isinstance(value, str) or not is_object_id(value):
        raise _fail(E.INVALID_OWNER_GROUP, "sessionOwnerGroup")
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
        raise _fail(E.INVALID_INSTRUCTORS, "instructorsMails")
    mails = distinct_mails(value)
    if mails is None or len(mails) > MAX_INSTRUCTORS:
        raise _fail(E.INVALID_INSTRUCTORS, "instructorsMails")
    return mails


def additional_information(value: object) -> str | None:
    if value is MISSING or value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_ADDITIONAL_INFORMATION or not storable(value):
        raise _fail(E.INVALID_ADDITIONAL_INFORMATION, "sessionAdditionalInformation")
    return value


def session_fields(fields: Fields) -> Callable[[Lookups], Awaitable[SessionFields]]:
    """The create body, read after the path is found: each field in turn, the owner group
    looked up before the instructors are read, the instructors before the information."""

    async def read(lookups: Lookups) -> SessionFields:
        if fields is None:
            raise DomainError(E.INVALID_BODY)
        name = session_name(fields.get("sessionName", MISSING))
        start = start_date(fields.get("startDate", MISSING))
        end = end_date(fields.get("endDate", MISSING), start)
        group_id = owner_group_id(fields.get("sessionOwnerGroup", MISSING))
        await lookups.owner_group(group_id, "sessionOwnerGroup")
        mails = instructor_mails(fields.get("instructorsMails", MISSING))
        instructor_ids = await lookups.instructors(mails, "instructorsMails")
        info = additional_information(fields.get("sessionAdditionalInformation", MISSING))
        return SessionFields(name, start, end, group_id, instructor_ids, info)

    return read


# --- Edit: PATCH /api/v1/paths/sessions/{sessionId} --------------------------------------
# Same limits as creation, other answers. MISSING means "keep the current value".


def _patch_name(value: object) -> str:
    if value is MISSING or value is None or (isinstance(value, str) and not value.strip()):
        raise FieldError(FieldMessage.NAME_EMPTY)
    if not isinstance(value, str):
        raise FieldError(FieldMessage.NAME_NOT_STRING)
    if len(value) > MAX_SESSION_NAME:
        raise FieldError(FieldMessage.NAME_TOO_LONG)
    if not storable(value):
        raise FieldError(FieldMessage.NAME_NUL)
    return value


def _patch_owner_group(value: object) -> str:
    if not isinstance(value, str) or not is_object_id(value):
        raise FieldError(FieldMessage.OWNER_GROUP)
    return value.lower()


def _patch_start(value: object) -> int:
    ms = parse_date(value)
    if ms is None:
        raise FieldError(FieldMessage.START_DATE)
    return ms


def _patch_end(value: object, current: int | None) -> int | None:
    """Left out: kept; null: removed."""
    if value is MISSING:
        return current
    if value is None:
        return None
    ms = parse_date(value)
    if ms is None:
        raise FieldError(FieldMessage.END_DATE)
    return ms


def _patch_instructors(value: object) -> list[str] | None:
    """Left out: None (instructors kept); else distinct normalised addresses, in order."""
    if value is MISSING:
        return None
    if not isinstance(value, list):
        raise FieldError(FieldMessage.INSTRUCTORS_NOT_ARRAY)
    if not value:
        raise FieldError(FieldMessage.INSTRUCTORS_EMPTY)
    mails = distinct_mails(value)
    if mails is None:
        raise FieldError(FieldMessage.INSTRUCTORS_NOT_EMAIL)
    if len(mails) > MAX_INSTRUCTORS:
        raise FieldError(FieldMessage.INSTRUCTORS_TOO_MANY)
    return mails


def _patch_information(value: object, current: str | None) -> str | None:
    """Left out: kept; null: removed."""
    if value is MISSING:
        return current
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(FieldMessage.INFO_NOT_STRING)
    if len(value) > MAX_ADDITIONAL_INFORMATION:
        raise FieldError(FieldMessage.INFO_TOO_LONG)
    if not storable(value):
        raise FieldError(FieldMessage.INFO_NUL)
    return value


def session_changes(fields: Fields) -> Callable[[StoredSession], SessionChanges]:
    """The PATCH body, read once the session is found: every main field is replaced;
    `endDate` and `sessionAdditionalInformation` left out are kept, null removes them."""

    def read(current: StoredSession) -> SessionChanges:
        if fields is None:
            raise DomainError(E.INVALID_BODY)
        return SessionChanges(
            name=_patch_name(fields.get("sessionName", MISSING)),
            owner_group_id=_patch_owner_group(fields.get("sessionOwnerGroup", MISSING)),
            start_date=_patch_start(fields.get("startDate", MISSING)),
            end_date=_patch_end(fields.get("endDate", MISSING), current.end_date),
            instructor_mails=_patch_instructors(fields.get("instructorsMails", MISSING)),
            additional_information=_patch_information(
                fields.get("sessionAdditionalInformation", MISSING),
                current.additional_information,
            ),
        )

    return read


# --- Enrolment: {"userEmails": [...]} | {"userIds": [...]}, {"groupIds": [...]} -----------


def _items(value: object, code: ErrorCode) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > MAX_ENROLMENT_ITEMS:
        raise DomainError(code)
    if not all(isinstance(item, str) for item in value):
        raise DomainError(code)
    return value


def users(fields: Fields) -> Callable[[Lookups], Awaitable[list[str]]]:
    """Exactly one of `userEmails` and `userIds` -> the users' ids, repeats counted once."""

    async def read(lookups: Lookups) -> list[str]:
        if fields is None:
            raise DomainError(E.INVALID_BODY)
        if ("userEmails" in fields) == ("userIds" in fields):
            raise DomainError(E.INVALID_USERS)
        if "userEmails" in fields:
            mails = [normalize_email(m) for m in _items(fields["userEmails"], E.INVALID_USERS)]
            if None in mails:
                raise DomainError(E.INVALID_USERS)
            return await lookups.users_by_mail(list(dict.fromkeys(m for m in mails if m)))
        ids = _items(fields["userIds"], E.INVALID_USERS)
        if not all(is_object_id(i) for i in ids):
            raise DomainError(E.INVALID_USERS)
        return await lookups.users_by_id(list(dict.fromkeys(i.lower() for i in ids)))

    return read


def groups(fields: Fields) -> Callable[[Lookups], Awaitable[list[str]]]:
    async def read(lookups: Lookups) -> list[str]:
        if fields is None:
            raise DomainError(E.INVALID_BODY)
        ids = _items(fields.get("groupIds"), E.INVALID_GROUPS)
        if not all(is_object_id(i) for i in ids):
            raise DomainError(E.INVALID_GROUPS)
        return await lookups.groups(list(dict.fromkeys(i.lower() for i in ids)))

    return read


# --- Tokens: POST /api/v2/oauth2/token ------------------------------------------------------


class TokenGrant(msgspec.Struct, frozen=True):
    """A client-credentials grant. `company_id` and `user_id` are as sent (None when not):
    only a v2 credential's grant reads them, and the core judges them."""

    client_id: str
    client_secret: str
    company_id: object = None
    user_id: object = None


def token_request(fields: Fields) -> TokenGrant:
    if fields is None:
        raise DomainError(E.INVALID_TOKEN_REQUEST)
    values = [fields.get(k) for k in ("grant_type", "client_id", "client_secret")]
    strings = [v for v in values if isinstance(v, str) and v]
    if len(strings) != len(values):
        raise DomainError(E.INVALID_TOKEN_REQUEST)
    grant_type, client_id, client_secret = strings
    if grant_type != "client_credentials":
        raise DomainError(E.UNSUPPORTED_GRANT_TYPE)
    return TokenGrant(client_id, client_secret, fields.get("company_id"), fields.get("user_id"))
