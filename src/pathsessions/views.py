"""Wire shapes: stored records -> the JSON objects the API answers, in its field names."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, TypeVar

import msgspec

from .domain import Person, StoredSession, format_date
from .storage import Row

T = TypeVar("T")
_encode = msgspec.json.Encoder().encode


def session_item(s: StoredSession) -> dict[str, Any]:
    # The documented keys come first, in the documented order.
    return {
        "sessionName": s.name,
        "sessionId": s.id,
        "sessionOwnerGroup": s.owner_group_id,
        "pathId": s.path_id,
        "startDate": format_date(s.start_date),
        "endDate": None if s.end_date is None else format_date(s.end_date),
        "instructorsMails": list(s.instructor_mails),
        "sessionAdditionalInformation": s.additional_information,
        "createdAt": format_date(s.created_at),
        "modifiedAt": format_date(s.modified_at),
    }


def session_detail(
    s: StoredSession, path: Row, users: Iterable[Person], groups: Iterable[Row]
) -> dict[str, Any]:
    return {
        **session_item(s),
        # The path's own fields, not its sessionIds: those would make every read of one
        # session cost as much as listing all the sessions of its path.
        "path": path_summary(path),
        "users": [user_object(u) for u in users],
        "groups": [{"_id": g[0], "name": g[1]} for g in groups],
    }


def user_object(u: Person) -> dict[str, Any]:
    return {"_id": u.id, "mail": u.mail, "firstName": u.first_name, "lastName": u.last_name}


def group_object(row: Row) -> dict[str, Any]:
    group = {"_id": row[0], "name": row[1], "public": bool(row[2])}
    if row[3] is not None:
        group["parent"] = row[3]
    return group


def path_summary(row: Row) -> dict[str, Any]:
    return {
        "_id": row[0],
        "name": row[1],
        "groupId": row[2],
        "status": row[3],
        "createdAt": format_date(int(row[4])),
        "modifiedAt": format_date(int(row[5])),
    }


def path_object(row: Row, session_ids: list[str]) -> dict[str, Any]:
    return {**path_summary(row), "sessionIds": session_ids}


async def json_array(
    batches: AsyncIterator[list[T]], encode: Callable[[T], Any]
) -> AsyncIterator[bytes]:
    """A JSON array written batch by batch, so memory does not grow with its length.

    The first chunk comes only once the first batch is read: a failing query is then still
    answered with a proper 500, before any header has gone out."""
    prefix = b"["
    async for batch in batches:
        if not batch:
            continue
        yield prefix + _encode([encode(item) for item in batch])[1:-1]
        prefix = b","
    yield b"[]" if prefix == b"[" else b"]"
