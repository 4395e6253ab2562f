"""The operations of the API. Each takes the company and the database as arguments and
raises `ApiError` for every documented failure; nothing is written unless all checks pass."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from . import patch_rules, rules
from .domain import (
    Company,
    NewSession,
    Person,
    StoredSession,
    is_object_id,
    is_running,
    new_id,
    normalize_email,
    now_ms,
)
from .errors import ApiError
from .rules import MISSING
from .storage import Database, directory, repository, sessions
from .views import session_detail

# Most ids or addresses one enrolment request may name.
MAX_ENROLMENT_ITEMS = 1_000


async def validate_new_session(
    company: Company, db: Database, path_id: str, fields: dict[str, Any] | None
) -> NewSession:
    """Every check of `POST /api/v1/paths/{pathId}/sessions/`, in the documented order."""
    if not is_object_id(path_id):
        raise ApiError("path_not_found")
    path_id = path_id.lower()
    if not await repository.path_exists(db, company.id, path_id):
        raise ApiError("path_not_found")
    if fields is None:
        raise ApiError("invalid_body")
    name = rules.session_name(fields.get("sessionName", MISSING))
    start = rules.start_date(fields.get("startDate", MISSING))
    end = rules.end_date(fields.get("endDate", MISSING), start)
    group_id = rules.owner_group_id(fields.get("sessionOwnerGroup", MISSING))
    if not await repository.group_exists(db, company.id, group_id):
        raise ApiError("session_owner_group_not_found")
    instructor_ids = await _instructor_ids(
        company, db, rules.instructor_mails(fields.get("instructorsMails", MISSING))
    )
    info = rules.additional_information(fields.get("sessionAdditionalInformation", MISSING))
    return NewSession(
        id=new_id(),
        company_id=company.id,
        path_id=path_id,
        name=name,
        start_date=start,
        end_date=end,
        owner_group_id=group_id,
        instructor_ids=instructor_ids,
        additional_information=info,
        created_at=now_ms(),
    )


async def _instructor_ids(company: Company, db: Database, mails: list[str]) -> tuple[str, ...]:
    if not mails:
        if company.owner_user_id is None:
            # Companies are always created with an owner; a missing one is a data fault.
            raise RuntimeError(f"company {company.id} has no platform owner")
        return (company.owner_user_id,)
    found = await repository.member_ids_by_mail(db, company.id, mails)
    if len(found) != len(mails):
        raise ApiError("instructors_not_found")
    return tuple(found[mail] for mail in mails)


async def create_path_session(
    company: Company, db: Database, path_id: str, fields: dict[str, Any] | None
) -> str:
    session = await validate_new_session(company, db, path_id, fields)
    await repository.insert_session(db, session)
    return session.id


async def _session(
    company: Company, db: Database, session_id: str, *, lock: bool = False
) -> StoredSession:
    """The company's session, or `path_session_not_found` (malformed and foreign ids too)."""
    session = None
    if is_object_id(session_id):
        session = await sessions.get_session(db, company.id, session_id.lower(), lock=lock)
    if session is None:
        raise ApiError("path_session_not_found")
    return session


async def get_path_session(company: Company, db: Database, session_id: str) -> dict[str, Any]:
    return await _detail(company, db, await _session(company, db, session_id))


async def _detail(company: Company, db: Database, session: StoredSession) -> dict[str, Any]:
    path = await directory.path_row(db, company.id, session.path_id)
    if path is None:  # sessions are deleted with their path
        raise RuntimeError(f"session {session.id} has no path")
    users = await sessions.enrolled_users(db, session.id)
    groups = await sessions.enrolled_groups(db, session.id)
    return session_detail(session, path, users, groups)


def list_path_sessions(company: Company, db: Database) -> AsyncIterator[list[StoredSession]]:
    return sessions.iter_sessions(db, company.id)


async def update_path_session(
    company: Company, db: Database, session_id: str, fields: dict[str, Any] | None
) -> dict[str, Any]:
    """Replace the main fields, checking in the documented order; answer the new session.

    Read, checks and write are one transaction holding the session's row: two concurrent
    updates apply one after the other, neither loses the other's fields."""
    async with db.transaction() as tx:
        current = await _replace_fields(company, tx, session_id, fields)
    return await get_path_session(company, db, current.id)


async def _replace_fields(
    company: Company, db: Database, session_id: str, fields: dict[str, Any] | None
) -> StoredSession:
    current = await _session(company, db, session_id, lock=True)
    if fields is None:
        raise ApiError("invalid_body")
    name = patch_rules.session_name(fields.get("sessionName", MISSING))
    group_id = patch_rules.owner_group_id(fields.get("sessionOwnerGroup", MISSING))
    start = patch_rules.start_date(fields.get("startDate", MISSING))
    end = patch_rules.end_date(fields.get("endDate", MISSING), current.end_date)
    mails = patch_rules.instructor_mails(fields.get("instructorsMails", MISSING))
    info = patch_rules.additional_information(
        fields.get("sessionAdditionalInformation", MISSING), current.additional_information
    )
    if not await repository.group_exists(db, company.id, group_id):
        raise ApiError("session_owner_group_not_found")
    instructor_ids = None if mails is None else await _instructor_ids(company, db, mails)
    now = now_ms()
    _check_dates(current, start, end, now, await _has_learners(current, start, now, db))
    updated = replace(
        current,
        name=name,
        owner_group_id=group_id,
        start_date=start,
        end_date=end,
        additional_information=info,
        modified_at=now,
    )
    await sessions.update_session(db, company.id, updated, instructor_ids)
    return current


