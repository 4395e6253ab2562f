"""Path sessions: read one, stream all, insert, replace, delete, enrol.

The queries that name a session by id alone (instructors, enrolments) are for a session the
caller has already found in its company with `get_session`; every other one names the company.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import msgspec

from ..core.listing import LISTED_COLUMNS, ListedSessions, ListQuery, Page
from ..core.model import (
    Group,
    IpFiltering,
    NewSession,
    Person,
    Reenrollment,
    SessionTranslation,
    StoredSession,
)
from .database import SESSION_SLICE, Database, Row, keyset_batches, slices, stream_batch
from .listing import fetch_page

_COLUMNS = (
    "s.id, s.path_id, s.name, s.start_date, s.end_date, s.owner_group_id,"
    " s.additional_information, s.created_at, s.modified_at,"
    " s.registration_request_validation, s.user_limit, s.automatic_reenrollment,"
    " s.ip_filtering, s.is_audience_builder, s.translations, s.root_session_id"
)

_encode = msgspec.json.Encoder().encode
_reenrollment = msgspec.json.Decoder(Reenrollment)
_ip_filtering = msgspec.json.Decoder(IpFiltering)
_translations = msgspec.json.Decoder(tuple[SessionTranslation, ...])


def _json(value: object) -> str | None:
    return None if value is None else _encode(value).decode()


Instructors = dict[str, tuple[list[str], list[str]]]


async def _instructors(db: Database, session_ids: Sequence[str]) -> Instructors:
    """Session id -> its instructors' ids and e-mail addresses, in order."""
    rows = await db.fetchall(
        "SELECT si.session_id, u.id, u.mail FROM session_instructors si"
        " JOIN users u ON u.id = si.user_id WHERE "
        + db.any_of("si.session_id")
        + " ORDER BY si.session_id, si.position",
        db.array(session_ids),
    )
    found: Instructors = {}
    for session_id, user_id, mail in rows:
        ids, mails = found.setdefault(session_id, ([], []))
        ids.append(user_id)
        mails.append(mail)
    return found


_NONE: tuple[list[str], list[str]] = ([], [])


# `_session` builds the record by position, five times faster than by keyword (a list builds
# millions): the fields must be in this order, which this checks once, at import.
_FIELDS = (
    "id", "path_id", "name", "start_date", "end_date", "owner_group_id",
    "additional_information", "created_at", "modified_at", "instructor_mails", "instructor_ids",
    "registration_request_validation", "user_limit", "automatic_reenrollment", "ip_filtering",
    "is_audience_builder", "translations", "root_session_id",
)  # fmt: skip
if StoredSession.__struct_fields__ != _FIELDS:
    raise ImportError(f"StoredSession's fields changed: {StoredSession.__struct_fields__}")


def _session(row: Row, instructors: Instructors) -> StoredSession:
    # The date and limit columns are BIGINT/INTEGER: both backends answer Python ints.
    ids, mails = instructors.get(row[0], _NONE)
    translations = row[14]
    return StoredSession(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        row[8],
        tuple(mails),
        tuple(ids),
        row[9],
        row[10],
        None if row[11] is None else _reenrollment.decode(row[11]),
        None if row[12] is None else _ip_filtering.decode(row[12]),
        bool(row[13]),
        () if translations == "[]" else _translations.decode(translations),
        row[15],
    )


_INSTRUCTOR_JOIN = (
    "FROM session_instructors si JOIN users u ON u.id = si.user_id"
    " WHERE si.session_id = s.id ORDER BY si.position"
)
# A session with its instructors' ids and addresses in order, as `_instructors` reads them.
_WITH_INSTRUCTORS = (
    f"SELECT {_COLUMNS}, ARRAY(SELECT u.id {_INSTRUCTOR_JOIN}),"
    f" ARRAY(SELECT u.mail {_INSTRUCTOR_JOIN})"
    " FROM path_sessions s WHERE s.id = ? AND s.company_id = ?"
)


