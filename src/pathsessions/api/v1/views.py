"""v1's wire shapes: records -> the JSON objects v1 answers, in its field names."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

import msgspec

from ...core.listing import ListedSessions
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


class _ListedItem(msgspec.Struct, rename="camel", gc=False):
    """An item of the full list: the keys of `session_item`, in its order (tests compare the
    two byte for byte). A struct encodes in one call of msgspec's, without a dict a session;
    `gc=False`: it holds strings alone, and a list builds millions."""

    session_name: str
    session_id: str
    session_owner_group: str
    path_id: str
    start_date: str
    end_date: str | None
    instructors_mails: Sequence[str]
    session_additional_information: str | None
    created_at: str
    modified_at: str


def listed_items(batch: ListedSessions) -> list[_ListedItem]:
    """The items of a slice of the full list, from its rows as read (no record per session)."""
    mails = batch.instructor_mails
    date = format_date
    items = []
    for sid, name, group, path, start, end, info, created, modified in batch.rows:
        created_text = date(created)
        items.append(
            _ListedItem(
                name,
                sid,
                group,
                path,
                date(start),
                None if end is None else date(end),
                mails.get(sid, ()),
                info,
                created_text,
                created_text if modified == created else date(modified),
            )
        )
    return items


async def session_list(batches: AsyncIterator[ListedSessions]) -> AsyncIterator[bytes]:
    """The full list as a JSON array written slice by slice (as `json_array`)."""
    prefix = b"["
    for_first = True
    async for batch in batches:
        if not batch.rows:
            continue
        encoded = _encode(listed_items(batch))
        # One copy: the slice's own brackets dropped while joining it to what went before.
        yield prefix + memoryview(encoded)[1:-1]
        if for_first:
            prefix, for_first = b",", False
    yield b"]" if not for_first else b"[]"


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
