"""A company's paths: reads that answer records, and the operators' writes.

Every query that answers the API names the company: another company's object is not found,
exactly like a missing one. The `*_company` lookups answer whose an id is, for the operators'
checks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import msgspec

from ..core.listing import ListQuery, Page
from ..core.model import (
    Path,
    PathOptions,
    PathProfile,
    PathTranslation,
    PathWithSessions,
)
from .database import Database, Row, keyset_batches
from .listing import fetch_page

_PATH_COLUMNS = "id, name, group_id, status, created_at, modified_at"


def _path(row: Row) -> Path:
    return Path(row[0], row[1], row[2], row[3], int(row[4]), int(row[5]))


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
