"""A `ListQuery` as SQL: its conditions on the columns a query maps its fields to, then the
keyset (`id > ?`), the order and the limit. Keyset, never OFFSET: a page deep in the list costs
what the first one does.

One row more than the page is read, so that whether another page exists is known without a
second query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ..core.listing import Condition, ListQuery, Page
from .database import Database, Row

T = TypeVar("T")

_COMPARISONS = {"eq": "=", "ne": "<>", "lt": "<", "gte": ">="}


def _condition(db: Database, condition: Condition, column: str) -> tuple[str, Any]:
    if condition.op in ("in", "nin"):
        assert isinstance(condition.value, tuple)
        sql = db.any_of(column)
        if condition.op == "in":
            return sql, db.array(condition.value)
        # A missing value (NULL) is none of the values given, as for `ne` below.
        return f"({column} IS NULL OR NOT ({sql}))", db.array(condition.value)
    if condition.op == "ne":
        # A missing value (NULL) differs from any value given.
        return f"({column} IS NULL OR {column} <> ?)", condition.value
    return f"{column} {_COMPARISONS[condition.op]} ?", condition.value


def clauses(
    db: Database, query: ListQuery, columns: Mapping[str, str], id_column: str = "id"
) -> tuple[str, list[Any]]:
    """` AND …` for every condition and the keyset, then ` ORDER BY … LIMIT ?`, with their
    arguments: to append to a query whose WHERE already names the company."""
    parts: list[str] = []
    args: list[Any] = []
    for condition in query.conditions:
        sql, arg = _condition(db, condition, columns[condition.field])
        parts.append(sql)
        args.append(arg)
    if query.after is not None:
        parts.append(f"{id_column} > ?")
        args.append(query.after)
    where = "".join(f" AND {part}" for part in parts)
    args.append(query.limit + 1)
    return f"{where} ORDER BY {id_column} LIMIT ?", args


async def fetch_page(
    db: Database,
    select: str,
    args: Sequence[Any],
    query: ListQuery,
    columns: Mapping[str, str],
    record: Callable[[Row], T],
    id_column: str = "id",
) -> Page[T]:
    """The page of `select` (a SELECT whose first column is the id and whose WHERE names the
    company, with its `args`) that `query` asks for."""
    more, more_args = clauses(db, query, columns, id_column)
    rows = await db.fetchall(select + more, *args, *more_args)
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        return Page([record(row) for row in rows], str(rows[-1][0]))
    return Page([record(row) for row in rows], None)
