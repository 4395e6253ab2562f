"""Audiences (v2 §5): whom an audience-builder session enrols, and its enrollments kept in
step with it.

An audience is up to three filters (`users`, `groups`, `excludedLearners`, one of each type)
and a mode. It includes the users of `users` and the members (any role) of the groups of
`groups` and of their sub-groups, minus `excludedLearners`, minus deleted users. Applying an
audience publishes an enrollment for each learner it includes who has none, and archives the
enrollments of learners it no longer includes; `dynamicEnrollment` never archives and
`dynamicUnenrollment` never adds. Self-enrollments are the learners' own: an audience never
archives them.

A PUT applies the audience at once, whatever its mode. Afterwards, the `dynamic*` modes follow
changes of group membership (`follow_memberships`, which the fixture loader and the sandbox
call after they change roles or users); `manual` does not.
"""

from __future__ import annotations

from ..storage import Database, enrollments
from ..storage import audiences as store
from ..storage import groups as group_store
from ..storage import sessions as session_store
from .clock import Clock
from .errors import DomainError, ErrorCode
from .events import EventKind, announcing, emit
from .model import Audience, AudienceFilter, Company, StoredSession
from .path_sessions import find_path_session, is_ended

MODES = ("dynamic", "dynamicEnrollment", "dynamicUnenrollment", "manual")
USERS, GROUPS, EXCLUDED = "users", "groups", "excludedLearners"
FILTER_TYPES = (USERS, GROUPS, EXCLUDED)
# The most ids one filter of each type holds [doc], and the most filters.
MAX_IDS = {USERS: 20_000, GROUPS: 5_000, EXCLUDED: 20_000}
MAX_FILTERS = 3
# A session made audience-builder without an audience given has this one.
DEFAULT = Audience("manual", ())

_ADDS = frozenset({"dynamic", "dynamicEnrollment", "manual"})
_ARCHIVES = frozenset({"dynamic", "dynamicUnenrollment", "manual"})


def normalized(audience: Audience) -> Audience:
    """Ids lower-cased, each once per filter, in the order given."""
    return Audience(
        audience.mode,
        tuple(
            AudienceFilter(f.type, tuple(dict.fromkeys(i.lower() for i in f.ids)))
            for f in audience.filters
        ),
    )


async def stored(db: Database, session_id: str) -> Audience:
    return await store.get(db, session_id) or DEFAULT


async def check(company: Company, db: Database, audience: Audience) -> None:
    """The rules on an audience's content, in order: one filter per type, then the users
    (of `users` and `excludedLearners`), then the groups, of the company."""
    types = [f.type for f in audience.filters]
    if len(set(types)) != len(types):
        raise DomainError(ErrorCode.INVALID_AUDIENCE_SHAPE)
    users = tuple(dict.fromkeys((*audience.ids(USERS), *audience.ids(EXCLUDED))))
    # Deleted users are accepted (and never enrolled): an audience read back can be put back
    # after one of its users was deleted.
    if users and len(await store.known_users(db, company.id, users)) != len(users):
        raise DomainError(ErrorCode.USERS_NOT_FOUND)
    groups = audience.ids(GROUPS)
    if groups and len(await group_store.existing_group_ids(db, company.id, groups)) != len(groups):
        raise DomainError(ErrorCode.GROUPS_NOT_FOUND)


async def get_audience(company: Company, db: Database, path_id: str, session_id: str) -> Audience:
    _, session = await find_path_session(company, db, path_id, session_id)
    if not session.is_audience_builder:
        raise DomainError(ErrorCode.NOT_AUDIENCE_BUILDER)
    return await stored(db, session.id)


