"""The company's groups, users and paths, as the v1 read endpoints show them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from .domain import Company, Person, is_object_id, normalize_email
from .errors import ApiError
from .storage import Database, Row, directory
from .views import group_object, path_object


def list_groups(company: Company, db: Database) -> AsyncIterator[list[Row]]:
    return directory.iter_groups(db, company.id)


async def get_group(company: Company, db: Database, group_id: str) -> dict[str, Any]:
    row = None
    if is_object_id(group_id):
        row = await directory.get_group(db, company.id, group_id.lower())
    if row is None:
        raise ApiError("group_not_found")
    return group_object(row)


def list_users(company: Company, db: Database) -> AsyncIterator[list[Person]]:
    return directory.iter_users(db, company.id)


async def get_user(company: Company, db: Database, id_or_mail: str) -> Person:
    """By id, or by e-mail address (matched case-insensitively); deleted users are not found."""
    user = None
    if is_object_id(id_or_mail):
        user = await directory.get_user(db, company.id, id_or_mail.lower())
    else:
        mail = normalize_email(id_or_mail)
        if mail is not None:
            user = await directory.get_user_by_mail(db, company.id, mail)
    if user is None:
        raise ApiError("user_not_found")
    return user


def list_paths(company: Company, db: Database) -> AsyncIterator[list[tuple[Row, list[str]]]]:
    return directory.iter_paths(db, company.id)


async def get_path(company: Company, db: Database, path_id: str) -> dict[str, Any]:
    found = None
    if is_object_id(path_id):
        found = await directory.get_path(db, company.id, path_id.lower())
    if found is None:
        raise ApiError("path_not_found")
    return path_object(*found)
