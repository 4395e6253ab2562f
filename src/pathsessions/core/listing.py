"""One page of a list, asked for in the same terms by every API version and answered by
storage: the conditions (a field, an operator, a value) all combined with AND, the id after
which the page starts, and its size.

Field names are the list's own (`createdAt`, `pathId`); each storage query maps them onto its
columns (storage/listing.py). Values are already parsed: dates in epoch milliseconds, ids and
e-mail addresses lower-cased.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, Literal, TypeVar

import msgspec

Operator = Literal["eq", "ne", "in", "nin", "lt", "gte"]
Value = int | str | tuple[str, ...]

T = TypeVar("T")


class Condition(msgspec.Struct, frozen=True, array_like=True):
    field: str
    op: Operator
    value: Value


class ListQuery(msgspec.Struct, frozen=True):
    conditions: tuple[Condition, ...] = ()
    # The last id of the previous page: this page holds the ids after it, ascending.
    after: str | None = None
    limit: int = 500


class Page(msgspec.Struct, Generic[T], frozen=True):
    items: Sequence[T]
    # The id to start the next page after; None on the last page.
    next_after: str | None


# The columns of a `ListedSessions` row, in this order. Dates are epoch milliseconds.
LISTED_COLUMNS = (
    "id", "name", "owner_group_id", "path_id", "start_date", "end_date",
    "additional_information", "created_at", "modified_at",
)  # fmt: skip


class ListedSessions(msgspec.Struct, frozen=True):
    """A slice of a company's whole list of sessions, as read: the rows (`LISTED_COLUMNS`) and
    their instructors' e-mail addresses in order (a session without instructors is absent).

    Rows, not one record object each: a list holds millions, and building an object per
    session cost more than reading it (docs/performance.md)."""

    rows: Sequence[Sequence[Any]]
    instructor_mails: Mapping[str, Sequence[str]]
