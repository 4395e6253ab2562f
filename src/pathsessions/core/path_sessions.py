"""Path sessions with their settings (registration validation, user limit, re-enrolment, IP
filtering), as v2 speaks of them: create, list, read, edit, delete, and edit a child session.

The operations take the whole input, already shaped: a version that speaks of instructors by
id and of the settings parses its body first, then the rules run in their order. Each takes
the company, the database and the clock, and raises `DomainError`; nothing is written unless
every check passes.
"""

from __future__ import annotations

from functools import partial

import msgspec
from msgspec import UNSET, UnsetType
from msgspec.structs import replace

from ..storage import Database
from ..storage import ownership as ownership_store
from ..storage import sessions as store
from ..storage import users as user_store
from .clock import Clock
from .errors import DomainError, ErrorCode
from .events import EventKind, add_session, announcing, emit
from .ids import new_id
from .ipfilter import is_authorizable
from .listing import ListQuery, Page
from .lookups import find_session, owned
from .model import (
    Company,
    IpFiltering,
    NewSession,
    OwnerGroup,
    Reenrollment,
    SessionPath,
    StoredSession,
)

REGISTRATION_OPTIONS = (
    "disabled",
    "instructors",
    "managers",
    "adminsAndManagers",
    "adminsCoachesInstructorsManagers",
)
REENROLLMENT_TYPES = ("certificationExpiryDate", "pathCompletionDate")
MAX_AUTHORIZED_ADDRESSES = 1_000
# Registration options that a manager validates: the owner group must have one.
MANAGER_OPTIONS = frozenset({"managers", "adminsAndManagers", "adminsCoachesInstructorsManagers"})
CERTIFICATE_REENROLLMENT = "certificationExpiryDate"


class SessionInput(msgspec.Struct, frozen=True):
    """A new session's fields, well-formed; the rules on them not yet checked."""

    name: str
    start_date: int
    main_instructor_id: str
    registration_request_validation: str
    end_date: int | None = None
    instructor_ids: tuple[str, ...] = ()
    user_limit: int | None = None
    automatic_reenrollment: Reenrollment | None = None
    ip_filtering: IpFiltering | None = None
    additional_information: str | None = None


class SessionEdit(msgspec.Struct, frozen=True):
    """An edit: UNSET keeps a field, None clears it (where it may be cleared)."""

    name: str | UnsetType = UNSET
    start_date: int | UnsetType = UNSET
    end_date: int | UnsetType | None = UNSET
    main_instructor_id: str | UnsetType = UNSET
    instructor_ids: tuple[str, ...] | UnsetType = UNSET
    group_id: str | UnsetType = UNSET
    registration_request_validation: str | UnsetType = UNSET
    user_limit: int | UnsetType | None = UNSET
    automatic_reenrollment: Reenrollment | UnsetType | None = UNSET
    ip_filtering: IpFiltering | UnsetType | None = UNSET
    additional_information: str | UnsetType | None = UNSET


class ChildSessionEdit(msgspec.Struct, frozen=True):
    """What a child session lets change: the rest follows its root session."""

    main_instructor_id: str | UnsetType = UNSET
    instructor_ids: tuple[str, ...] | UnsetType = UNSET
    additional_information: str | UnsetType | None = UNSET


def is_ended(session: StoredSession, now: int) -> bool:
    return session.end_date is not None and session.end_date <= now


def _instructors(main: str, others: tuple[str, ...]) -> tuple[str, ...]:
    """The main instructor, then the others in order, each once (ids lower-cased)."""
    return tuple(dict.fromkeys((main.lower(), *(i.lower() for i in others))))


async def _session_path(company: Company, db: Database, path_id: str) -> SessionPath:
    fetch = partial(ownership_store.session_path, db, company.id)
    return await owned(path_id, fetch, ErrorCode.PATH_NOT_FOUND)


async def _check_users(company: Company, db: Database, user_ids: tuple[str, ...]) -> None:
    if len(await user_store.member_ids(db, company.id, user_ids)) != len(user_ids):
        raise DomainError(ErrorCode.USERS_NOT_FOUND)