async def put_audience(
    company: Company,
    db: Database,
    clock: Clock,
    path_id: str,
    session_id: str,
    audience: Audience,
) -> Audience:
    """Replace the session's audience and apply it; answer it as stored."""
    audience = normalized(audience)
    async with announcing(db) as tx:
        path, session = await find_path_session(company, tx, path_id, session_id, lock=True)
        if not session.is_audience_builder:
            raise DomainError(ErrorCode.NOT_AUDIENCE_BUILDER)
        if path.status == "archived":
            raise DomainError(ErrorCode.PATH_ARCHIVED)
        if session.root_session_id is not None:
            raise DomainError(ErrorCode.CHILD_SESSION)
        now = clock.now_ms()
        if is_ended(session, now):
            raise DomainError(ErrorCode.SESSION_ENDED)
        await check(company, tx, audience)
        await store.put(tx, company.id, session.id, audience, now)
        await apply(
            tx,
            company.id,
            session,
            audience,
            now,
            add=audience.mode in _ADDS,
            archive=audience.mode in _ARCHIVES,
        )
    return audience


async def apply(
    tx: Database,
    company_id: str,
    session: StoredSession,
    audience: Audience,
    now: int,
    *,
    add: bool = True,
    archive: bool = True,
) -> tuple[list[str], list[str]]:
    """Bring the session's enrollments in step with the audience: publish those of the
    learners it includes (with `add`), archive those of learners it does not (with `archive`;
    never self-enrollments). Record the events. Answer (added, archived) user ids. Call inside
    a transaction holding the session."""
    target = await store.included(tx, company_id, audience)
    current = await enrollments.published(tx, session.id)
    added: list[str] = []
    archived: list[str] = []
    if add:
        missing = sorted(target - set(current))
        added = await enrollments.publish(tx, company_id, session.path_id, session.id, missing, now)
    if archive:
        archived = sorted(u for u, own in current.items() if not own and u not in target)
        await enrollments.archive(tx, session.id, archived, now)
    await record(tx, company_id, session, now, added=bool(added), archived=bool(archived))
    return added, archived


async def record(
    tx: Database,
    company_id: str,
    session: StoredSession,
    now: int,
    *,
    added: bool,
    archived: bool,
) -> None:
    """The events of an enrolment write: learners enrolled, learners unenrolled (never for a
    child session)."""
    await record_of(
        tx, company_id, session.path_id, session.id, session.root_session_id, now, added, archived
    )


async def record_of(
    tx: Database,
    company_id: str,
    path_id: str,
    session_id: str,
    root_session_id: str | None,
    now: int,
    added: bool,
    archived: bool,
) -> None:
    """`record`, for a session known by its ids (the fixture loader's bulk writes)."""
    if root_session_id is not None:
        return
    if added:
        await emit(tx, company_id, EventKind.USERS_ENROLLED, path_id, session_id, now)
    if archived:
        await emit(tx, company_id, EventKind.USERS_UNENROLLED, path_id, session_id, now)


async def follow_memberships(
    tx: Database, company_id: str, now: int, group_ids: list[str] | None = None
) -> None:
    """After group memberships (roles) or users changed: the company's audiences in a
    `dynamic*` mode follow, by their mode's rules, on root sessions not ended at `now`. With
    `group_ids`, only the audiences naming one of those groups or a group above them; without,
    every one (a user deleted or restored concerns them all). Call inside the transaction of
    the change."""
    audiences = await store.dynamic(tx, company_id)
    if not audiences:
        return
    concerned: set[str] | None = None
    if group_ids is not None:
        concerned = await store.with_ancestors(tx, company_id, group_ids)
    for session_id, audience in audiences:
        if concerned is not None and not concerned.intersection(audience.ids(GROUPS)):
            continue
        session = await session_store.get_session(tx, company_id, session_id, lock=True)
        if (
            session is None
            or not session.is_audience_builder
            or session.root_session_id is not None
            or is_ended(session, now)
        ):
            continue
        await apply(
            tx,
            company_id,
            session,
            audience,
            now,
            add=audience.mode in _ADDS,
            archive=audience.mode in _ARCHIVES,
        )
