"""Companies, their API keys, and the server's own secrets.

Rows stay in here: callers get `Company` and `ApiKeyInfo` records.
"""

from __future__ import annotations

from ..core.model import ApiKeyInfo, Company
from .database import Database, Row


def _company(row: Row) -> Company:
    return Company(row[0], row[1], row[2])


async def active_keys(
    db: Database, company_id: str
) -> tuple[Company | None, list[tuple[str, str]]]:
    """The company and the (id, hash) of each of its active keys; (None, []) when it has none.

    A company with no active key (unknown, or all its keys revoked) reads another company's
    active keys instead, which are then thrown away: the database finds and reads key and
    company rows either way, so the time of a refusal does not say whether the company
    exists (reading nothing was measurably faster than reading a known company's keys)."""
    rows = await db.fetchall(
        "SELECT c.id, c.name, c.owner_user_id, k.id, k.key_hash FROM api_keys k"
        " JOIN companies c ON c.id = k.company_id"
        " WHERE k.revoked_at IS NULL AND k.company_id = COALESCE("
        "(SELECT company_id FROM api_keys WHERE company_id = ? AND revoked_at IS NULL LIMIT 1),"
        " (SELECT company_id FROM api_keys WHERE revoked_at IS NULL LIMIT 1))",
        company_id,
    )
    if not rows or rows[0][0] != company_id:
        return None, []
    return _company(rows[0]), [(r[3], r[4]) for r in rows]


async def company_for_key_id(db: Database, company_id: str, key_id: str) -> Company | None:
    """The company of an active key, named by its id (a bearer token's claims)."""
    row = await db.fetchone(
        "SELECT c.id, c.name, c.owner_user_id FROM api_keys k"
        " JOIN companies c ON c.id = k.company_id"
        " WHERE k.id = ? AND k.company_id = ? AND k.revoked_at IS NULL",
        key_id,
        company_id,
    )
    return None if row is None else _company(row)


async def get_company(db: Database, company_id: str, *, lock: bool = False) -> Company | None:
    """With `lock` (inside a transaction), the row is held until the transaction ends."""
    row = await db.fetchone(
        "SELECT id, name, owner_user_id FROM companies WHERE id = ?"
        + (db.for_update() if lock else ""),
        company_id,
    )
    return None if row is None else _company(row)


async def company_id_by_name(db: Database, name: str) -> str | None:
    row = await db.fetchone("SELECT id FROM companies WHERE name = ?", name)
    return None if row is None else str(row[0])


async def list_companies(db: Database) -> list[Company]:
    rows = await db.fetchall("SELECT id, name, owner_user_id FROM companies ORDER BY name")
    return [_company(row) for row in rows]


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


async def list_keys(db: Database, company_id: str) -> list[ApiKeyInfo]:
    rows = await db.fetchall(
        "SELECT id, label, created_at, revoked_at FROM api_keys WHERE company_id = ?"
        " ORDER BY created_at, id",
        company_id,
    )
    return [ApiKeyInfo(r[0], r[1], int(r[2]), None if r[3] is None else int(r[3])) for r in rows]


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