def _check_settings(
    path: SessionPath,
    start: int,
    end: int | None,
    ip_filtering: IpFiltering | UnsetType | None,
    reenrollment: Reenrollment | UnsetType | None,
) -> None:
    """Dates, addresses, then re-enrolment, in that order."""
    if end is not None and end < start:
        raise DomainError(ErrorCode.INVALID_DATES)
    if isinstance(ip_filtering, IpFiltering) and not all(
        is_authorizable(a) for a in ip_filtering.authorized_addresses
    ):
        raise DomainError(ErrorCode.INVALID_IP_FILTERING)
    if (
        isinstance(reenrollment, Reenrollment)
        and reenrollment.type == CERTIFICATE_REENROLLMENT
        and path.certificate_id is None
    ):
        raise DomainError(ErrorCode.MISSING_CERTIFICATE)


def _check_registration(option: str, group: OwnerGroup) -> None:
    if option in MANAGER_OPTIONS and not group.has_managers:
        raise DomainError(ErrorCode.INVALID_REGISTRATION_OPTION)


async def _owner_group(
    company: Company, db: Database, path: SessionPath, user_id: str
) -> OwnerGroup:
    """Where the main instructor authors, ranked (storage/ownership.py); else the path's."""
    chosen = await ownership_store.chosen_owner_group(db, company.id, user_id)
    if chosen is None:
        chosen = await ownership_store.owner_group(db, company.id, path.group_id)
    if chosen is None:  # paths are deleted with their group
        raise RuntimeError(f"path {path.id} has no owner group")
    return chosen


async def create_path_session(
    company: Company, db: Database, clock: Clock, path_id: str, given: SessionInput
) -> StoredSession:
    """A new audience-builder session, its owner group chosen from its main instructor."""
    path = await _session_path(company, db, path_id)
    if path.status == "archived":
        raise DomainError(ErrorCode.PATH_ARCHIVED)
    instructors = _instructors(given.main_instructor_id, given.instructor_ids)
    await _check_users(company, db, instructors)
    _check_settings(
        path, given.start_date, given.end_date, given.ip_filtering, given.automatic_reenrollment
    )
    group = await _owner_group(company, db, path, instructors[0])
    _check_registration(given.registration_request_validation, group)
    session = NewSession(
        id=new_id(),
        company_id=company.id,
        path_id=path.id,
        name=given.name,
        start_date=given.start_date,
        end_date=given.end_date,
        owner_group_id=group.id,
        instructor_ids=instructors,
        additional_information=given.additional_information,
        created_at=clock.now_ms(),
        registration_request_validation=given.registration_request_validation,
        user_limit=given.user_limit,
        automatic_reenrollment=given.automatic_reenrollment,
        ip_filtering=given.ip_filtering,
        is_audience_builder=True,
    )
    await add_session(db, company.id, session)
    return _as_stored(session)


def _as_stored(s: NewSession) -> StoredSession:
    """The session just stored, as a read of it would answer, without reading it back: the
    create is benchmarked. Its instructors' addresses are left out; only v1 shows them, and
    v1 reads sessions from storage."""
    return StoredSession(
        id=s.id,
        path_id=s.path_id,
        name=s.name,
        start_date=s.start_date,
        end_date=s.end_date,
        owner_group_id=s.owner_group_id,
        additional_information=s.additional_information,
        created_at=s.created_at,
        modified_at=s.created_at,
        instructor_mails=(),
        instructor_ids=s.instructor_ids,
        registration_request_validation=s.registration_request_validation,
        user_limit=s.user_limit,
        automatic_reenrollment=s.automatic_reenrollment,
        ip_filtering=s.ip_filtering,
        is_audience_builder=s.is_audience_builder,
        translations=s.translations,
        root_session_id=s.root_session_id,
    )


async def path_sessions_page(
    company: Company, db: Database, query: ListQuery, path_id: str
) -> Page[StoredSession]:
    path = await _session_path(company, db, path_id)
    return await store.sessions_page(db, company.id, query, path.id)


async def sessions_page(company: Company, db: Database, query: ListQuery) -> Page[StoredSession]:
    return await store.sessions_page(db, company.id, query)


async def find_path_session(
    company: Company, db: Database, path_id: str, session_id: str, *, lock: bool = False
) -> tuple[SessionPath, StoredSession]:
    """The checks every operation on one session of a path starts with, in their order."""
    path = await _session_path(company, db, path_id)
    session = await find_session(company, db, session_id, lock=lock)
    if session.path_id != path.id:
        raise DomainError(ErrorCode.SESSION_NOT_IN_PATH)
    return path, session


async def get_path_session(
    company: Company, db: Database, path_id: str, session_id: str
) -> StoredSession:
    return (await find_path_session(company, db, path_id, session_id))[1]


