"""Reads of a company's groups, users and paths. Malformed and foreign ids are not found."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from functools import partial

from ..storage import Database
from ..storage import groups as group_store
from ..storage import paths as path_store
from ..storage import users as user_store
from .errors import DomainError, ErrorCode
from .listing import ListQuery, Page
from .lookups import owned
from .model import Company, Group, Membership, PathProfile, PathWithSessions, Person, UserProfile
from .values import is_object_id, normalize_email


def list_groups(company: Company, db: Database) -> AsyncIterator[list[Group]]:
    return group_store.iter_groups(db, company.id)


async def groups_page(company: Company, db: Database, query: ListQuery) -> Page[Group]:
    return await group_store.page_groups(db, company.id, query)


async def get_group(company: Company, db: Database, group_id: str) -> Group:
    return await owned(
        group_id, partial(group_store.get_group, db, company.id), ErrorCode.GROUP_NOT_FOUND
    )


def list_users(company: Company, db: Database) -> AsyncIterator[list[Person]]:
    return user_store.iter_users(db, company.id)


async def get_user(company: Company, db: Database, id_or_mail: str) -> Person:
    """By id, or by e-mail address (matched case-insensitively); deleted users are not found."""
    user = None
    if is_object_id(id_or_mail):
        user = await user_store.get_user(db, company.id, id_or_mail.lower())
    else:
        mail = normalize_email(id_or_mail)
        if mail is not None:
            user = await user_store.get_user_by_mail(db, company.id, mail)
    if user is None:
        raise DomainError(ErrorCode.USER_NOT_FOUND)
    return user


async def get_user_profile(company: Company, db: Database, user_id: str) -> UserProfile:
    """By id only, deleted users included."""
    fetch = partial(user_store.get_user_profile, db, company.id)
    return await owned(user_id, fetch, ErrorCode.USER_NOT_FOUND)


def users_page(company: Company, db: Database, query: ListQuery) -> Awaitable[Page[UserProfile]]:
    """Deleted users included: `status[ne]=deleted` leaves them out."""
    return user_store.page_users(db, company.id, query)


async def user_roles_page(
    company: Company, db: Database, user_id: str, query: ListQuery
) -> Page[Membership]:
    """The user's roles, by group id; a deleted user's roles are shown too."""
    user = await get_user_profile(company, db, user_id)
    return await user_store.page_user_roles(db, user.id, query)


async def group_roles_page(
    company: Company, db: Database, group_id: str, query: ListQuery
) -> Page[Membership]:
    """The roles held in the group, by user id (deleted users' too, as the users list)."""
    group = await get_group(company, db, group_id)
    return await user_store.page_group_roles(db, group.id, query)


# The languages a user may have, as v2 names them.
USER_LANGS = (
    "bg", "cs", "da", "de", "el", "en", "es", "fi", "fr", "hr", "ht_HT", "hu", "id", "it", "ja",
    "kar_MM", "ko", "lt", "mh_MH", "nl", "nl_BE", "no", "pl", "pt", "ro", "ru", "rw_RW", "sk",
    "sl", "so_SO", "sv", "sw_KE", "th", "ti_ET", "tr", "uk", "zh", "vi",
)  # fmt: skip
# The languages a path may be written and shown in: more than a user's.
PATH_LANGS = (
    *USER_LANGS,
    "am_ET", "bn", "bs", "ca", "cy", "en_CA", "en_GB", "es_AR", "es_MX", "et", "fr_CA", "gu",
    "he_IL", "hy", "kk", "km", "lo", "lv", "mi", "mn_MN", "mr", "ms", "my_MM", "nn_NO", "or",
    "pa", "pt_BR", "pt_MZ", "rn_BI", "si", "ta", "te", "tl_PH", "ur", "uz", "yo_NG", "zh_tw",
    "hi", "sr", "ar", "zh_HANT",
)  # fmt: skip


def list_paths(company: Company, db: Database) -> AsyncIterator[list[PathWithSessions]]:
    return path_store.iter_paths(db, company.id)


async def get_path(company: Company, db: Database, path_id: str) -> PathWithSessions:
    fetch = partial(path_store.get_path_with_sessions, db, company.id)
    return await owned(path_id, fetch, ErrorCode.PATH_NOT_FOUND)


def paths_page(company: Company, db: Database, query: ListQuery) -> Awaitable[Page[PathProfile]]:
    return path_store.page_paths(db, company.id, query)


async def get_path_profile(company: Company, db: Database, path_id: str) -> PathProfile:
    fetch = partial(path_store.get_path_profile, db, company.id)
    return await owned(path_id, fetch, ErrorCode.PATH_NOT_FOUND)
