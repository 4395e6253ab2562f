"""A company's groups: reads that answer records, and the operators' writes.

Every query that answers the API names the company: another company's object is not found,
exactly like a missing one. The `*_company` lookups answer whose an id is, for the operators'
checks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from ..core.listing import ListQuery, Page
from ..core.model import (
    Group,
)
from .database import Database, Row, keyset_batches
from .listing import fetch_page

_GROUP_COLUMNS = "id, name, public, parent_id, custom"


def _group(row: Row) -> Group:
    return Group(row[0], row[1], bool(row[2]), row[3], row[4])


async def iter_groups(db: Database, company_id: str) -> AsyncIterator[list[Group]]:
    async for rows in keyset_batches(
        db,
        f"SELECT {_GROUP_COLUMNS} FROM company_groups WHERE company_id = ? AND id > ? ORDER BY id",
        company_id,
    ):
        yield [_group(row) for row in rows]


# The fields a list of groups may be filtered on, by column (none yet: v2 lists them all).
GROUP_FIELDS: dict[str, str] = {}


async def page_groups(db: Database, company_id: str, query: ListQuery) -> Page[Group]:
    return await fetch_page(
        db,
        f"SELECT {_GROUP_COLUMNS} FROM company_groups WHERE company_id = ?",
        [company_id],
        query,
        GROUP_FIELDS,
        _group,
    )


async def get_group(db: Database, company_id: str, group_id: str) -> Group | None:
    row = await db.fetchone(
        f"SELECT {_GROUP_COLUMNS} FROM company_groups WHERE id = ? AND company_id = ?",
        group_id,
        company_id,
    )
    return None if row is None else _group(row)


async def group_exists(db: Database, company_id: str, group_id: str) -> bool:
    row = await db.fetchone(
        "SELECT 1 FROM company_groups WHERE id = ? AND company_id = ?", group_id, company_id
    )
    return row is not None


async def existing_group_ids(db: Database, company_id: str, group_ids: Sequence[str]) -> set[str]:
    rows = await db.fetchall(
        "SELECT id FROM company_groups WHERE company_id = ? AND " + db.any_of("id"),
        company_id,
        db.array(group_ids),
    )
    return {row[0] for row in rows}


async def group_company(db: Database, group_id: str) -> str | None:
    row = await db.fetchone("SELECT company_id FROM company_groups WHERE id = ?", group_id)
    return None if row is None else str(row[0])


async def group_id_by_name(
    db: Database, company_id: str, name: str, parent_id: str | None
) -> str | None:
    row = await db.fetchone(
        "SELECT id FROM company_groups WHERE company_id = ? AND name = ? AND"
        " (parent_id = ? OR (parent_id IS NULL AND CAST(? AS TEXT) IS NULL))",
        company_id,
        name,
        parent_id,
        parent_id,
    )
    return None if row is None else str(row[0])


async def upsert_group(db: Database, company_id: str, group: Group, now: int) -> None:
    await db.execute(
        "INSERT INTO company_groups (id, company_id, name, public, parent_id, custom,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        " name = excluded.name, public = excluded.public, parent_id = excluded.parent_id,"
        " custom = excluded.custom",
        group.id,
        company_id,
        group.name,
        group.public,
        group.parent_id,
        group.custom,
        now,
    )
