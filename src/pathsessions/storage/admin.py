"""Queries for operators (CLI and fixture loader): companies, keys, groups, users, paths."""

from __future__ import annotations

from ..domain import NewSession
from .database import Database, Row
from .repository import set_instructors


async def company_row(db: Database, company_id: str, *, lock: bool = False) -> Row | None:
    return await db.fetchone(
        "SELECT id, name, owner_user_id FROM companies WHERE id = ?"
        + (db.for_update() if lock else ""),
        company_id,
    )


async def company_id_by_name(db: Database, name: str) -> str | None:
    row = await db.fetchone("SELECT id FROM companies WHERE name = ?", name)
    return None if row is None else str(row[0])


async def list_companies(db: Database) -> list[Row]:
    return await db.fetchall("SELECT id, name, owner_user_id FROM companies ORDER BY name")


async def upsert_company(db: Database, company_id: str, name: str, now: int) -> None:
    await db.execute(
        "INSERT INTO companies (id, name, owner_user_id, created_at) VALUES (?, ?, NULL, ?)"
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name",
        company_id,
        name,
        now,
    )


async def set_company_owner(db: Database, company_id: str, user_id: str) -> None:
    await db.execute("UPDATE companies SET owner_user_id = ? WHERE id = ?", user_id, company_id)


async def delete_company(db: Database, company_id: str) -> None:
    # Sessions first: their instructor rows point at users that the cascade also removes.
    await db.execute("DELETE FROM path_sessions WHERE company_id = ?", company_id)
    await db.execute("DELETE FROM companies WHERE id = ?", company_id)


async def insert_api_key(
    db: Database, key_id: str, company_id: str, key_hash: str, label: str, now: int
) -> None:
    await db.execute(
        "INSERT INTO api_keys (id, company_id, key_hash, label, created_at, revoked_at)"
        " VALUES (?, ?, ?, ?, ?, NULL)",
        key_id,
        company_id,
        key_hash,
        label,
        now,
    )


async def key_id_by_hash(db: Database, company_id: str, key_hash: str) -> str | None:
    row = await db.fetchone(
        "SELECT id FROM api_keys WHERE company_id = ? AND key_hash = ? AND revoked_at IS NULL",
        company_id,
        key_hash,
    )
    return None if row is None else str(row[0])


async def key_is_revoked(db: Database, company_id: str, key_hash: str) -> bool:
    row = await db.fetchone(
        "SELECT 1 FROM api_keys WHERE company_id = ? AND key_hash = ? AND revoked_at IS NOT NULL",
        company_id,
        key_hash,
    )
    return row is not None


async def count_active_keys(db: Database, company_id: str) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) FROM api_keys WHERE company_id = ? AND revoked_at IS NULL", company_id
    )
    return int(row[0]) if row is not None else 0


async def revoke_key(db: Database, company_id: str, key_id: str, now: int) -> bool:
    changed = await db.execute(
        "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND company_id = ? AND revoked_at IS NULL",
        now,
        key_id,
        company_id,
    )
    return changed > 0


async def revoke_keys_labelled(db: Database, company_id: str, label: str, now: int) -> None:
    await db.execute(
        "UPDATE api_keys SET revoked_at = ? WHERE company_id = ? AND label = ?"
        " AND revoked_at IS NULL",
        now,
        company_id,
        label,
    )


async def list_keys(db: Database, company_id: str) -> list[Row]:
    return await db.fetchall(
        "SELECT id, label, created_at, revoked_at FROM api_keys WHERE company_id = ?"
        " ORDER BY created_at, id",
        company_id,
    )


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


async def upsert_group(
    db: Database,
    group_id: str,
    company_id: str,
    name: str,
    public: bool,
    parent_id: str | None,
    now: int,
) -> None:
    await db.execute(
        "INSERT INTO company_groups (id, company_id, name, public, parent_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
        " public = excluded.public, parent_id = excluded.parent_id",
        group_id,
        company_id,
        name,
        public,
        parent_id,
        now,
    )


async def user_company(db: Database, user_id: str) -> str | None:
    row = await db.fetchone("SELECT company_id FROM users WHERE id = ?", user_id)
    return None if row is None else str(row[0])


async def user_id_by_mail(db: Database, company_id: str, mail_key: str) -> str | None:
    row = await db.fetchone(
        "SELECT id FROM users WHERE company_id = ? AND mail_key = ?", company_id, mail_key
    )
    return None if row is None else str(row[0])


async def upsert_user(
    db: Database,
    user_id: str,
    company_id: str,
    mail: str,
    mail_key: str,
    first_name: str,
    last_name: str,
    status: str,
    now: int,
) -> None:
    await db.execute(
        "INSERT INTO users (id, company_id, mail, mail_key, first_name, last_name, status,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        " mail = excluded.mail, mail_key = excluded.mail_key,"
        " first_name = excluded.first_name, last_name = excluded.last_name,"
        " status = excluded.status",
        user_id,
        company_id,
        mail,
        mail_key,
        first_name,
        last_name,
        status,
        now,
    )


async def set_role(db: Database, user_id: str, group_id: str, role: str) -> None:
    await db.execute(
        "INSERT INTO user_roles (user_id, group_id, role) VALUES (?, ?, ?)"
        " ON CONFLICT (user_id, group_id) DO UPDATE SET role = excluded.role",
        user_id,
        group_id,
        role,
    )


async def path_company(db: Database, path_id: str) -> str | None:
    row = await db.fetchone("SELECT company_id FROM paths WHERE id = ?", path_id)
    return None if row is None else str(row[0])


async def path_id_by_name(db: Database, company_id: str, name: str) -> str | None:
    row = await db.fetchone(
        "SELECT id FROM paths WHERE company_id = ? AND name = ? ORDER BY id", company_id, name
    )
    return None if row is None else str(row[0])


async def upsert_path(
    db: Database,
    path_id: str,
    company_id: str,
    name: str,
    group_id: str,
    status: str,
    now: int,
) -> None:
    await db.execute(
        "INSERT INTO paths (id, company_id, name, group_id, status, created_at, modified_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
        " group_id = excluded.group_id, status = excluded.status,"
        " modified_at = excluded.modified_at",
        path_id,
        company_id,
        name,
        group_id,
        status,
        now,
        now,
    )


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


async def replace_session(db: Database, s: NewSession) -> None:
    """Overwrite a session's fields and instructors (the fixture loader's update)."""
    await db.execute(
        "UPDATE path_sessions SET path_id = ?, name = ?, start_date = ?, end_date = ?,"
        " owner_group_id = ?, additional_information = ?, modified_at = ?"
        " WHERE id = ? AND company_id = ?",
        s.path_id,
        s.name,
        s.start_date,
        s.end_date,
        s.owner_group_id,
        s.additional_information,
        s.created_at,
        s.id,
        s.company_id,
    )
    await set_instructors(db, s.id, s.instructor_ids, replace=True)


async def server_secret(db: Database, name: str, candidate: str) -> str:
    """The secret stored under `name`; `candidate` becomes it if there is none yet."""
    await db.execute(
        "INSERT INTO server_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        name,
        candidate,
    )
    row = await db.fetchone("SELECT value FROM server_secrets WHERE name = ?", name)
    assert row is not None
    return str(row[0])
