"""Operator actions behind the CLI: companies, API keys, v2 API credentials, groups, users,
paths.

Each takes the database and the clock as arguments and raises `OperatorError` with a message
for a person (these are not API answers).
"""

from __future__ import annotations

from ..storage import Database
from ..storage import companies as company_store
from ..storage import credentials as credential_store
from ..storage import groups as group_store
from ..storage import paths as path_store
from ..storage import users as user_store
from .clock import Clock
from .ids import new_id
from .keys import (
    MAX_ACTIVE_CREDENTIALS,
    MAX_ACTIVE_KEYS,
    SCOPES,
    generate_client_id,
    generate_key,
    hash_key,
    is_client_id,
)
from .model import ApiKeyInfo, Company, CredentialInfo, Group, NewCredential, NewKey, Path, Person
from .values import is_object_id, normalize_email, storable

# A user's role in a group, as v2 names them; v1-era data and fixtures may say `author`,
# which is `editor` (ROLE_ALIASES).
ROLES = ("admin", "analyst", "editor", "coach", "contributor", "learner", "owner", "userAdmin")
ROLE_ALIASES = {"author": "editor"}
USER_STATUSES = ("active", "invited", "deleted")
PATH_STATUSES = ("published", "archived")


class OperatorError(Exception):
    """An operator mistake: unknown company, bad e-mail, too many keys..."""


def _text(value: str, what: str) -> str:
    if not storable(value):
        raise OperatorError(f"the {what} must not contain NUL characters")
    return value


async def require_company(db: Database, company_id: str, *, lock: bool = False) -> Company:
    """The company; with `lock`, its row is held until the transaction ends."""
    company = None
    if is_object_id(company_id):
        company = await company_store.get_company(db, company_id.lower(), lock=lock)
    if company is None:
        raise OperatorError(f"no company with id {company_id}")
    return company


async def is_company_group(db: Database, company_id: str, group_id: str) -> bool:
    """Whether `group_id` (any case) names a group of the company."""
    return (
        is_object_id(group_id)
        and await group_store.group_company(db, group_id.lower()) == company_id
    )


async def _require_group(db: Database, company_id: str, group_id: str) -> str:
    if not await is_company_group(db, company_id, group_id):
        raise OperatorError(f"no group with id {group_id.lower()} in company {company_id}")
    return group_id.lower()


async def list_companies(db: Database) -> list[Company]:
    return await company_store.list_companies(db)


async def create_company(
    db: Database, clock: Clock, name: str, owner_mail: str
) -> tuple[str, NewKey]:
    """A company, its platform owner (a new active user) and a first API key."""
    name = _text(name.strip(), "company name")
    if not name:
        raise OperatorError("the company name must not be empty")
    mail_key = normalize_email(owner_mail)
    if mail_key is None:
        raise OperatorError(f"not a valid e-mail address: {owner_mail}")
    async with db.transaction() as tx:
        if await company_store.company_id_by_name(tx, name) is not None:
            raise OperatorError(f"a company named {name!r} exists already")
        company_id = new_id()
        now = clock.now_ms()
        await company_store.upsert_company(tx, company_id, name, now)
        owner = Person(new_id(), owner_mail.strip(), "", "")
        await user_store.upsert_user(tx, company_id, owner, mail_key, "active", now)
        await company_store.set_company_owner(tx, company_id, owner.id)
        key = await create_key(tx, clock, company_id, "initial")
    return company_id, key


async def create_key(db: Database, clock: Clock, company_id: str, label: str) -> NewKey:
    async with db.transaction() as tx:
        # Locked: two concurrent creations must not both see 24 keys and make 26.
        company = await require_company(tx, company_id, lock=True)
        if await company_store.count_active_keys(tx, company.id) >= MAX_ACTIVE_KEYS:
            raise OperatorError(
                f"the company has {MAX_ACTIVE_KEYS} active API keys already; revoke one first"
            )
        return await add_key(tx, clock, company.id, generate_key(), label)


async def add_key(db: Database, clock: Clock, company_id: str, key: str, label: str) -> NewKey:
    """Store `key` (hashed) for the company; the count limit is the caller's to check."""
    key_id = new_id()
    await company_store.insert_api_key(db, key_id, company_id, hash_key(key), label, clock.now_ms())
    return NewKey(key_id, key)


async def revoke_key(db: Database, clock: Clock, company_id: str, key_id: str) -> None:
    company = await require_company(db, company_id)
    if not await company_store.revoke_key(db, company.id, key_id.lower(), clock.now_ms()):
        raise OperatorError(f"no active API key {key_id} in company {company.id}")


async def revoke_keys_labelled(db: Database, clock: Clock, company_id: str, label: str) -> None:
    await company_store.revoke_keys_labelled(db, company_id, label, clock.now_ms())


async def list_keys(db: Database, company_id: str) -> list[ApiKeyInfo]:
    company = await require_company(db, company_id)
    return await company_store.list_keys(db, company.id)


def credential_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise OperatorError("the credential name must be a non-empty string")
    return _text(name, "credential name")


