"""v1's wire shapes: records -> the JSON objects v1 answers, in its field names."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import msgspec

from ...core.model import Group, Path, PathWithSessions, Person, SessionDetail, StoredSession
from ...core.values import format_date

T = TypeVar("T")
_encode = msgspec.json.Encoder().encode


def session_item(s: StoredSession) -> dict[str, Any]:
    # A session never modified has both dates the same: formatted once (a list formats
    # millions of them).
    created = format_date(s.created_at)
    # The documented keys come first, in the documented order.
    return {
        "sessionName": s.name,
        "sessionId": s.id,
        "sessionOwnerGroup": s.owner_group_id,
        "pathId": s.path_id,
        "startDate": format_date(s.start_date),
        "endDate": None if s.end_date is None else format_date(s.end_date),
        # A tuple encodes as the same JSON array, without a copy.
        "instructorsMails": s.instructor_mails,
        "sessionAdditionalInformation": s.additional_information,
        "createdAt": created,
        "modifiedAt": created if s.modified_at == s.created_at else format_date(s.modified_at),
    }


def session_detail(d: SessionDetail) -> dict[str, Any]:
    return {
        **session_item(d.session),
        # The path's own fields, not its sessionIds: those would make every read of one
        # session cost as much as listing all the sessions of its path.
        "path": path_summary(d.path),
        "users": [user_object(u) for u in d.users],
        "groups": [{"_id": g.id, "name": g.name} for g in d.groups],
    }


def user_object(u: Person) -> dict[str, Any]:
    return {"_id": u.id, "mail": u.mail, "firstName": u.first_name, "lastName": u.last_name}


def group_object(g: Group) -> dict[str, Any]:
    group: dict[str, Any] = {"_id": g.id, "name": g.name, "public": g.public}
    if g.parent_id is not None:
        group["parent"] = g.parent_id
    return group


def path_summary(p: Path) -> dict[str, Any]:
    return {
        "_id": p.id,
        "name": p.name,
        "groupId": p.group_id,
        "status": p.status,
        "createdAt": format_date(p.created_at),
        "modifiedAt": format_date(p.modified_at),
    }


def path_object(p: PathWithSessions) -> dict[str, Any]:
    return {**path_summary(p.path), "sessionIds": p.session_ids}


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
