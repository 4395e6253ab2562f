"""The queries the API runs. Every one is scoped by company: tenancy is an argument here.

An object of another company is not found by these queries, exactly like a missing one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from ..domain import Company, NewSession
from .database import Database, Row


async def active_keys(
    db: Database, company_id: str
) -> tuple[Company | None, list[tuple[str, str]]]:
    """The company and the (id, hash) of each of its active keys; (None, []) when it has none."""
    rows = await db.fetchall(
        "SELECT c.id, c.name, c.owner_user_id, k.id, k.key_hash FROM api_keys k"
        " JOIN companies c ON c.id = k.company_id"
        " WHERE k.company_id = ? AND k.revoked_at IS NULL",
        company_id,
    )
    if not rows:
        return None, []
    return Company(rows[0][0], rows[0][1], rows[0][2]), [(r[3], r[4]) for r in rows]


async def company_for_key_id(db: Database, company_id: str, key_id: str) -> Company | None:
    """The company of an active key, named by its id (a bearer token's claims)."""
    row = await db.fetchone(
        "SELECT c.id, c.name, c.owner_user_id FROM api_keys k"
        " JOIN companies c ON c.id = k.company_id"
        " WHERE k.id = ? AND k.company_id = ? AND k.revoked_at IS NULL",
        key_id,
        company_id,
    )
    return None if row is None else Company(row[0], row[1], row[2])


async def path_exists(db: Database, company_id: str, path_id: str) -> bool:
    row = await db.fetchone(
        "SELECT 1 FROM paths WHERE id = ? AND company_id = ?", path_id, company_id
    )
    return row is not None


async def group_exists(db: Database, company_id: str, group_id: str) -> bool:
    row = await db.fetchone(
        "SELECT 1 FROM company_groups WHERE id = ? AND company_id = ?", group_id, company_id
    )
    return row is not None


async def member_ids_by_mail(
    db: Database, company_id: str, mail_keys: Sequence[str]
) -> dict[str, str]:
    """Normalised e-mail -> user id, for the users of the company (deleted ones are not)."""
    if len(mail_keys) == 1:  # the common case; a plain equality is cheaper than a list
        row = await db.fetchone(
            "SELECT mail_key, id FROM users WHERE company_id = ? AND status <> 'deleted'"
            " AND mail_key = ?",
            company_id,
            mail_keys[0],
        )
        return {} if row is None else {row[0]: row[1]}
    rows = await db.fetchall(
        "SELECT mail_key, id FROM users WHERE company_id = ? AND status <> 'deleted' AND "
        + db.any_of("mail_key"),
        company_id,
        db.array(mail_keys),
    )
    return {row[0]: row[1] for row in rows}


async def user_is_member(db: Database, company_id: str, user_id: str) -> bool:
    row = await db.fetchone(
        "SELECT 1 FROM users WHERE id = ? AND company_id = ? AND status <> 'deleted'",
        user_id,
        company_id,
    )
    return row is not None


async def insert_session(db: Database, s: NewSession) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO path_sessions (id, company_id, path_id, name, start_date, end_date,"
            " owner_group_id, additional_information, created_at, modified_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            s.id,
            s.company_id,
            s.path_id,
            s.name,
            s.start_date,
            s.end_date,
            s.owner_group_id,
            s.additional_information,
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


async def keyset_batches(
    db: Database, sql: str, company_id: str, batch: int = 500
) -> AsyncIterator[list[Row]]:
    """The rows of `sql`, which filters `company_id = ? AND id > ?` and orders by id, a batch
    at a time. Keyset, not OFFSET: every batch costs the same however deep it is."""
    after = ""
    while True:
        rows = await db.fetchall(sql + " LIMIT ?", company_id, after, batch)
        if not rows:
            return
        yield rows
        if len(rows) < batch:
            return
        after = rows[-1][0]
