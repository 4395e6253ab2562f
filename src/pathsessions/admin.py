"""Operator actions behind the CLI: companies, API keys, groups, users, paths.

Each takes the database as an argument and raises `AdminError` with a message for a person.
"""

from __future__ import annotations

from dataclasses import dataclass

from .domain import is_object_id, new_id, normalize_email, now_ms
from .keys import MAX_ACTIVE_KEYS, generate_key, hash_key
from .rules import storable
from .storage import Database
from .storage import admin as q

ROLES = ("learner", "author", "coach", "admin")
USER_STATUSES = ("active", "invited", "deleted")
PATH_STATUSES = ("published", "archived")


class AdminError(Exception):
    """An operator mistake: unknown company, bad e-mail, too many keys..."""


def _text(value: str, what: str) -> str:
    if not storable(value):
        raise AdminError(f"the {what} must not contain NUL characters")
    return value


@dataclass(frozen=True)
class NewKey:
    id: str
    key: str


async def require_company(db: Database, company_id: str, *, lock: bool = False) -> str:
    """The company's id, lower-cased; with `lock`, its row is held until the transaction ends."""
    if (
        not is_object_id(company_id)
        or await q.company_row(db, company_id.lower(), lock=lock) is None
    ):
        raise AdminError(f"no company with id {company_id}")
    return company_id.lower()


async def create_company(db: Database, name: str, owner_mail: str) -> tuple[str, NewKey]:
    """A company, its platform owner (a new active user) and a first API key."""
    name = _text(name.strip(), "company name")
    if not name:
        raise AdminError("the company name must not be empty")
    mail_key = normalize_email(owner_mail)
    if mail_key is None:
        raise AdminError(f"not a valid e-mail address: {owner_mail}")
    async with db.transaction() as tx:
        if await q.company_id_by_name(tx, name) is not None:
            raise AdminError(f"a company named {name!r} exists already")
        company_id = new_id()
        await q.upsert_company(tx, company_id, name, now_ms())
        owner_id = new_id()
        await q.upsert_user(
            tx, owner_id, company_id, owner_mail.strip(), mail_key, "", "", "active", now_ms()
        )
        await q.set_company_owner(tx, company_id, owner_id)
        key = await create_key(tx, company_id, "initial")
    return company_id, key


async def create_key(db: Database, company_id: str, label: str) -> NewKey:
    async with db.transaction() as tx:
        # Locked: two concurrent creations must not both see 24 keys and make 26.
        company_id = await require_company(tx, company_id, lock=True)
        if await q.count_active_keys(tx, company_id) >= MAX_ACTIVE_KEYS:
            raise AdminError(
                f"the company has {MAX_ACTIVE_KEYS} active API keys already; revoke one first"
            )
        return await add_key(tx, company_id, generate_key(), label)


async def add_key(db: Database, company_id: str, key: str, label: str) -> NewKey:
    """Store `key` (hashed) for the company; the count limit is the caller's to check."""
    key_id = new_id()
    await q.insert_api_key(db, key_id, company_id, hash_key(key), label, now_ms())
    return NewKey(key_id, key)


async def revoke_key(db: Database, company_id: str, key_id: str) -> None:
    company_id = await require_company(db, company_id)
    if not await q.revoke_key(db, company_id, key_id.lower(), now_ms()):
        raise AdminError(f"no active API key {key_id} in company {company_id}")


async def add_group(
    db: Database, company_id: str, name: str, public: bool, parent_id: str | None
) -> str:
    async with db.transaction() as tx:
        company_id = await require_company(tx, company_id)
        if not _text(name, "group name").strip():
            raise AdminError("the group name must not be empty")
        if parent_id is not None:
            parent_id = parent_id.lower()
            if not is_object_id(parent_id) or await q.group_company(tx, parent_id) != company_id:
                raise AdminError(f"no group with id {parent_id} in company {company_id}")
        group_id = new_id()
        await q.upsert_group(tx, group_id, company_id, name, public, parent_id, now_ms())
    return group_id


async def add_user(
    db: Database,
    company_id: str,
    mail: str,
    first_name: str,
    last_name: str,
    status: str,
    roles: dict[str, str],
) -> str:
    mail_key = normalize_email(mail)
    if mail_key is None:
        raise AdminError(f"not a valid e-mail address: {mail}")
    if status not in USER_STATUSES:
        raise AdminError(f"status must be one of {', '.join(USER_STATUSES)}")
    _text(first_name, "first name")
    _text(last_name, "last name")
    async with db.transaction() as tx:
        company_id = await require_company(tx, company_id)
        if await q.user_id_by_mail(tx, company_id, mail_key) is not None:
            raise AdminError(f"a user with e-mail {mail_key} exists already in this company")
        user_id = new_id()
        await q.upsert_user(
            tx, user_id, company_id, mail.strip(), mail_key, first_name, last_name, status, now_ms()
        )
        for group_id, role in roles.items():
            await _set_role(tx, company_id, user_id, group_id, role)
    return user_id


async def _set_role(db: Database, company_id: str, user_id: str, group_id: str, role: str) -> None:
    if role not in ROLES:
        raise AdminError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    group_id = group_id.lower()
    if not is_object_id(group_id) or await q.group_company(db, group_id) != company_id:
        raise AdminError(f"no group with id {group_id} in company {company_id}")
    await q.set_role(db, user_id, group_id, role)


async def add_path(db: Database, company_id: str, name: str, group_id: str, status: str) -> str:
    if status not in PATH_STATUSES:
        raise AdminError(f"status must be one of {', '.join(PATH_STATUSES)}")
    async with db.transaction() as tx:
        company_id = await require_company(tx, company_id)
        if not _text(name, "path name").strip():
            raise AdminError("the path name must not be empty")
        group_id = group_id.lower()
        if not is_object_id(group_id) or await q.group_company(tx, group_id) != company_id:
            raise AdminError(f"no group with id {group_id} in company {company_id}")
        path_id = new_id()
        await q.upsert_path(tx, path_id, company_id, name, group_id, status, now_ms())
    return path_id
