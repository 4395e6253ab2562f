"""A company's users and their roles in groups: reads that answer records, and the operators'
writes.

Every query that answers the API names the company: another company's object is not found,
exactly like a missing one. The `*_company` lookups answer whose an id is, for the operators'
checks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from ..core.listing import ListQuery, Page
from ..core.model import (
    Membership,
    Person,
    UserProfile,
)
from .database import Database, Row, keyset_batches
from .listing import fetch_page

_USER_COLUMNS = "id, mail, first_name, last_name"


def _person(row: Row) -> Person:
    return Person(row[0], row[1], row[2], row[3])


async def iter_users(db: Database, company_id: str) -> AsyncIterator[list[Person]]:
    async for rows in keyset_batches(
        db,
        f"SELECT {_USER_COLUMNS} FROM users"
        " WHERE company_id = ? AND id > ? AND status <> 'deleted' ORDER BY id",
        company_id,
    ):
        yield [_person(row) for row in rows]


async def get_user(db: Database, company_id: str, user_id: str) -> Person | None:
    row = await db.fetchone(
        f"SELECT {_USER_COLUMNS} FROM users"
        " WHERE id = ? AND company_id = ? AND status <> 'deleted'",
        user_id,
        company_id,
    )
    return None if row is None else _person(row)


async def get_user_by_mail(db: Database, company_id: str, mail_key: str) -> Person | None:
    row = await db.fetchone(
        f"SELECT {_USER_COLUMNS} FROM users"
        " WHERE mail_key = ? AND company_id = ? AND status <> 'deleted'",
        mail_key,
        company_id,
    )
    return None if row is None else _person(row)


async def member_ids(db: Database, company_id: str, user_ids: Sequence[str]) -> set[str]:
    rows = await db.fetchall(
        "SELECT id FROM users WHERE company_id = ? AND status <> 'deleted' AND " + db.any_of("id"),
        company_id,
        db.array(user_ids),
    )
    return {row[0] for row in rows}


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


async def user_company(db: Database, user_id: str) -> str | None:
    row = await db.fetchone("SELECT company_id FROM users WHERE id = ?", user_id)
    return None if row is None else str(row[0])


async def user_id_by_mail(db: Database, company_id: str, mail_key: str) -> str | None:
    """Deleted users too: an address stays taken."""
    row = await db.fetchone(
        "SELECT id FROM users WHERE company_id = ? AND mail_key = ?", company_id, mail_key
    )
    return None if row is None else str(row[0])


async def upsert_user(
    db: Database, company_id: str, user: Person, mail_key: str, status: str, now: int
) -> None:
    await db.execute(
        "INSERT INTO users (id, company_id, mail, mail_key, first_name, last_name, status,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        " mail = excluded.mail, mail_key = excluded.mail_key,"
        " first_name = excluded.first_name, last_name = excluded.last_name,"
        " status = excluded.status",
        user.id,
        company_id,
        user.mail,
        mail_key,
        user.first_name,
        user.last_name,
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


async def remove_role(db: Database, user_id: str, group_id: str) -> None:
    await db.execute("DELETE FROM user_roles WHERE user_id = ? AND group_id = ?", user_id, group_id)


async def roles_in_group(db: Database, group_id: str) -> list[tuple[str, str]]:
    """(user id, role) of every role held in the group, by user id."""
    rows = await db.fetchall(
        "SELECT user_id, role FROM user_roles WHERE group_id = ? ORDER BY user_id", group_id
    )
    return [(row[0], row[1]) for row in rows]


async def existing_user_ids(db: Database, company_id: str, user_ids: Sequence[str]) -> set[str]:
    """Those of `user_ids` that are users of the company, whatever their status."""
    rows = await db.fetchall(
        "SELECT id FROM users WHERE company_id = ? AND " + db.any_of("id"),
        company_id,
        db.array(user_ids),
    )
    return {row[0] for row in rows}


_PROFILE_COLUMNS = (
    "id, mail, first_name, last_name, status, lang, username, job, organization, phone,"
    " custom, primary_group_id"
)


def _profile(row: Row) -> UserProfile:
    return UserProfile(*row)


# The fields a list of users may be filtered on, by column. E-mail addresses are compared
# in their normalised form, which filters hand over lower-cased.
USER_FIELDS = {"mail": "mail_key", "username": "username", "status": "status"}


async def page_users(db: Database, company_id: str, query: ListQuery) -> Page[UserProfile]:
    """Deleted users too: their status says so."""
    return await fetch_page(
        db,
        f"SELECT {_PROFILE_COLUMNS} FROM users WHERE company_id = ?",
        [company_id],
        query,
        USER_FIELDS,
        _profile,
    )


async def get_user_profile(db: Database, company_id: str, user_id: str) -> UserProfile | None:
    """Deleted users too: v2 shows them, with their status."""
    row = await db.fetchone(
        f"SELECT {_PROFILE_COLUMNS} FROM users WHERE id = ? AND company_id = ?",
        user_id,
        company_id,
    )
    return None if row is None else _profile(row)


async def user_id_by_username(db: Database, company_id: str, username: str) -> str | None:
    row = await db.fetchone(
        "SELECT id FROM users WHERE company_id = ? AND username = ? ORDER BY id",
        company_id,
        username,
    )
    return None if row is None else str(row[0])


async def upsert_user_profile(
    db: Database, company_id: str, user: UserProfile, mail_key: str, now: int
) -> None:
    """Every field of the record is written, on insert and on update."""
    await db.execute(
        "INSERT INTO users (id, company_id, mail, mail_key, first_name, last_name, status,"
        " lang, username, job, organization, phone, custom, primary_group_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        " mail = excluded.mail, mail_key = excluded.mail_key,"
        " first_name = excluded.first_name, last_name = excluded.last_name,"
        " status = excluded.status, lang = excluded.lang, username = excluded.username,"
        " job = excluded.job, organization = excluded.organization, phone = excluded.phone,"
        " custom = excluded.custom, primary_group_id = excluded.primary_group_id",
        user.id,
        company_id,
        user.mail,
        mail_key,
        user.first_name,
        user.last_name,
        user.status,
        user.lang,
        user.username,
        user.job,
        user.organization,
        user.phone,
        user.custom,
        user.primary_group_id,
        now,
    )


async def page_user_roles(db: Database, user_id: str, query: ListQuery) -> Page[Membership]:
    """The user's roles, by group id. The caller has checked the user is the company's: a
    role only ever joins a user and a group of one company."""
    return await fetch_page(
        db,
        "SELECT group_id, role FROM user_roles WHERE user_id = ?",
        [user_id],
        query,
        {},
        lambda row: Membership(user_id, row[0], row[1]),
        id_column="group_id",
    )


async def page_group_roles(db: Database, group_id: str, query: ListQuery) -> Page[Membership]:
    """The roles held in the group, by user id (the group checked as for `page_user_roles`)."""
    return await fetch_page(
        db,
        "SELECT user_id, role FROM user_roles WHERE group_id = ?",
        [group_id],
        query,
        {},
        lambda row: Membership(row[0], group_id, row[1]),
        id_column="user_id",
    )
