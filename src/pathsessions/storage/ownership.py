"""What the session rules ask of paths and groups: a path's status and certificate, and which
group should own a session a user leads.

Every query names the company: another company's path or group is not found.
"""

from __future__ import annotations

from ..core.model import OwnerGroup, SessionPath
from .database import Database

# Roles that let a user author in a group, and those that make a user a manager there.
AUTHORING_ROLES = ("admin", "editor", "contributor", "owner")
MANAGER_ROLES = ("admin", "coach")


def _roles(roles: tuple[str, ...]) -> str:
    return ", ".join(f"'{role}'" for role in roles)


# A group's members are the non-deleted users holding any role in it (not in its sub-groups).
_HAS_MANAGERS = (
    "EXISTS (SELECT 1 FROM user_roles m JOIN users u ON u.id = m.user_id"
    f" WHERE m.group_id = {{group}} AND m.role IN ({_roles(MANAGER_ROLES)})"
    " AND u.status <> 'deleted')"
)

# The groups where the user authors, ranked: public first, then the shallowest (fewest
# ancestors), then the most members, then the smallest id. `ancestors` walks each candidate's
# parents; its depth bound only guards against a cycle in the data.
_CHOSEN_GROUP = f"""
WITH RECURSIVE candidates (id, public) AS (
    SELECT g.id, g.public FROM user_roles r JOIN company_groups g ON g.id = r.group_id
    WHERE r.user_id = ? AND g.company_id = ? AND r.role IN ({_roles(AUTHORING_ROLES)})
), ancestors (id, parent_id, depth) AS (
    SELECT c.id, g.parent_id, 0 FROM candidates c JOIN company_groups g ON g.id = c.id
    UNION ALL
    SELECT a.id, g.parent_id, a.depth + 1 FROM ancestors a
    JOIN company_groups g ON g.id = a.parent_id WHERE a.depth < 1000
)
SELECT c.id, {_HAS_MANAGERS.format(group="c.id")} AS managed,
    (SELECT MAX(a.depth) FROM ancestors a WHERE a.id = c.id) AS depth,
    (SELECT COUNT(*) FROM user_roles m JOIN users u ON u.id = m.user_id
     WHERE m.group_id = c.id AND u.status <> 'deleted') AS members
FROM candidates c ORDER BY c.public DESC, depth, members DESC, c.id LIMIT 1
"""


async def session_path(db: Database, company_id: str, path_id: str) -> SessionPath | None:
    row = await db.fetchone(
        "SELECT id, status, group_id, certificate_id FROM paths WHERE id = ? AND company_id = ?",
        path_id,
        company_id,
    )
    return None if row is None else SessionPath(row[0], row[1], row[2], row[3])


async def chosen_owner_group(db: Database, company_id: str, user_id: str) -> OwnerGroup | None:
    """The best group of the company where the user holds an authoring role, if any."""
    row = await db.fetchone(_CHOSEN_GROUP, user_id, company_id)
    return None if row is None else OwnerGroup(row[0], bool(row[1]))


async def owner_group(db: Database, company_id: str, group_id: str) -> OwnerGroup | None:
    row = await db.fetchone(
        f"SELECT g.id, {_HAS_MANAGERS.format(group='g.id')} FROM company_groups g"
        " WHERE g.id = ? AND g.company_id = ?",
        group_id,
        company_id,
    )
    return None if row is None else OwnerGroup(row[0], bool(row[1]))