async def _has_learners(current: StoredSession, start: int, now: int, db: Database) -> bool:
    # Only asked when it can matter: the start moves and the session is running.
    if start == current.start_date or not is_running(current.start_date, current.end_date, now):
        return False
    return await sessions.has_enrolled_learners(db, current.id)


def _check_dates(
    current: StoredSession, start: int, end: int | None, now: int, running_with_learners: bool
) -> None:
    """The business rules, in the documented order; past-date rules only for a changed date."""
    if running_with_learners:
        raise ApiError(
            "Session startDate cannot be updated because the session is running and has "
            "enrolled learners."
        )
    if start != current.start_date and start < now:
        raise ApiError("Session cannot be updated because new session start date is in the past.")
    if end != current.end_date and end is not None and end < now:
        raise ApiError("Session cannot be updated because new session end date is in the past.")
    if end is not None and end < start:
        raise ApiError(
            "Session cannot be updated because new session end date precedes session start date."
        )


async def delete_path_session(company: Company, db: Database, session_id: str) -> None:
    session = await _session(company, db, session_id)
    if not await sessions.delete_session(db, company.id, session.id):
        raise ApiError("path_session_not_found")  # deleted meanwhile by another request


async def enrolled_users(company: Company, db: Database, session_id: str) -> list[Person]:
    session = await _session(company, db, session_id)
    return await sessions.enrolled_users(db, session.id)


def _items(value: object, code: str) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > MAX_ENROLMENT_ITEMS:
        raise ApiError(code)
    if not all(isinstance(item, str) for item in value):
        raise ApiError(code)
    return value


async def _user_ids(company: Company, db: Database, fields: dict[str, Any] | None) -> list[str]:
    """`{"userEmails": [...]}` or `{"userIds": [...]}` (exactly one) -> the users' ids."""
    if fields is None:
        raise ApiError("invalid_body")
    if ("userEmails" in fields) == ("userIds" in fields):
        raise ApiError("invalid_users")
    if "userEmails" in fields:
        mails = [normalize_email(m) for m in _items(fields["userEmails"], "invalid_users")]
        if None in mails:
            raise ApiError("invalid_users")
        wanted = list(dict.fromkeys(m for m in mails if m is not None))
        found = await repository.member_ids_by_mail(db, company.id, wanted)
        if len(found) != len(wanted):
            raise ApiError("users_not_found")
        return [found[m] for m in wanted]
    ids = _items(fields["userIds"], "invalid_users")
    if not all(is_object_id(i) for i in ids):
        raise ApiError("invalid_users")
    wanted = list(dict.fromkeys(i.lower() for i in ids))
    if len(await directory.member_ids(db, company.id, wanted)) != len(wanted):
        raise ApiError("users_not_found")
    return wanted


async def _group_ids(company: Company, db: Database, fields: dict[str, Any] | None) -> list[str]:
    if fields is None:
        raise ApiError("invalid_body")
    ids = _items(fields.get("groupIds"), "invalid_groups")
    if not all(is_object_id(i) for i in ids):
        raise ApiError("invalid_groups")
    wanted = list(dict.fromkeys(i.lower() for i in ids))
    if len(await directory.existing_group_ids(db, company.id, wanted)) != len(wanted):
        raise ApiError("groups_not_found")
    return wanted


async def enrol_users(
    company: Company, db: Database, session_id: str, fields: dict[str, Any] | None
) -> None:
    # One transaction holding the session's row: a concurrent delete waits, instead of
    # leaving enrolments that point at nothing.
    async with db.transaction() as tx:
        session = await _session(company, tx, session_id, lock=True)
        await sessions.enrol_users(tx, session.id, await _user_ids(company, tx, fields), now_ms())


async def unenrol_users(
    company: Company, db: Database, session_id: str, fields: dict[str, Any] | None
) -> None:
    async with db.transaction() as tx:
        session = await _session(company, tx, session_id, lock=True)
        await sessions.unenrol_users(tx, session.id, await _user_ids(company, tx, fields))


async def enrol_groups(
    company: Company, db: Database, session_id: str, fields: dict[str, Any] | None
) -> None:
    async with db.transaction() as tx:
        session = await _session(company, tx, session_id, lock=True)
        await sessions.enrol_groups(tx, session.id, await _group_ids(company, tx, fields), now_ms())


async def unenrol_groups(
    company: Company, db: Database, session_id: str, fields: dict[str, Any] | None
) -> None:
    async with db.transaction() as tx:
        session = await _session(company, tx, session_id, lock=True)
        await sessions.unenrol_groups(tx, session.id, await _group_ids(company, tx, fields))
