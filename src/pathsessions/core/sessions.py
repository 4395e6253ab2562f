"""Operations on path sessions, version-neutral.

Each takes the company, the database and the clock, and raises `DomainError`; nothing is
written unless every check passes. An API version decides when its request body is read and
how: it hands the operation a `read` function, called at the point of its check order where
the body is read, with the `Lookups` that its parsing may interleave (a check that a group
exists, say). So the order of the checks is the version's, and the checks are the core's.
"""

from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec
from msgspec.structs import replace

from ..storage import Database
from ..storage import paths as path_store
from ..storage import sessions as store
from .clock import Clock
from .errors import DomainError, ErrorCode
from .events import EventKind, add_session, announcing, emit
from .ids import new_id
from .listing import ListedSessions
from .lookups import Lookups, find_path, find_session
from .model import Company, NewSession, Person, SessionDetail, StoredSession
from .values import is_running


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
    await add_session(db, company.id, session)
    return session.id


async def get_session(company: Company, db: Database, session_id: str) -> SessionDetail:
    return await _detail(company, db, await find_session(company, db, session_id))


async def _detail(company: Company, db: Database, session: StoredSession) -> SessionDetail:
    path = await path_store.get_path(db, company.id, session.path_id)
    if path is None:  # sessions are deleted with their path
        raise RuntimeError(f"session {session.id} has no path")
    users = await store.enrolled_users(db, session.id)
    groups = await store.enrolled_groups(db, session.id)
    return SessionDetail(session, path, users, groups)


def list_sessions(company: Company, db: Database) -> AsyncIterator[ListedSessions]:
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


async def delete_session(company: Company, db: Database, clock: Clock, session_id: str) -> None:
    async with announcing(db) as tx:
        session = await find_session(company, tx, session_id, lock=True)
        if not await store.delete_session(tx, company.id, session.id):
            raise DomainError(ErrorCode.SESSION_NOT_FOUND)  # deleted meanwhile by another request
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


async def enrolled_users(company: Company, db: Database, session_id: str) -> list[Person]:
    session = await find_session(company, db, session_id)
    return await store.enrolled_users(db, session.id)
