"""v2's dates on the wire.

Output: `YYYY-MM-DDThh:mm:ss.sssZ`, in UTC. Input: the same form, and any offset and fraction
v1 accepts, normalised to UTC. Date filters also take a bare `YYYY-MM-DD`: midnight UTC.
"""

from __future__ import annotations

import re

from ...core.values import format_date, parse_date

FORMAT = "YYYY-MM-DDThh:mm:ss.sssZ"
MUST_BE_DATE_TIME = f"must be a date-time {FORMAT}"
MUST_BE_DATE_OR_DATE_TIME = f"must be a date-time {FORMAT} or a date YYYY-MM-DD"

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def to_wire(ms: int) -> str:
    return format_date(ms)


def parse(value: object) -> int | None:
    """A date-time -> epoch milliseconds, or None if it is not one."""
    return parse_date(value)


def parse_filter(value: str) -> int | None:
    """A date-time, or a bare date meaning its midnight UTC."""
    if _DAY.fullmatch(value):
        return parse_date(value + "T00:00:00Z")
    return parse_date(value)
