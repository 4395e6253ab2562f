"""Reads of a company's groups, users and paths. All scoped by company."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from ..domain import Person
from .database import Database, Row
from .repository import keyset_batches


def iter_groups(db: Database, company_id: str) -> AsyncIterator[list[Row]]:
    return keyset_batches(
        db,
        "SELECT id, name, public, parent_id FROM company_groups"
        " WHERE company_id = ? AND id > ? ORDER BY id",
        company_id,
    )


async def get_group(db: Database, company_id: str, group_id: str) -> Row | None:
    return await db.fetchone(
        "SELECT id, name, public, parent_id FROM company_groups WHERE id = ? AND company_id = ?",
        group_id,
        company_id,
    )


async def existing_group_ids(db: Database, company_id: str, group_ids: Sequence[str]) -> set[str]:
    rows = await db.fetchall(
        "SELECT id FROM company_groups WHERE company_id = ? AND " + db.any_of("id"),
        company_id,
        db.array(group_ids),
    )
    return {row[0] for row in rows}


async def iter_users(db: Database, company_id: str) -> AsyncIterator[list[Person]]:
    async for rows in keyset_batches(
        db,
        "SELECT id, mail, first_name, last_name FROM users"
        " WHERE company_id = ? AND id > ? AND status <> 'deleted' ORDER BY id",
        company_id,
    ):
        yield [Person(*row) for row in rows]


async def get_user(db: Database, company_id: str, user_id: str) -> Person | None:
    row = await db.fetchone(
        "SELECT id, mail, first_name, last_name FROM users"
        " WHERE id = ? AND company_id = ? AND status <> 'deleted'",
        user_id,
        company_id,
    )
    return None if row is None else Person(*row)


async def get_user_by_mail(db: Database, company_id: str, mail_key: str) -> Person | None:
    row = await db.fetchone(
        "SELECT id, mail, first_name, last_name FROM users"
        " WHERE mail_key = ? AND company_id = ? AND status <> 'deleted'",
        mail_key,
        company_id,
    )
    return None if row is None else Person(*row)


async def member_ids(db: Database, company_id: str, user_ids: Sequence[str]) -> set[str]:
    rows = await db.fetchall(
        "SELECT id FROM users WHERE company_id = ? AND status <> 'deleted' AND " + db.any_of("id"),
        company_id,
        db.array(user_ids),
    )
    return {row[0] for row in rows}


async def _session_ids(db: Database, path_ids: Sequence[str]) -> dict[str, list[str]]:
    rows = await db.fetchall(
        "SELECT path_id, id FROM path_sessions WHERE "
        + db.any_of("path_id")
        + " ORDER BY path_id, id",
        db.array(path_ids),
    )
    found: dict[str, list[str]] = {}
    for path_id, session_id in rows:
        found.setdefault(path_id, []).append(session_id)
    return found


_PATH_COLUMNS = "id, name, group_id, status, created_at, modified_at"


async def iter_paths(db: Database, company_id: str) -> AsyncIterator[list[tuple[Row, list[str]]]]:
    """Paths with their session ids, 50 paths a batch: a batch holds all their sessions'
    ids, so memory follows the sessions of 50 paths, not of the company."""
    async for rows in keyset_batches(
        db,
        f"SELECT {_PATH_COLUMNS} FROM paths WHERE company_id = ? AND id > ? ORDER BY id",
        company_id,
        50,
    ):
        sessions = await _session_ids(db, [row[0] for row in rows])
        yield [(row, sessions.get(row[0], [])) for row in rows]


async def path_row(db: Database, company_id: str, path_id: str) -> Row | None:
    return await db.fetchone(
        f"SELECT {_PATH_COLUMNS} FROM paths WHERE id = ? AND company_id = ?",
        path_id,
        company_id,
    )


async def get_path(db: Database, company_id: str, path_id: str) -> tuple[Row, list[str]] | None:
    row = await path_row(db, company_id, path_id)
    if row is None:
        return None
    return row, (await _session_ids(db, [path_id])).get(path_id, [])
