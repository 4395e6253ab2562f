"""Reads of a company's groups, users and paths. Malformed and foreign ids are not found."""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..storage import Database
from ..storage import directory as store
from .errors import DomainError, ErrorCode
from .listing import ListQuery, Page
from .model import Company, Group, PathWithSessions, Person
from .values import is_object_id, normalize_email


def list_groups(company: Company, db: Database) -> AsyncIterator[list[Group]]:
    return store.iter_groups(db, company.id)


async def groups_page(company: Company, db: Database, query: ListQuery) -> Page[Group]:
    return await store.page_groups(db, company.id, query)


async def get_group(company: Company, db: Database, group_id: str) -> Group:
    group = None
    if is_object_id(group_id):
        group = await store.get_group(db, company.id, group_id.lower())
    if group is None:
        raise DomainError(ErrorCode.GROUP_NOT_FOUND)
    return group


def list_users(company: Company, db: Database) -> AsyncIterator[list[Person]]:
    return store.iter_users(db, company.id)


async def get_user(company: Company, db: Database, id_or_mail: str) -> Person:
    """By id, or by e-mail address (matched case-insensitively); deleted users are not found."""
    user = None
    if is_object_id(id_or_mail):
        user = await store.get_user(db, company.id, id_or_mail.lower())
    else:
        mail = normalize_email(id_or_mail)
        if mail is not None:
            user = await store.get_user_by_mail(db, company.id, mail)
    if user is None:
        raise DomainError(ErrorCode.USER_NOT_FOUND)
    return user


def list_paths(company: Company, db: Database) -> AsyncIterator[list[PathWithSessions]]:
    return store.iter_paths(db, company.id)


async def get_path(company: Company, db: Database, path_id: str) -> PathWithSessions:
    found = None
    if is_object_id(path_id):
        found = await store.get_path_with_sessions(db, company.id, path_id.lower())
    if found is None:
        raise DomainError(ErrorCode.PATH_NOT_FOUND)
    return found
