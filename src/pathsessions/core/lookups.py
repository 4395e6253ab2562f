"""The checks against stored data that operations share: one object of the company found by
its id, and the `Lookups` that a version's parsing interleaves with its own checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from ..storage import Database
from ..storage import groups as group_store
from ..storage import paths as path_store
from ..storage import sessions as store
from ..storage import users as user_store
from .errors import DomainError, ErrorCode
from .model import Company, StoredSession
from .values import is_object_id

T = TypeVar("T")


async def owned(object_id: str, fetch: Callable[[str], Awaitable[T | None]], code: ErrorCode) -> T:
    """What `fetch` finds by the lower-cased id, else DomainError(code). A malformed id is not
    looked up, and `fetch` is bound to the company: another company's object answers exactly
    like a missing one."""
    found = None
    if is_object_id(object_id):
        found = await fetch(object_id.lower())
    if found is None:
        raise DomainError(code)
    return found


class Lookups:
    """The checks against stored data that a version's parsing interleaves with its own,
    bound to one company and one database (or transaction)."""

    __slots__ = ("company", "db")

    def __init__(self, company: Company, db: Database) -> None:
        self.company = company
        self.db = db

    # `field` names the input checked, in the caller's terms, for the error it may raise.

    async def owner_group(self, group_id: str, field: str | None = None) -> str:
        if not await group_store.group_exists(self.db, self.company.id, group_id):
            raise DomainError(ErrorCode.OWNER_GROUP_NOT_FOUND, field)
        return group_id

    async def instructors(self, mails: list[str], field: str | None = None) -> tuple[str, ...]:
        """The users with these addresses, in order; none given means the platform owner."""
        if not mails:
            if self.company.owner_user_id is None:
                # Companies are always created with an owner; a missing one is a data fault.
                raise RuntimeError(f"company {self.company.id} has no platform owner")
            return (self.company.owner_user_id,)
        found = await user_store.member_ids_by_mail(self.db, self.company.id, mails)
        if len(found) != len(mails):
            raise DomainError(ErrorCode.INSTRUCTORS_NOT_FOUND, field)
        return tuple(found[mail] for mail in mails)

    async def users_by_mail(self, mails: list[str]) -> list[str]:
        """Distinct normalised addresses -> the ids of those users, all or USERS_NOT_FOUND."""
        found = await user_store.member_ids_by_mail(self.db, self.company.id, mails)
        if len(found) != len(mails):
            raise DomainError(ErrorCode.USERS_NOT_FOUND)
        return [found[m] for m in mails]

    async def users_by_id(self, ids: list[str]) -> list[str]:
        """Distinct lower-case ids of users of the company, all or USERS_NOT_FOUND."""
        if len(await user_store.member_ids(self.db, self.company.id, ids)) != len(ids):
            raise DomainError(ErrorCode.USERS_NOT_FOUND)
        return ids

    async def groups(self, ids: list[str]) -> list[str]:
        """Distinct lower-case ids of groups of the company, all or GROUPS_NOT_FOUND."""
        found = await group_store.existing_group_ids(self.db, self.company.id, ids)
        if len(found) != len(ids):
            raise DomainError(ErrorCode.GROUPS_NOT_FOUND)
        return ids


async def find_path(company: Company, db: Database, path_id: str) -> str:
    """The company's path id, lower-cased, or PATH_NOT_FOUND (malformed and foreign ids too)."""
    if not is_object_id(path_id) or not await path_store.path_exists(
        db, company.id, path_id.lower()
    ):
        raise DomainError(ErrorCode.PATH_NOT_FOUND)
    return path_id.lower()


async def find_session(
    company: Company, db: Database, session_id: str, *, lock: bool = False
) -> StoredSession:
    """The company's session, or SESSION_NOT_FOUND (malformed and foreign ids too)."""
    fetch = partial(store.get_session, db, company.id, lock=lock)
    return await owned(session_id, fetch, ErrorCode.SESSION_NOT_FOUND)