async def get_session(
    db: Database, company_id: str, session_id: str, *, lock: bool = False
) -> StoredSession | None:
    """With `lock` (inside a transaction), no other writer touches the session until it ends."""
    if db.dialect == "postgresql" and not lock:
        # One round trip instead of two: on PostgreSQL each costs more than the query.
        row = await db.fetchone(_WITH_INSTRUCTORS, session_id, company_id)
        if row is None:
            return None
        return _session(row, {session_id: (list(row[16]), list(row[17]))})
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM path_sessions s WHERE s.id = ? AND s.company_id = ?"
        + (db.for_update() if lock else ""),
        session_id,
        company_id,
    )
    if row is None:
        return None
    return _session(row, await _instructors(db, [session_id]))


_LISTED = (
    f"SELECT {', '.join(LISTED_COLUMNS)} FROM path_sessions"
    " WHERE company_id = ? AND id > ? ORDER BY id"
)


async def iter_sessions(
    db: Database, company_id: str, batch: int | None = None
) -> AsyncIterator[ListedSessions]:
    """Every session of the company in id order, `slices` at a time: memory stays flat, and
    each slice holds the event loop briefly (storage/database.py, `SESSION_SLICE`).

    Rows of `LISTED_COLUMNS` alone, handed on as read: no record object per session.
    Instructors come by id from `session_instructors` alone, their e-mail addresses from a
    cache of the list's own (`_Mails`): the join to `users` for every batch was a third of a
    list's cost, for the same few instructors again and again."""
    mails = _Mails()
    size = stream_batch(db, SESSION_SLICE) if batch is None else batch
    async for rows in keyset_batches(db, _LISTED, company_id, size, sliced=False):
        instructors = await _listed_instructors(db, [row[0] for row in rows], mails)
        for part in slices(rows, SESSION_SLICE):
            yield ListedSessions(part, instructors)


# The most addresses a list keeps; beyond, it starts again (memory stays flat for a company of
# any size: a million instructors would otherwise all be kept to the end).
MAIL_CACHE = 20_000


