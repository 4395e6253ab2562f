"""Who is enrolled in a session: v1's enrol and unenrol operations, v2's list of a path's
enrollments and the archiving of a self-enrollment.

Both versions write the same enrollments: enrolling publishes one (a learner enrolled before
gets theirs back), unenrolling archives it. On an audience-builder session, v1's writes also
change the audience, so that applying it later (a PUT, or a dynamic audience following group
membership) keeps what v1 did:

- enrolling users adds them to the `users` filter and takes them out of `excludedLearners`;
- unenrolling users takes them out of `users`, and adds to `excludedLearners` those the
  audience would still include through a group;
- enrolling groups records them as v1 always has (v1's read lists them), adds them to the
  `groups` filter and enrols their members now, whatever the mode (v1 asked to enrol them);
- unenrolling groups removes the record and the ids from `groups`, and archives the
  enrollments of the learners the audience no longer includes (self-enrollments excepted).

On any other session, v1's group enrolment records the group only, as it always has: its
members get no enrollment. v1 writes are accepted on an ended session, as they always were.

Each change is one transaction holding the session's row: a concurrent delete waits, instead
of leaving enrollments that point at nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from ..storage import Database, enrollments
from ..storage import audiences as audience_store
from ..storage import sessions as store
from . import audiences
from .audiences import EXCLUDED, GROUPS, USERS
from .clock import Clock
from .errors import DomainError, ErrorCode
from .events import announcing
from .listing import ListQuery, Page
from .lookups import Lookups, find_path, find_session
from .model import Audience, AudienceFilter, Company, Enrollment, StoredSession
from .path_sessions import find_path_session, is_ended

ReadIds = Callable[[Lookups], Awaitable[list[str]]]


def _follows(session: StoredSession) -> bool:
    """Whether v1's writes on the session change its audience too."""
    return session.is_audience_builder and session.root_session_id is None


def _with_filter(audience: Audience, kind: str, ids: Iterable[str]) -> Audience:
    """The audience with the filter of `kind` holding `ids` (the filter dropped when empty),
    kept in its place, or added after the others."""
    ids = tuple(dict.fromkeys(ids))
    filters: list[AudienceFilter] = []
    placed = False
    for f in audience.filters:
        if f.type == kind:
            placed = True
            if ids:
                filters.append(AudienceFilter(kind, ids))
        else:
            filters.append(f)
    if not placed and ids:
        filters.append(AudienceFilter(kind, ids))
    return Audience(audience.mode, tuple(filters))


async def enrol_users(
    company: Company, db: Database, clock: Clock, session_id: str, read: ReadIds
) -> None:
    async with announcing(db) as tx:
        session = await find_session(company, tx, session_id, lock=True)
        user_ids = await read(Lookups(company, tx))
        now = clock.now_ms()
        added = await enrollments.publish(
            tx, company.id, session.path_id, session.id, user_ids, now
        )
        if _follows(session) and user_ids:
            audience = await audiences.stored(tx, session.id)
            given = set(user_ids)
            audience = _with_filter(audience, USERS, (*audience.ids(USERS), *user_ids))
            kept = [i for i in audience.ids(EXCLUDED) if i not in given]
            audience = _with_filter(audience, EXCLUDED, kept)
            await audience_store.put(tx, company.id, session.id, audience, now)
        await audiences.record(tx, company.id, session, now, added=bool(added), archived=False)


async def unenrol_users(
    company: Company, db: Database, clock: Clock, session_id: str, read: ReadIds
) -> None:
    async with announcing(db) as tx:
        session = await find_session(company, tx, session_id, lock=True)
        user_ids = await read(Lookups(company, tx))
        now = clock.now_ms()
        archived = await enrollments.archive(tx, session.id, user_ids, now)
        if _follows(session) and user_ids:
            audience = await audiences.stored(tx, session.id)
            given = set(user_ids)
            kept = [i for i in audience.ids(USERS) if i not in given]
            audience = _with_filter(audience, USERS, kept)
            still = await audience_store.included(tx, company.id, audience) & given
            excluded = (*audience.ids(EXCLUDED), *(i for i in user_ids if i in still))
            audience = _with_filter(audience, EXCLUDED, excluded)
            await audience_store.put(tx, company.id, session.id, audience, now)
        await audiences.record(tx, company.id, session, now, added=False, archived=archived > 0)


async def enrol_groups(
    company: Company, db: Database, clock: Clock, session_id: str, read: ReadIds
) -> None:
    async with announcing(db) as tx:
        session = await find_session(company, tx, session_id, lock=True)
        group_ids = await read(Lookups(company, tx))
        now = clock.now_ms()
        await store.enrol_groups(tx, session.id, group_ids, now)
        if _follows(session) and group_ids:
            audience = await audiences.stored(tx, session.id)
            audience = _with_filter(audience, GROUPS, (*audience.ids(GROUPS), *group_ids))
            await audience_store.put(tx, company.id, session.id, audience, now)
            await audiences.apply(tx, company.id, session, audience, now, archive=False)


async def unenrol_groups(
    company: Company, db: Database, clock: Clock, session_id: str, read: ReadIds
) -> None:
    async with announcing(db) as tx:
        session = await find_session(company, tx, session_id, lock=True)
        group_ids = await read(Lookups(company, tx))
        await store.unenrol_groups(tx, session.id, group_ids)
        if _follows(session) and group_ids:
            now = clock.now_ms()
            audience = await audiences.stored(tx, session.id)
            gone = set(group_ids)
            kept = [i for i in audience.ids(GROUPS) if i not in gone]
            audience = _with_filter(audience, GROUPS, kept)
            await audience_store.put(tx, company.id, session.id, audience, now)
            await audiences.apply(tx, company.id, session, audience, now, add=False)


async def path_enrollments_page(
    company: Company, db: Database, query: ListQuery, path_id: str
) -> Page[Enrollment]:
    """A page of the path's enrollments, published and archived, of every session."""
    path = await find_path(company, db, path_id)
    return await enrollments.path_page(db, company.id, path, query)


async def archive_self_enrollment(
    company: Company, db: Database, clock: Clock, path_id: str, session_id: str, user_id: str
) -> None:
    """Archive a learner's self-enrollment. A malformed or unknown user id, or another
    company's, is a learner not enrolled."""
    async with announcing(db) as tx:
        _, session = await find_path_session(company, tx, path_id, session_id, lock=True)
        if session.root_session_id is not None:
            raise DomainError(ErrorCode.CHILD_SESSION)
        now = clock.now_ms()
        if is_ended(session, now):
            raise DomainError(ErrorCode.SESSION_ENDED)
        found = await enrollments.of_user(tx, session.id, user_id.lower())
        if found is None or found.status != "published":
            raise DomainError(ErrorCode.LEARNER_NOT_ENROLLED)
        if not found.self_enrolled:
            raise DomainError(ErrorCode.LEARNER_NOT_SELF_ENROLLED)
        await enrollments.archive(tx, session.id, [found.user_id], now)
        await audiences.record(tx, company.id, session, now, added=False, archived=True)
