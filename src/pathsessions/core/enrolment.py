"""Enrolling users and groups in a session, and unenrolling them (v1's operations).

Each change is one transaction holding the session's row: a concurrent delete waits, instead
of leaving enrolments that point at nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ..storage import Database, enrollments
from ..storage import sessions as store
from .clock import Clock
from .events import EventKind, emit
from .lookups import Lookups, find_session
from .model import Company

ReadIds = Callable[[Lookups], Awaitable[list[str]]]


async def enrol_users(
    company: Company, db: Database, clock: Clock, session_id: str, read: ReadIds
) -> None:
    async with db.transaction() as tx:
        session = await find_session(company, tx, session_id, lock=True)
        user_ids = await read(Lookups(company, tx))
        now = clock.now_ms()
        added = await enrollments.publish(
            tx, company.id, session.path_id, session.id, user_ids, now
        )
        if added and session.root_session_id is None:
            await emit(tx, company.id, EventKind.USERS_ENROLLED, session.path_id, session.id, now)


async def unenrol_users(
    company: Company, db: Database, clock: Clock, session_id: str, read: ReadIds
) -> None:
    async with db.transaction() as tx:
        session = await find_session(company, tx, session_id, lock=True)
        now = clock.now_ms()
        archived = await enrollments.archive(tx, session.id, await read(Lookups(company, tx)), now)
        if archived and session.root_session_id is None:
            await emit(tx, company.id, EventKind.USERS_UNENROLLED, session.path_id, session.id, now)


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