class _Mails:
    """User id -> e-mail address, for one streamed list. An address changed while the list
    streams may show its old value in later items: a list is not a snapshot anyway (sessions
    written meanwhile may or may not be in it)."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}

    async def fill(self, db: Database, user_ids: set[str]) -> None:
        missing = [user_id for user_id in user_ids if user_id not in self.known]
        if not missing:
            return
        if len(self.known) + len(missing) > MAIL_CACHE:
            self.known.clear()
            missing = list(user_ids)
        rows = await db.fetchall(
            "SELECT id, mail FROM users WHERE " + db.any_of("id"), db.array(missing)
        )
        self.known.update((row[0], row[1]) for row in rows)


def _in(db: Database, column: str, count: int) -> str:
    """`column` among `count` values: SQLite plans a list of parameters better than a JSON
    array (`any_of`); PostgreSQL takes one array."""
    if db.dialect == "sqlite":
        return f"{column} IN ({','.join('?' * count)})"
    return db.any_of(column)


# Instructor rows a streamed list reads per session of a batch by the range of the batch's ids,
# at most; past it, by the ids themselves (below).
RANGE_ROWS = 4


async def _listed_instructors(
    db: Database, session_ids: list[str], mails: _Mails
) -> dict[str, list[str]]:
    """Session id -> its instructors' addresses in order; sessions without any are absent.

    The batch's ids are consecutive in the company's id order, so its instructors are read by
    the range from its first id to its last, in the index's order: a third cheaper than
    looking each id up. The range may hold other companies' sessions too (ids are global),
    whose rows are left out; should it hold many (a small company among large ones, or
    sessions of many instructors), the read stops at `RANGE_ROWS` rows a session and the
    batch's ids are looked up one by one instead, so that a batch never reads much more than
    its own."""
    limit = RANGE_ROWS * len(session_ids)
    rows = await db.fetchall(
        "SELECT session_id, user_id FROM session_instructors"
        " WHERE session_id >= ? AND session_id <= ? ORDER BY session_id, position LIMIT ?",
        session_ids[0],
        session_ids[-1],
        limit,
    )
    if len(rows) < limit:
        batch = set(session_ids)
        rows = [row for row in rows if row[0] in batch]
    else:
        args: list[object] = (
            list(session_ids) if db.dialect == "sqlite" else [db.array(session_ids)]
        )
        rows = await db.fetchall(
            "SELECT session_id, user_id FROM session_instructors WHERE "
            + _in(db, "session_id", len(session_ids))
            + " ORDER BY session_id, position",
            *args,
        )
    await mails.fill(db, {row[1] for row in rows})
    known = mails.known
    found: dict[str, list[str]] = {}
    for session_id, user_id in rows:
        mail = known.get(user_id)
        if mail is None:  # as the join did: an instructor without a user is not listed
            continue
        addresses = found.get(session_id)
        if addresses is None:
            found[session_id] = [mail]
        else:
            addresses.append(mail)
    return found


async def _sessions(db: Database, rows: list[Row]) -> list[StoredSession]:
    if not rows:
        return []
    instructors = await _instructors(db, [row[0] for row in rows])
    return [_session(row, instructors) for row in rows]


# The list filters of sessions, on their columns.
_FILTERED = {
    "createdAt": "s.created_at",
    "modifiedAt": "s.modified_at",
    "startDate": "s.start_date",
    "endDate": "s.end_date",
    "sessionId": "s.id",
    "pathId": "s.path_id",
}


async def sessions_page(
    db: Database, company_id: str, query: ListQuery, path_id: str | None = None
) -> Page[StoredSession]:
    """A page of the company's sessions, or of one path's, in id order."""
    select = f"SELECT {_COLUMNS} FROM path_sessions s WHERE s.company_id = ?"
    args = [company_id]
    if path_id is not None:
        select += " AND s.path_id = ?"
        args.append(path_id)
    page = await fetch_page(db, select, args, query, _FILTERED, lambda row: row, "s.id")
    return Page(await _sessions(db, list(page.items)), page.next_after)


async def enrolled_users(db: Database, session_id: str) -> list[Person]:
    """Directly enrolled users; a user deleted since no longer belongs to the company."""
    rows = await db.fetchall(
        "SELECT u.id, u.mail, u.first_name, u.last_name FROM session_users su"
        " JOIN users u ON u.id = su.user_id WHERE su.session_id = ? AND su.status = 'published'"
        " AND u.status <> 'deleted' ORDER BY su.enrolled_at, u.id",
        session_id,
    )
    return [Person(*row) for row in rows]


async def enrolled_groups(db: Database, session_id: str) -> list[Group]:
    rows = await db.fetchall(
        "SELECT g.id, g.name, g.public, g.parent_id FROM session_groups sg"
        " JOIN company_groups g ON g.id = sg.group_id"
        " WHERE sg.session_id = ? ORDER BY sg.enrolled_at, g.id",
        session_id,
    )
    return [Group(row[0], row[1], bool(row[2]), row[3]) for row in rows]


async def has_enrolled_learners(db: Database, session_id: str) -> bool:
    row = await db.fetchone(
        "SELECT 1 WHERE EXISTS (SELECT 1 FROM session_users su JOIN users u"
        " ON u.id = su.user_id WHERE su.session_id = ? AND su.status = 'published'"
        " AND u.status <> 'deleted')"
        " OR EXISTS (SELECT 1 FROM session_groups sg JOIN user_roles r"
        " ON r.group_id = sg.group_id JOIN users u ON u.id = r.user_id"
        " WHERE sg.session_id = ? AND u.status <> 'deleted')",
        session_id,
        session_id,
    )
    return row is not None


async def update_session(
    db: Database,
    company_id: str,
    session: StoredSession,
    instructor_ids: Sequence[str] | None,
) -> None:
    """Overwrite the session's fields; the instructors too when `instructor_ids` is given."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE path_sessions SET name = ?, start_date = ?, end_date = ?,"
            " owner_group_id = ?, additional_information = ?, modified_at = ?,"
            " registration_request_validation = ?, user_limit = ?, automatic_reenrollment = ?,"
            " ip_filtering = ? WHERE id = ? AND company_id = ?",
            session.name,
            session.start_date,
            session.end_date,
            session.owner_group_id,
            session.additional_information,
            session.modified_at,
            session.registration_request_validation,
            session.user_limit,
            _json(session.automatic_reenrollment),
            _json(session.ip_filtering),
            session.id,
            company_id,
        )
        if instructor_ids is not None:
            await set_instructors(tx, session.id, instructor_ids, replace=True)


