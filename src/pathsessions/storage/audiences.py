"""Audiences of audience-builder sessions, and whom an audience includes.

The queries that name a session by id alone are for a session the caller has already found
in its company.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from ..core.model import Audience, AudienceFilter
from .database import Database

_encode = msgspec.json.Encoder().encode
_filters = msgspec.json.Decoder(tuple[AudienceFilter, ...])


async def get(db: Database, session_id: str) -> Audience | None:
    """The session's stored audience; None when it was never given one."""
    row = await db.fetchone(
        "SELECT mode, filters FROM session_audiences WHERE session_id = ?", session_id
    )
    return None if row is None else Audience(row[0], _filters.decode(row[1]))


async def put(db: Database, company_id: str, session_id: str, audience: Audience, now: int) -> None:
    await db.execute(
        "INSERT INTO session_audiences (session_id, company_id, mode, filters, modified_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET mode = excluded.mode,"
        " filters = excluded.filters, modified_at = excluded.modified_at",
        session_id,
        company_id,
        audience.mode,
        _encode(audience.filters).decode(),
        now,
    )


async def dynamic(db: Database, company_id: str) -> list[tuple[str, Audience]]:
    """The company's audiences in a `dynamic*` mode, (session id, audience) by session id;
    which of their sessions still follow is the caller's rule."""
    rows = await db.fetchall(
        "SELECT a.session_id, a.mode, a.filters FROM session_audiences a"
        " WHERE a.company_id = ? AND a.mode <> 'manual' ORDER BY a.session_id",
        company_id,
    )
    return [(row[0], Audience(row[1], _filters.decode(row[2]))) for row in rows]


_SUBGROUPS = (
    "WITH RECURSIVE included (id) AS ("
    " SELECT id FROM company_groups WHERE company_id = ? AND {given}"
    " UNION SELECT g.id FROM company_groups g JOIN included i ON g.parent_id = i.id)"
)


async def included(db: Database, company_id: str, audience: Audience) -> set[str]:
    """The learners the audience includes: the users of `users`, the members (any role) of
    the groups of `groups` and of their sub-groups, minus `excludedLearners`, minus deleted
    users and users of another company."""
    found: set[str] = set()
    users = audience.ids("users")
    if users:
        rows = await db.fetchall(
            "SELECT id FROM users WHERE company_id = ? AND status <> 'deleted' AND "
            + db.any_of("id"),
            company_id,
            db.array(users),
        )
        found.update(row[0] for row in rows)
    groups = audience.ids("groups")
    if groups:
        # UNION, not UNION ALL: a cycle of parents, should one exist, ends the recursion.
        rows = await db.fetchall(
            _SUBGROUPS.format(given=db.any_of("id"))
            + " SELECT DISTINCT r.user_id FROM user_roles r JOIN included i ON i.id = r.group_id"
            " JOIN users u ON u.id = r.user_id WHERE u.status <> 'deleted' AND u.company_id = ?",
            company_id,
            db.array(groups),
            company_id,
        )
        found.update(row[0] for row in rows)
    return found - set(audience.ids("excludedLearners"))


async def with_ancestors(db: Database, company_id: str, group_ids: Sequence[str]) -> set[str]:
    """The groups and every group above them."""
    if not group_ids:
        return set()
    rows = await db.fetchall(
        "WITH RECURSIVE above (id, parent_id) AS ("
        " SELECT id, parent_id FROM company_groups WHERE company_id = ? AND "
        + db.any_of("id")
        + " UNION SELECT g.id, g.parent_id FROM company_groups g JOIN above a"
        " ON g.id = a.parent_id) SELECT id FROM above",
        company_id,
        db.array(group_ids),
    )
    return {row[0] for row in rows}


async def known_users(db: Database, company_id: str, user_ids: Sequence[str]) -> set[str]:
    """Those of the ids that are users of the company, deleted ones included."""
    rows = await db.fetchall(
        "SELECT id FROM users WHERE company_id = ? AND " + db.any_of("id"),
        company_id,
        db.array(user_ids),
    )
    return {row[0] for row in rows}
