"""v2 API credentials: a company's client ids, the hashes of their secrets, their scopes.

Rows stay in here: callers get `Client` and `CredentialInfo` records. Scopes are stored
space-separated.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.model import Client, Company, CredentialInfo
from .database import Database, Row


def _scopes(text: str) -> tuple[str, ...]:
    return tuple(text.split())


async def secret_hash_for_client(
    db: Database, client_id: str
) -> tuple[str | None, str | None, str | None]:
    """(credential id, company id, secret hash) of the active credential `client_id`, or
    (None, None, None).

    One row comes back even for an unknown client (of NULLs), so that it costs the database
    and the driver what a known one does: the time of a refusal does not say which it was."""
    row = await db.fetchone(
        "SELECT a.id, a.company_id, a.secret_hash FROM (SELECT ? AS client_id) q"
        " LEFT JOIN api_credentials a ON a.client_id = q.client_id AND a.revoked_at IS NULL",
        client_id,
    )
    assert row is not None
    return row[0], row[1], row[2]


async def client_for_credential(db: Database, credential_id: str) -> Client | None:
    """Who an active credential acts as, with its scopes now (a bearer token's claims)."""
    row = await db.fetchone(
        "SELECT c.id, c.name, c.owner_user_id, a.scopes FROM api_credentials a"
        " JOIN companies c ON c.id = a.company_id"
        " WHERE a.id = ? AND a.revoked_at IS NULL",
        credential_id,
    )
    if row is None:
        return None
    return Client(Company(row[0], row[1], row[2]), credential_id, frozenset(row[3].split()))


def _info(row: Row) -> CredentialInfo:
    return CredentialInfo(
        row[0],
        row[1],
        row[2],
        _scopes(row[3]),
        int(row[4]),
        None if row[5] is None else int(row[5]),
    )


_COLUMNS = "id, client_id, name, scopes, created_at, revoked_at"


async def get_by_client_id(db: Database, client_id: str) -> tuple[str, CredentialInfo] | None:
    """(company id, credential) of `client_id`, active or revoked, in any company."""
    row = await db.fetchone(
        f"SELECT company_id, {_COLUMNS} FROM api_credentials WHERE client_id = ?", client_id
    )
    return None if row is None else (str(row[0]), _info(row[1:]))


async def active_by_name(db: Database, company_id: str, name: str) -> CredentialInfo | None:
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM api_credentials"
        " WHERE company_id = ? AND name = ? AND revoked_at IS NULL ORDER BY created_at, id",
        company_id,
        name,
    )
    return None if row is None else _info(row)


async def list_credentials(db: Database, company_id: str) -> list[CredentialInfo]:
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM api_credentials WHERE company_id = ? ORDER BY created_at, id",
        company_id,
    )
    return [_info(row) for row in rows]


async def count_active(db: Database, company_id: str) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) FROM api_credentials WHERE company_id = ? AND revoked_at IS NULL",
        company_id,
    )
    return int(row[0]) if row is not None else 0


async def insert_credential(
    db: Database,
    credential_id: str,
    company_id: str,
    client_id: str,
    secret_hash: str,
    name: str,
    scopes: Sequence[str],
    now: int,
) -> None:
    await db.execute(
        "INSERT INTO api_credentials"
        " (id, company_id, client_id, secret_hash, name, scopes, created_at, revoked_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
        credential_id,
        company_id,
        client_id,
        secret_hash,
        name,
        " ".join(scopes),
        now,
    )


async def update_credential(
    db: Database, credential_id: str, name: str, scopes: Sequence[str], secret_hash: str | None
) -> None:
    """Rename and re-scope a credential; with `secret_hash`, give it that secret too."""
    if secret_hash is None:
        await db.execute(
            "UPDATE api_credentials SET name = ?, scopes = ? WHERE id = ?",
            name,
            " ".join(scopes),
            credential_id,
        )
    else:
        await db.execute(
            "UPDATE api_credentials SET name = ?, scopes = ?, secret_hash = ? WHERE id = ?",
            name,
            " ".join(scopes),
            secret_hash,
            credential_id,
        )


async def revoke_credential(db: Database, company_id: str, client_id: str, now: int) -> bool:
    changed = await db.execute(
        "UPDATE api_credentials SET revoked_at = ?"
        " WHERE client_id = ? AND company_id = ? AND revoked_at IS NULL",
        now,
        client_id,
        company_id,
    )
    return changed > 0