def credential_scopes(scopes: object) -> tuple[str, ...]:
    """The scopes, each once, in the order of `SCOPES`; at least one."""
    if not isinstance(scopes, list | tuple) or not scopes:
        raise OperatorError("a credential needs at least one scope")
    for scope in scopes:
        if scope not in SCOPES:
            raise OperatorError(f"unknown scope {scope!r}: scopes are {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in scopes)


def client_secret(secret: object) -> str:
    if not isinstance(secret, str) or not secret:
        raise OperatorError("the client secret must be a non-empty string")
    return secret


def client_id(value: object) -> str:
    if not is_client_id(value):
        raise OperatorError("a client id is 32 lower-case hexadecimal characters")
    assert isinstance(value, str)
    return value


async def create_credential(
    db: Database,
    clock: Clock,
    company_id: str,
    name: str,
    scopes: list[str],
    *,
    given_client_id: str | None = None,
    given_secret: str | None = None,
) -> NewCredential:
    """A v2 API credential; its client id and secret are generated unless given. Its name is
    unique among the company's active credentials (the fixture loader matches by it)."""
    name = credential_name(name)
    chosen = credential_scopes(scopes)
    new_client_id = generate_client_id() if given_client_id is None else client_id(given_client_id)
    secret = generate_key() if given_secret is None else client_secret(given_secret)
    async with db.transaction() as tx:
        # Locked: two concurrent creations must not both see 9 credentials and make 11.
        company = await require_company(tx, company_id, lock=True)
        if await credential_store.count_active(tx, company.id) >= MAX_ACTIVE_CREDENTIALS:
            raise OperatorError(
                f"the company has {MAX_ACTIVE_CREDENTIALS} active API credentials already;"
                " revoke one first"
            )
        if await credential_store.active_by_name(tx, company.id, name) is not None:
            raise OperatorError(f"an active API credential named {name!r} exists already")
        if await credential_store.get_by_client_id(tx, new_client_id) is not None:
            raise OperatorError(f"the client id {new_client_id} is taken")
        await credential_store.insert_credential(
            tx, new_id(), company.id, new_client_id, hash_key(secret), name, chosen, clock.now_ms()
        )
    return NewCredential(new_client_id, secret, name, chosen)


async def revoke_credential(db: Database, clock: Clock, company_id: str, client: str) -> None:
    """Revoke a credential: the tokens made from it stop working at once."""
    company = await require_company(db, company_id)
    wanted = client.lower()
    if not is_client_id(wanted) or not await credential_store.revoke_credential(
        db, company.id, wanted, clock.now_ms()
    ):
        raise OperatorError(f"no active API credential {client} in company {company.id}")


async def list_credentials(db: Database, company_id: str) -> list[CredentialInfo]:
    company = await require_company(db, company_id)
    return await credential_store.list_credentials(db, company.id)


async def add_group(
    db: Database, clock: Clock, company_id: str, name: str, public: bool, parent_id: str | None
) -> str:
    async with db.transaction() as tx:
        company = await require_company(tx, company_id)
        if not _text(name, "group name").strip():
            raise OperatorError("the group name must not be empty")
        if parent_id is not None:
            parent_id = await _require_group(tx, company.id, parent_id)
        group = Group(new_id(), name, public, parent_id)
        await group_store.upsert_group(tx, company.id, group, clock.now_ms())
    return group.id


async def add_user(
    db: Database,
    clock: Clock,
    company_id: str,
    mail: str,
    first_name: str,
    last_name: str,
    status: str,
    roles: dict[str, str],
) -> str:
    mail_key = normalize_email(mail)
    if mail_key is None:
        raise OperatorError(f"not a valid e-mail address: {mail}")
    if status not in USER_STATUSES:
        raise OperatorError(f"status must be one of {', '.join(USER_STATUSES)}")
    _text(first_name, "first name")
    _text(last_name, "last name")
    async with db.transaction() as tx:
        company = await require_company(tx, company_id)
        if await user_store.user_id_by_mail(tx, company.id, mail_key) is not None:
            raise OperatorError(f"a user with e-mail {mail_key} exists already in this company")
        user = Person(new_id(), mail.strip(), first_name, last_name)
        await user_store.upsert_user(tx, company.id, user, mail_key, status, clock.now_ms())
        for group_id, given in roles.items():
            role = ROLE_ALIASES.get(given, given)
            if role not in ROLES:
                raise OperatorError(f"role must be one of {', '.join(ROLES)}, not {given!r}")
            group_id = await _require_group(tx, company.id, group_id)
            await user_store.set_role(tx, user.id, group_id, role)
    return user.id


async def add_path(
    db: Database, clock: Clock, company_id: str, name: str, group_id: str, status: str
) -> str:
    if status not in PATH_STATUSES:
        raise OperatorError(f"status must be one of {', '.join(PATH_STATUSES)}")
    async with db.transaction() as tx:
        company = await require_company(tx, company_id)
        if not _text(name, "path name").strip():
            raise OperatorError("the path name must not be empty")
        group_id = await _require_group(tx, company.id, group_id)
        now = clock.now_ms()
        path = Path(new_id(), name, group_id, status, now, now)
        await path_store.upsert_path(tx, company.id, path)
    return path.id
