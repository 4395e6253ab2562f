"""Operations on path sessions, version-neutral.

Each takes the company, the database and the clock, and raises `DomainError`; nothing is
written unless every check passes. An API version decides when its request body is read and
how: it hands the operation a `read` function, called at the point of its check order where
the body is read, with the `Lookups` that its parsing may interleave (a check that a group
exists, say). So the order of the checks is the version's, and the checks are the core's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec
from msgspec import UNSET, UnsetType
from msgspec.structs import replace

from ..storage import Database
from ..storage import directory as directory_store
from ..storage import ownership as ownership_store
from ..storage import sessions as store
from .clock import Clock
from .errors import DomainError, ErrorCode
from .ids import new_id
from .ipfilter import is_authorizable
from .listing import ListQuery, Page
from .model import (
    Company,
    IpFiltering,
    NewSession,
    OwnerGroup,
    Person,
    Reenrollment,
    SessionDetail,
    SessionPath,
    StoredSession,
)
from .values import is_object_id, is_running


class Lookups:
    """The checks against stored data that a version's parsing interleaves with its own,
    bound to one company and one database (or transaction)."""

    __slots__ = ("company", "db")

    def __init__(self, company: Company, db: Database) -> None:
        self.company = company
        self.db = db

    # `field` names the input checked, in the caller's terms, for the error it may raise.

    async def owner_group(self, group_id: str, field: str | None = None) -> str:
        if not await directory_store.group_exists(self.db, self.company.id, group_id):
            raise DomainError(ErrorCode.OWNER_GROUP_NOT_FOUND, field)
        return group_id

    async def instructors(self, mails: list[str], field: str | None = None) -> tuple[str, ...]:
        """The users with these addresses, in order; none given means the platform owner."""
        if not mails:
            if self.company.owner_user_id is None:
                # Companies are always created with an owner; a missing one is a data fault.
                raise RuntimeError(f"company {self.company.id} has no platform owner")
            return (self.company.owner_user_id,)
        found = await directory_store.member_ids_by_mail(self.db, self.company.id, mails)
        if len(found) != len(mails):
            raise DomainError(ErrorCode.INSTRUCTORS_NOT_FOUND, field)
        return tuple(found[mail] for mail in mails)

    async def users_by_mail(self, mails: list[str]) -> list[str]:
        """Distinct normalised addresses -> the ids of those users, all or USERS_NOT_FOUND."""
        found = await directory_store.member_ids_by_mail(self.db, self.company.id, mails)
        if len(found) != len(mails):
            raise DomainError(ErrorCode.USERS_NOT_FOUND)
        return [found[m] for m in mails]

    async def users_by_id(self, ids: list[str]) -> list[str]:
        """Distinct lower-case ids of users of the company, all or USERS_NOT_FOUND."""
        if len(await directory_store.member_ids(self.db, self.company.id, ids)) != len(ids):
            raise DomainError(ErrorCode.USERS_NOT_FOUND)
        return ids

    async def groups(self, ids: list[str]) -> list[str]:
        """Distinct lower-case ids of groups of the company, all or GROUPS_NOT_FOUND."""
        found = await directory_store.existing_group_ids(self.db, self.company.id, ids)
        if len(found) != len(ids):
            raise DomainError(ErrorCode.GROUPS_NOT_FOUND)
        return ids


class SessionFields(msgspec.Struct, frozen=True):
    """A new session's fields, checked: the owner group and instructors exist."""

    name: str
    start_date: int
    end_date: int | None
    owner_group_id: str
    instructor_ids: tuple[str, ...]
    additional_information: str | None


class SessionChanges(msgspec.Struct, frozen=True):
    """A session's main fields after an edit; `instructor_mails` None keeps the instructors."""

    name: str
    owner_group_id: str
    start_date: int
    end_date: int | None
    instructor_mails: list[str] | None
    additional_information: str | None


ReadFields = Callable[[Lookups], Awaitable[SessionFields]]
ReadChanges = Callable[[StoredSession], SessionChanges]
ReadIds = Callable[[Lookups], Awaitable[list[str]]]


async def find_path(company: Company, db: Database, path_id: str) -> str:
    """The company's path id, lower-cased, or PATH_NOT_FOUND (malformed and foreign ids too)."""
    if not is_object_id(path_id) or not await directory_store.path_exists(
        db, company.id, path_id.lower()
    ):
        raise DomainError(ErrorCode.PATH_NOT_FOUND)
    return path_id.lower()


async def draft_session(
    company: Company, db: Database, clock: Clock, path_id: str, read: ReadFields
) -> NewSession:
    """A new session checked and ready to store: the path first, then the body."""
    path_id = await find_path(company, db, path_id)
    fields = await read(Lookups(company, db))
    return NewSession(
        id=new_id(),
        company_id=company.id,
        path_id=path_id,
        name=fields.name,
        start_date=fields.start_date,
        end_date=fields.end_date,
        owner_group_id=fields.owner_group_id,
        instructor_ids=fields.instructor_ids,
        additional_information=fields.additional_information,
        created_at=clock.now_ms(),
    )


async def create_session(
    company: Company, db: Database, clock: Clock, path_id: str, read: ReadFields
) -> str:
    session = await draft_session(company, db, clock, path_id, read)
    await store.insert_session(db, session)
    return session.id


async def find_session(
    company: Company, db: Database, session_id: str, *, lock: bool = False
) -> StoredSession:
    """The company's session, or SESSION_NOT_FOUND (malformed and foreign ids too)."""
    session = None
    if is_object_id(session_id):
        session = await store.get_session(db, company.id, session_id.lower(), lock=lock)
    if session is None:
        raise DomainError(ErrorCode.SESSION_NOT_FOUND)
    return session


