"""The tables a company's data lives in, read generically: for snapshots and the export."""

from __future__ import annotations

from typing import Any

from ..storage import Database
from ..storage import sandbox as store

# Every table holding a company's data, parents first, with the condition choosing one
# company's rows (its id is the one parameter). A self-referencing table names the column
# whose parent row must come first (`PARENTS`).
_OF_USERS = "user_id IN (SELECT id FROM users WHERE company_id = ?)"
_OF_SESSIONS = "session_id IN (SELECT id FROM path_sessions WHERE company_id = ?)"
TABLES: tuple[tuple[str, str], ...] = (
    ("companies", "id = ?"),
    ("api_keys", "company_id = ?"),
    ("api_credentials", "company_id = ?"),
    ("company_groups", "company_id = ?"),
    ("users", "company_id = ?"),
    ("user_roles", _OF_USERS),
    ("paths", "company_id = ?"),
    ("path_sessions", "company_id = ?"),
    ("session_instructors", _OF_SESSIONS),
    ("session_users", _OF_SESSIONS),
    ("session_groups", _OF_SESSIONS),
    ("session_audiences", "company_id = ?"),
    ("webhook_subscriptions", "company_id = ?"),
    ("webhook_events", "company_id = ?"),
    ("webhook_attempts", "event_id IN (SELECT id FROM webhook_events WHERE company_id = ?)"),
)
# Each table's primary key: how a row of a snapshot is matched with the row there now.
KEYS = {
    "user_roles": ("user_id", "group_id"),
    "session_instructors": ("session_id", "position"),
    "session_users": ("session_id", "user_id"),
    "session_groups": ("session_id", "group_id"),
    "session_audiences": ("session_id",),
    "webhook_attempts": ("event_id", "number"),
}
PARENTS = {"company_groups": "parent_id", "path_sessions": "root_session_id"}


async def rows_of(db: Database, company_id: str | None, ordered: bool = True) -> dict[str, Any]:
    """Every company's rows (None), or one's: table -> {"columns", "rows"}; `ordered`:
    lists, in key order but parents first (else tuples, in no order)."""
    schema = await store.columns(db)
    data: dict[str, Any] = {}
    for table, condition in TABLES:
        if table not in schema:
            continue
        columns = schema[table]
        sql = f"SELECT {', '.join(columns)} FROM {table}"
        if company_id is None:
            rows = await db.fetchall(sql)
        else:
            rows = await db.fetchall(f"{sql} WHERE {condition}", company_id)
        if not ordered:
            data[table] = {"columns": columns, "rows": [tuple(r) for r in rows]}
            continue
        parent = PARENTS.get(table)
        # In key order: the same rows give the same document, whatever order they were
        # written in (an export of what an export loaded is the same).
        key = [columns.index(k) for k in KEYS.get(table, ("id",))]
        listed = sorted((list(r) for r in rows), key=lambda r: [r[i] for i in key])
        if parent is not None:
            listed = _parents_first(listed, columns.index("id"), columns.index(parent))
        data[table] = {"columns": columns, "rows": listed}
    return data


def _parents_first(rows: list[list[Any]], id_at: int, parent_at: int) -> list[list[Any]]:
    by_id = {row[id_at]: row for row in rows}
    ordered: list[list[Any]] = []
    placed: set[Any] = set()

    def place(row: list[Any]) -> None:
        chain = []
        while row[id_at] not in placed:
            chain.append(row)
            placed.add(row[id_at])
            parent = by_id.get(row[parent_at])
            if parent is None:
                break
            row = parent
        ordered.extend(reversed(chain))

    for row in rows:
        place(row)
    return ordered