async def delete_path_session(
    company: Company, db: Database, clock: Clock, path_id: str, session_id: str
) -> None:
    """The session, its child sessions and its enrolments go."""
    async with announcing(db) as tx:
        _, session = await find_path_session(company, tx, path_id, session_id, lock=True)
        await store.delete_session(tx, company.id, session.id)
        if session.root_session_id is None:
            await emit(
                tx,
                company.id,
                EventKind.SESSION_REMOVED,
                session.path_id,
                session.id,
                clock.now_ms(),
                session.name,
            )


async def edit_path_session(
    company: Company, db: Database, clock: Clock, path_id: str, session_id: str, edit: SessionEdit
) -> StoredSession:
    """A partial edit, checked in order against the session as it would be after it.

    Read, checks and write are one transaction holding the session's row."""
    async with db.transaction() as tx:
        path, current = await find_path_session(company, tx, path_id, session_id, lock=True)
        if current.root_session_id is not None:
            raise DomainError(ErrorCode.CHILD_SESSION)
        now = clock.now_ms()
        if is_ended(current, now):
            locked = edit.end_date is not UNSET
            raise DomainError(ErrorCode.END_DATE_LOCKED if locked else ErrorCode.SESSION_ENDED)
        group: OwnerGroup | None = None
        if edit.group_id is not UNSET:
            group = await _find_group(company, tx, edit.group_id)
        instructors = await _edited_instructors(company, tx, current, edit)
        after = _edited(current, edit, now)
        _check_settings(
            path, after.start_date, after.end_date, edit.ip_filtering, edit.automatic_reenrollment
        )
        if after.registration_request_validation in MANAGER_OPTIONS:
            if group is None:
                group = await _find_group(company, tx, after.owner_group_id)
            _check_registration(after.registration_request_validation, group)
        if group is not None:
            after = replace(after, owner_group_id=group.id)
        await store.update_session(tx, company.id, after, instructors)
        if instructors is not None:
            await store.copy_instructors_to_children(tx, current.id, instructors, now)
    return await find_session(company, db, current.id)


async def _find_group(company: Company, db: Database, group_id: str) -> OwnerGroup:
    fetch = partial(ownership_store.owner_group, db, company.id)
    return await owned(group_id, fetch, ErrorCode.GROUP_NOT_FOUND)


async def _edited_instructors(
    company: Company, db: Database, current: StoredSession, edit: SessionEdit | ChildSessionEdit
) -> tuple[str, ...] | None:
    """The instructors after the edit, checked, or None when the edit names none."""
    if edit.main_instructor_id is UNSET and edit.instructor_ids is UNSET:
        return None
    given: tuple[str, ...] = ()
    main = current.instructor_ids[0] if current.instructor_ids else ""
    others = current.instructor_ids[1:]
    if not isinstance(edit.main_instructor_id, UnsetType):
        main = edit.main_instructor_id
        given += (main,)
    if not isinstance(edit.instructor_ids, UnsetType):
        others = edit.instructor_ids
        given += others
    await _check_users(company, db, tuple(dict.fromkeys(i.lower() for i in given)))
    return _instructors(main, others)


def _edited(current: StoredSession, edit: SessionEdit, now: int) -> StoredSession:
    """The session's fields as the edit leaves them (instructors apart)."""
    changed = {
        name: value
        for name in (
            "name",
            "start_date",
            "end_date",
            "registration_request_validation",
            "user_limit",
            "automatic_reenrollment",
            "ip_filtering",
            "additional_information",
        )
        if (value := getattr(edit, name)) is not UNSET
    }
    return replace(current, **changed, modified_at=now)


async def edit_child_session(
    company: Company,
    db: Database,
    clock: Clock,
    path_id: str,
    session_id: str,
    edit: ChildSessionEdit,
) -> StoredSession:
    async with db.transaction() as tx:
        _, current = await find_path_session(company, tx, path_id, session_id, lock=True)
        if current.root_session_id is None:
            raise DomainError(ErrorCode.ROOT_SESSION)
        now = clock.now_ms()
        if is_ended(current, now):
            raise DomainError(ErrorCode.SESSION_ENDED)
        instructors = await _edited_instructors(company, tx, current, edit)
        after = replace(current, modified_at=now)
        if edit.additional_information is not UNSET:
            after = replace(after, additional_information=edit.additional_information)
        await store.update_session(tx, company.id, after, instructors)
    return await find_session(company, db, current.id)