async def get_session(company: Company, db: Database, session_id: str) -> SessionDetail:
    return await _detail(company, db, await find_session(company, db, session_id))


async def _detail(company: Company, db: Database, session: StoredSession) -> SessionDetail:
    path = await directory_store.get_path(db, company.id, session.path_id)
    if path is None:  # sessions are deleted with their path
        raise RuntimeError(f"session {session.id} has no path")
    users = await store.enrolled_users(db, session.id)
    groups = await store.enrolled_groups(db, session.id)
    return SessionDetail(session, path, users, groups)


def list_sessions(company: Company, db: Database) -> AsyncIterator[list[StoredSession]]:
    return store.iter_sessions(db, company.id)


async def update_session(
    company: Company, db: Database, clock: Clock, session_id: str, read: ReadChanges
) -> SessionDetail:
    """Replace the main fields: the session, then the body, then the owner group and the
    instructors, then the date rules against the clock. Answers the session as it now is.

    Read, checks and write are one transaction holding the session's row: two concurrent
    updates apply one after the other, neither loses the other's fields."""
    async with db.transaction() as tx:
        current = await find_session(company, tx, session_id, lock=True)
        changes = read(current)
        lookups = Lookups(company, tx)
        group_id = await lookups.owner_group(changes.owner_group_id)
        mails = changes.instructor_mails
        instructor_ids = None if mails is None else await lookups.instructors(mails)
        now = clock.now_ms()
        await _check_dates(tx, current, changes.start_date, changes.end_date, now)
        updated = replace(
            current,
            name=changes.name,
            owner_group_id=group_id,
            start_date=changes.start_date,
            end_date=changes.end_date,
            additional_information=changes.additional_information,
            modified_at=now,
        )
        await store.update_session(tx, company.id, updated, instructor_ids)
    return await get_session(company, db, current.id)


async def _check_dates(
    db: Database, current: StoredSession, start: int, end: int | None, now: int
) -> None:
    """The rules on dates, in order; the rules on the past apply only to a changed date."""
    if (
        start != current.start_date
        and is_running(current.start_date, current.end_date, now)
        and await store.has_enrolled_learners(db, current.id)
    ):
        raise DomainError(ErrorCode.START_LOCKED_WHILE_RUNNING)
    if start != current.start_date and start < now:
        raise DomainError(ErrorCode.START_IN_PAST)
    if end != current.end_date and end is not None and end < now:
        raise DomainError(ErrorCode.END_IN_PAST)
    if end is not None and end < start:
        raise DomainError(ErrorCode.END_BEFORE_START)


async def delete_session(company: Company, db: Database, session_id: str) -> None:
    session = await find_session(company, db, session_id)
    if not await store.delete_session(db, company.id, session.id):
        raise DomainError(ErrorCode.SESSION_NOT_FOUND)  # deleted meanwhile by another request


async def enrolled_users(company: Company, db: Database, session_id: str) -> list[Person]:
    session = await find_session(company, db, session_id)
    return await store.enrolled_users(db, session.id)


# Each enrolment change is one transaction holding the session's row: a concurrent delete
# waits, instead of leaving enrolments that point at nothing.


async def enrol_users(
    company: Company, db: Database, clock: Clock, session_id: str, read: ReadIds
) -> None:
    async with db.transaction() as tx:
        session = await find_session(company, tx, session_id, lock=True)
        user_ids = await read(Lookups(company, tx))
        await store.enrol_users(tx, session.id, user_ids, clock.now_ms())


async def unenrol_users(company: Company, db: Database, session_id: str, read: ReadIds) -> None:
    async with db.transaction() as tx:
        session = await find_session(company, tx, session_id, lock=True)
        await store.unenrol_users(tx, session.id, await read(Lookups(company, tx)))


async def enrol_groups(
    company: Company, db: Database, clock: Clock, session_id: str, read: ReadIds
) -> None:
    async with db.transaction() as tx:
        session = await find_session(company, tx, session_id, lock=True)
        group_ids = await read(Lookups(company, tx))
        await store.enrol_groups(tx, session.id, group_ids, clock.now_ms())


async def unenrol_groups(company: Company, db: Database, session_id: str, read: ReadIds) -> None:
    async with db.transaction() as tx:
        session = await find_session(company, tx, session_id, lock=True)
        await store.unenrol_groups(tx, session.id, await read(Lookups(company, tx)))


# --- Sessions with their settings ---------------------------------------------------------
#
# The operations below take the whole input, already shaped: a version that speaks of
# instructors by id and of the settings (registration validation, user limit, re-enrolment,
# IP filtering) parses its body first, then the rules run in their order.

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
    path = None
    if is_object_id(path_id):
        path = await ownership_store.session_path(db, company.id, path_id.lower())
    if path is None:
        raise DomainError(ErrorCode.PATH_NOT_FOUND)
    return path


async def _check_users(company: Company, db: Database, user_ids: tuple[str, ...]) -> None:
    if len(await directory_store.member_ids(db, company.id, user_ids)) != len(user_ids):
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
    await store.insert_session(db, session)
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
    company: Company, db: Database, path_id: str, session_id: str
) -> None:
    """The session, its child sessions and its enrolments go."""
    async with db.transaction() as tx:
        _, session = await find_path_session(company, tx, path_id, session_id, lock=True)
        await store.delete_session(tx, company.id, session.id)


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
    group = None
    if is_object_id(group_id):
        group = await ownership_store.owner_group(db, company.id, group_id.lower())
    if group is None:
        raise DomainError(ErrorCode.GROUP_NOT_FOUND)
    return group


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
