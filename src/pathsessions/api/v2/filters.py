"""List filters (`field[operator]=value`, all combined with AND), declared per endpoint.

An endpoint names its fields and their kind: `{"createdAt": DATE, "pathId": ID, "status":
choice("published", "archived")}`. `parse` reads the query string into core `Condition`s, or
raises `BadRequest` for an unknown field or operator or a malformed value, the message naming
the parameter first (`createdAt[gte]: must be …`).

Kinds: DATE (`lt`, `gte`; a date-time or a bare `YYYY-MM-DD`), ID (`eq`, `ne`, `in`, `nin`;
24 hexadecimal digits), MAIL (the same operators; compared case-insensitively), TEXT (the same;
compared exactly) and `choice(...)` (`eq`, `ne` by default; one of the values given). A list is
`f[in]=a&f[in]=b` or `f[in][0]=a&f[in][1]=b`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import parse_qsl

from ...core.listing import Condition, Operator
from ...core.values import is_object_id, storable
from . import dates
from .errors import field_error

# The most values one list operator takes: enough for any real filter, and it bounds the SQL.
MAX_LIST = 1000
LIST_OPERATORS = frozenset({"in", "nin"})
_KEY = re.compile(
    r"(?P<field>[A-Za-z_][A-Za-z0-9_]*)\[(?P<op>[A-Za-z]+)\](?:\[(?P<index>[0-9]+)\])?"
)


@dataclass(frozen=True)
class Kind:
    operators: tuple[Operator, ...]
    # A query value -> the value to compare with, or None if malformed.
    parse: Callable[[str], int | str | None]
    # What a malformed value must be, for the message.
    expected: str
    # The values allowed, for the description.
    values: tuple[str, ...] = ()
    # The JSON Schema of a value, for the description (with `values`, their enum).
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


def _id(value: str) -> str | None:
    return value.lower() if is_object_id(value) else None


def _mail(value: str) -> str | None:
    value = value.strip()
    return value.lower() if value and storable(value) else None


def _text(value: str) -> str | None:
    return value if value and storable(value) else None


DATE = Kind(
    ("lt", "gte"),
    dates.parse_filter,
    dates.MUST_BE_DATE_OR_DATE_TIME,
    schema={"type": "string", "anyOf": [{"format": "date-time"}, {"format": "date"}]},
)
ID = Kind(
    ("eq", "ne", "in", "nin"),
    _id,
    "must be an id of 24 hexadecimal digits",
    schema={"type": "string", "pattern": "^[a-fA-F0-9]{24}$"},
)
# Not blank, and no NUL (which PostgreSQL text cannot hold).
MAIL = Kind(
    ("eq", "ne", "in", "nin"),
    _mail,
    "must be a non-empty string",
    schema={"type": "string", "pattern": "^[^\\x00]*[^\\s\\x00][^\\x00]*$"},
)
TEXT = Kind(
    ("eq", "ne", "in", "nin"),
    _text,
    "must be a non-empty string",
    schema={"type": "string", "pattern": "^[^\\x00]+$"},
)


def choice(*values: str, operators: tuple[Operator, ...] = ("eq", "ne")) -> Kind:
    allowed = frozenset(values)
    return Kind(
        operators,
        lambda v: v if v in allowed else None,
        "must be one of " + ", ".join(values),
        values,
    )


Filters = Mapping[str, Kind]


def pairs(query_string: bytes) -> list[tuple[str, str]]:
    return parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)


def parse(params: list[tuple[str, str]], fields: Filters) -> tuple[Condition, ...]:
    """The conditions of `params` (the query string's pairs, in order), by `fields`."""
    scalars: dict[tuple[str, Operator], int | str] = {}
    lists: dict[tuple[str, Operator], list[str]] = {}
    for key, raw in params:
        m = _KEY.fullmatch(key)
        if m is None:
            raise field_error(key, "is not a filter: write field[operator]=value")
        name, index = m["field"], m["index"]
        op = cast(Operator, m["op"])
        kind = fields.get(name)
        if kind is None:
            known = ", ".join(fields) or "none"
            raise field_error(key, f"is not a filter of this list (filters: {known})")
        if op not in kind.operators:
            raise field_error(key, f"{name} takes the operators {', '.join(kind.operators)}")
        if index is not None and op not in LIST_OPERATORS:
            raise field_error(key, f"{op} takes one value")
        value = kind.parse(raw)
        if value is None:
            raise field_error(key, kind.expected)
        if op in LIST_OPERATORS:
            values = lists.setdefault((name, op), [])
            if len(values) == MAX_LIST:
                raise field_error(f"{name}[{op}]", f"takes at most {MAX_LIST} values")
            values.append(str(value))
        elif (name, op) in scalars:
            raise field_error(key, "is given more than once")
        else:
            scalars[(name, op)] = value
    conditions = [Condition(name, op, value) for (name, op), value in scalars.items()]
    conditions += [Condition(name, op, tuple(vs)) for (name, op), vs in lists.items()]
    return tuple(conditions)
