"""A company's groups, users and paths: reads that answer records, and the operators' writes.

Every query that answers the API names the company: another company's object is not found,
exactly like a missing one. The `*_company` lookups answer whose an id is, for the operators'
checks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import msgspec

from ..core.listing import ListQuery, Page
from ..core.model import (
    Group,
    Membership,
    Path,
    PathOptions,
    PathProfile,
    PathTranslation,
    PathWithSessions,
    Person,
    UserProfile,
)
from .database import Database, Row, keyset_batches
from .listing import fetch_page

_GROUP_COLUMNS = "id, name, public, parent_id, custom"
_USER_COLUMNS = "id, mail, first_name, last_name"
_PATH_COLUMNS = "id, name, group_id, status, created_at, modified_at"


def _group(row: Row) -> Group:
    return Group(row[0], row[1], bool(row[2]), row[3], row[4])


def _person(row: Row) -> Person:
    return Person(row[0], row[1], row[2], row[3])


def _path(row: Row) -> Path:
    return Path(row[0], row[1], row[2], row[3], int(row[4]), int(row[5]))


# --- Groups ------------------------------------------------------------------------------


async def iter_groups(db: Database, company_id: str) -> AsyncIterator[list[Group]]:
    async for rows in keyset_batches(
        db,
        f"SELECT {_GROUP_COLUMNS} FROM company_groups WHERE company_id = ? AND id > ? ORDER BY id",
        company_id,
    ):
        yield [_group(row) for row in rows]


# The fields a list of groups may be filtered on, by column (none yet: v2 lists them all).
GROUP_FIELDS: dict[str, str] = {}


async def page_groups(db: Database, company_id: str, query: ListQuery) -> Page[Group]:
    return await fetch_page(
        db,
        f"SELECT {_GROUP_COLUMNS} FROM company_groups WHERE company_id = ?",
        [company_id],
        query,
        GROUP_FIELDS,
        _group,
    )


async def get_group(db: Database, company_id: str, group_id: str) -> Group | None:
    row = await db.fetchone(
        f"SELECT {_GROUP_COLUMNS} FROM company_groups WHERE id = ? AND company_id = ?",
        group_id,
        company_id,
    )
    return None if row is None else _group(row)


async def group_exists(db: Database, company_id: str, group_id: str) -> bool:
    row = await db.fetchone(
        "SELECT 1 FROM company_groups WHERE id = ? AND company_id = ?", group_id, company_id
    )
    return row is not None


async def existing_group_ids(db: Database, company_id: str, group_ids: Sequence[str]) -> set[str]:
    rows = await db.fetchall(
        "SELECT id FROM company_groups WHERE company_id = ? AND " + db.any_of("id"),
        company_id,
        db.array(group_ids),
    )
    return {row[0] for row in rows}


async def group_company(db: Database, group_id: str) -> str | None:
    row = await db.fetchone("SELECT company_id FROM company_groups WHERE id = ?", group_id)
    return None if row is None else str(row[0])


async def group_id_by_name(
    db: Database, company_id: str, name: str, parent_id: str | None
) -> str | None:
    row = await db.fetchone(
        "SELECT id FROM company_groups WHERE company_id = ? AND name = ? AND"
        " (parent_id = ? OR (parent_id IS NULL AND CAST(? AS TEXT) IS NULL))",
        company_id,
        name,
        parent_id,
        parent_id,
    )
    return None if row is None else str(row[0])


async def upsert_group(db: Database, company_id: str, group: Group, now: int) -> None:
    await db.execute(
        "INSERT INTO company_groups (id, company_id, name, public, parent_id, custom,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        " name = excluded.name, public = excluded.public, parent_id = excluded.parent_id,"
        " custom = excluded.custom",
        group.id,
        company_id,
        group.name,
        group.public,
        group.parent_id,
        group.custom,
        now,
    )


# --- Users -------------------------------------------------------------------------------


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


# --- Paths -------------------------------------------------------------------------------


async def _session_ids(db: Database, path_ids: Sequence[str]) -> dict[str, list[str]]:
    rows = await db.fetchall(
        "SELECT path_id, id FROM path_sessions WHERE "
        + db.any_of("path_id")
        + " ORDER BY path_id, id",
        db.array(path_ids),
    )
    found: dict[str, list[str]] = {}
    for path_id, session_id in rows:
        found.setdefault(path_id, []).append(session_id)
    return found


async def iter_paths(db: Database, company_id: str) -> AsyncIterator[list[PathWithSessions]]:
    """Paths with their session ids, 50 paths a batch: a batch holds all their sessions'
    ids, so memory follows the sessions of 50 paths, not of the company."""
    async for rows in keyset_batches(
        db,
        f"SELECT {_PATH_COLUMNS} FROM paths WHERE company_id = ? AND id > ? ORDER BY id",
        company_id,
        50,
    ):
        sessions = await _session_ids(db, [row[0] for row in rows])
        yield [PathWithSessions(_path(row), sessions.get(row[0], [])) for row in rows]


async def get_path(db: Database, company_id: str, path_id: str) -> Path | None:
    row = await db.fetchone(
        f"SELECT {_PATH_COLUMNS} FROM paths WHERE id = ? AND company_id = ?",
        path_id,
        company_id,
    )
    return None if row is None else _path(row)


async def get_path_with_sessions(
    db: Database, company_id: str, path_id: str
) -> PathWithSessions | None:
    path = await get_path(db, company_id, path_id)
    if path is None:
        return None
    return PathWithSessions(path, (await _session_ids(db, [path_id])).get(path_id, []))


async def path_exists(db: Database, company_id: str, path_id: str) -> bool:
    row = await db.fetchone(
        "SELECT 1 FROM paths WHERE id = ? AND company_id = ?", path_id, company_id
    )
    return row is not None


async def path_company(db: Database, path_id: str) -> str | None:
    row = await db.fetchone("SELECT company_id FROM paths WHERE id = ?", path_id)
    return None if row is None else str(row[0])


async def path_id_by_name(db: Database, company_id: str, name: str) -> str | None:
    row = await db.fetchone(
        "SELECT id FROM paths WHERE company_id = ? AND name = ? ORDER BY id", company_id, name
    )
    return None if row is None else str(row[0])


async def upsert_path(db: Database, company_id: str, path: Path) -> None:
    """`modified_at` of the record is written on both insert and update."""
    await db.execute(
        "INSERT INTO paths (id, company_id, name, group_id, status, created_at, modified_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
        " group_id = excluded.group_id, status = excluded.status,"
        " modified_at = excluded.modified_at",
        path.id,
        company_id,
        path.name,
        path.group_id,
        path.status,
        path.created_at,
        path.modified_at,
    )


# The platform owner stands for a path without an author of its own.
_PATH_PROFILE_COLUMNS = (
    "p.id, p.name, p.group_id, p.status, p.created_at, p.modified_at,"
    " COALESCE(p.author_id, c.owner_user_id), p.co_author_ids, p.default_lang, p.source_lang,"
    " p.options, p.translations, p.certificate_id, p.description, p.additional_information"
)
_PATH_PROFILE_FROM = "paths p JOIN companies c ON c.id = p.company_id"
_decode_ids = msgspec.json.Decoder(tuple[str, ...]).decode
_decode_options = msgspec.json.Decoder(PathOptions).decode
_decode_translations = msgspec.json.Decoder(tuple[PathTranslation, ...]).decode
_encode = msgspec.json.Encoder().encode


def _path_profile(row: Row) -> PathProfile:
    return PathProfile(
        _path(row),
        row[6],
        _decode_ids(row[7]),
        row[8],
        row[9],
        _decode_options(row[10]),
        _decode_translations(row[11]),
        row[12],
        row[13],
        row[14],
    )


# The fields a list of paths may be filtered on, by column.
PATH_FIELDS = {"createdAt": "p.created_at", "modifiedAt": "p.modified_at", "status": "p.status"}


async def page_paths(db: Database, company_id: str, query: ListQuery) -> Page[PathProfile]:
    return await fetch_page(
        db,
        f"SELECT {_PATH_PROFILE_COLUMNS} FROM {_PATH_PROFILE_FROM} WHERE p.company_id = ?",
        [company_id],
        query,
        PATH_FIELDS,
        _path_profile,
        id_column="p.id",
    )


async def get_path_profile(db: Database, company_id: str, path_id: str) -> PathProfile | None:
    row = await db.fetchone(
        f"SELECT {_PATH_PROFILE_COLUMNS} FROM {_PATH_PROFILE_FROM}"
        " WHERE p.id = ? AND p.company_id = ?",
        path_id,
        company_id,
    )
    return None if row is None else _path_profile(row)


async def upsert_path_profile(db: Database, company_id: str, profile: PathProfile) -> None:
    """As `upsert_path`, with every v2 field written too (`author_id` None: the owner)."""
    path = profile.path
    await db.execute(
        "INSERT INTO paths (id, company_id, name, group_id, status, created_at, modified_at,"
        " author_id, co_author_ids, default_lang, source_lang, options, translations,"
        " certificate_id, description, additional_information)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
        " group_id = excluded.group_id, status = excluded.status,"
        " modified_at = excluded.modified_at, author_id = excluded.author_id,"
        " co_author_ids = excluded.co_author_ids, default_lang = excluded.default_lang,"
        " source_lang = excluded.source_lang, options = excluded.options,"
        " translations = excluded.translations, certificate_id = excluded.certificate_id,"
        " description = excluded.description,"
        " additional_information = excluded.additional_information",
        path.id,
        company_id,
        path.name,
        path.group_id,
        path.status,
        path.created_at,
        path.modified_at,
        profile.author_id,
        _encode(profile.co_author_ids).decode(),
        profile.default_lang,
        profile.source_lang,
        _encode(profile.options).decode(),
        _encode(profile.translations).decode(),
        profile.certificate_id,
        profile.description,
        profile.additional_information,
    )