async def copy_instructors_to_children(
    db: Database, root_id: str, instructor_ids: Sequence[str], now: int
) -> None:
    """A root session's instructors become its child sessions' too. Call inside a
    transaction."""
    children = "SELECT id FROM path_sessions WHERE root_session_id = ?"
    await db.execute(f"DELETE FROM session_instructors WHERE session_id IN ({children})", root_id)
    await db.executemany(
        "INSERT INTO session_instructors (session_id, position, user_id)"
        " SELECT id, ?, ? FROM path_sessions WHERE root_session_id = ?",
        [(i, user_id, root_id) for i, user_id in enumerate(instructor_ids)],
    )
    await db.execute(
        "UPDATE path_sessions SET modified_at = ? WHERE root_session_id = ?", now, root_id
    )


async def delete_session(db: Database, company_id: str, session_id: str) -> bool:
    changed = await db.execute(
        "DELETE FROM path_sessions WHERE id = ? AND company_id = ?", session_id, company_id
    )
    return changed > 0


async def enrol_groups(db: Database, session_id: str, group_ids: Sequence[str], now: int) -> None:
    await db.executemany(
        "INSERT INTO session_groups (session_id, group_id, enrolled_at) VALUES (?, ?, ?)"
        " ON CONFLICT (session_id, group_id) DO NOTHING",
        [(session_id, group_id, now) for group_id in group_ids],
    )


async def unenrol_groups(db: Database, session_id: str, group_ids: Sequence[str]) -> None:
    await db.execute(
        "DELETE FROM session_groups WHERE session_id = ? AND " + db.any_of("group_id"),
        session_id,
        db.array(group_ids),
    )


_WRITTEN = (
    "path_id, name, start_date, end_date, owner_group_id, additional_information,"
    " registration_request_validation, user_limit, automatic_reenrollment, ip_filtering,"
    " is_audience_builder, translations, root_session_id"
)


def _written(s: NewSession) -> tuple[object, ...]:
    """The values of `_WRITTEN`, in its order."""
    return (
        s.path_id,
        s.name,
        s.start_date,
        s.end_date,
        s.owner_group_id,
        s.additional_information,
        s.registration_request_validation,
        s.user_limit,
        _json(s.automatic_reenrollment),
        _json(s.ip_filtering),
        s.is_audience_builder,
        _encode(s.translations).decode(),
        s.root_session_id,
    )


async def insert_session(db: Database, s: NewSession) -> None:
    """The row and its instructors, in one transaction."""
    async with db.transaction() as tx:
        await tx.execute(
            f"INSERT INTO path_sessions (id, company_id, {_WRITTEN}, created_at, modified_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            s.id,
            s.company_id,
            *_written(s),
            s.created_at,
            s.created_at,
        )
        await set_instructors(tx, s.id, s.instructor_ids)


async def set_instructors(
    db: Database, session_id: str, user_ids: Sequence[str], *, replace: bool = False
) -> None:
    """The session's instructors, in order (position 0 is the main one); with `replace`,
    instead of those it had. Call inside a transaction."""
    if replace:
        await db.execute("DELETE FROM session_instructors WHERE session_id = ?", session_id)
    await db.executemany(
        "INSERT INTO session_instructors (session_id, position, user_id) VALUES (?, ?, ?)",
        [(session_id, i, user_id) for i, user_id in enumerate(user_ids)],
    )


async def replace_session(
    db: Database, s: NewSession, now: int, *, created_at: int | None = None
) -> None:
    """Overwrite a session's fields and instructors (the fixture loader's update); its
    creation date too when `created_at` is given."""
    columns = ", ".join(f"{column.strip()} = ?" for column in _WRITTEN.split(","))
    await db.execute(
        f"UPDATE path_sessions SET {columns}, modified_at = ?,"
        " created_at = COALESCE(?, created_at) WHERE id = ? AND company_id = ?",
        *_written(s),
        now,
        created_at,
        s.id,
        s.company_id,
    )
    await set_instructors(db, s.id, s.instructor_ids, replace=True)


async def session_id_by_key(
    db: Database, company_id: str, path_id: str, name: str, start_date: int
) -> str | None:
    row = await db.fetchone(
        "SELECT id FROM path_sessions WHERE company_id = ? AND path_id = ? AND name = ?"
        " AND start_date = ? ORDER BY id",
        company_id,
        path_id,
        name,
        start_date,
    )
    return None if row is None else str(row[0])


async def session_company(db: Database, session_id: str) -> str | None:
    row = await db.fetchone("SELECT company_id FROM path_sessions WHERE id = ?", session_id)
    return None if row is None else str(row[0])
