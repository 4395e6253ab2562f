"""Pure helpers on values: ids, dates, e-mail addresses, text, and the limits on fields.

Imports nothing of ours."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

# --- ObjectIds -----------------------------------------------------------------------------

_HEX_DIGITS = "0123456789abcdefABCDEF"


def is_object_id(value: object) -> bool:
    # 24 hexadecimal digits, checked without a regular expression: a fixture names ids by the
    # hundred thousand.
    return isinstance(value, str) and len(value) == 24 and not value.strip(_HEX_DIGITS)


# --- Dates ---------------------------------------------------------------------------------

# The W3C profile of ISO 8601, "complete date plus hours, minutes and seconds", with an
# optional fraction of any length. [0-9] rather than \d: \d also matches non-ASCII digits.
_DATE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})"
)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_MIN_MS = (dt.date(1, 1, 1).toordinal() - _EPOCH_ORDINAL) * 86_400_000
_MAX_MS = (dt.date(9999, 12, 31).toordinal() - _EPOCH_ORDINAL + 1) * 86_400_000 - 1


def parse_date(value: object) -> int | None:
    """A W3C date-time string -> milliseconds since the epoch (UTC); None if invalid."""
    if not isinstance(value, str):
        return None
    m = _DATE.fullmatch(value)
    if m is None:
        return None
    # One call for every group: the fixture loader parses hundreds of thousands of dates.
    years, months, days, hours, minutes, seconds, fraction, zone = m.groups()
    hour, minute, second = int(hours), int(minutes), int(seconds)
    if hour > 23 or minute > 59 or second > 59:
        return None
    try:
        ordinal = dt.date(int(years), int(months), int(days)).toordinal()
    except ValueError:  # year 0, month 13, 30 February...
        return None
    millis = int((fraction + "00")[:3]) if fraction else 0  # truncated, never rounded
    offset_minutes = 0
    if zone != "Z":
        oh, om = int(zone[1:3]), int(zone[4:6])
        if oh > 23 or om > 59:
            return None
        offset_minutes = (oh * 60 + om) * (1 if zone[0] == "+" else -1)
    total = (
        (ordinal - _EPOCH_ORDINAL) * 86_400_000
        + ((hour * 60 + minute - offset_minutes) * 60 + second) * 1000
        + millis
    )
    if not _MIN_MS <= total <= _MAX_MS:
        return None  # the UTC instant would fall outside years 0001-9999
    return total


@lru_cache(maxsize=4096)
def _day_prefix(days: int) -> str:
    d = dt.date.fromordinal(_EPOCH_ORDINAL + days)
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}T"


# The time of day in three table lookups: the pieces every formatted date is made of.
_HOUR_MINUTE = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
_SECOND = [f"{s:02d}." for s in range(60)]
_MILLIS = [f"{ms:03d}Z" for ms in range(1000)]


def format_date(ms: int) -> str:
    """Milliseconds since the epoch -> `YYYY-MM-DDThh:mm:ss.sssZ`.

    Integer arithmetic, a cached date part and tables for the time of day: long session lists
    format three or four dates per item, and each step roughly halved their cost."""
    days, rest = divmod(ms, 86_400_000)
    seconds, millis = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    return f"{_day_prefix(days)}{_HOUR_MINUTE[minutes]}{_SECOND[second]}{_MILLIS[millis]}"


# --- E-mail addresses ----------------------------------------------------------------------

# The WHATWG "valid e-mail address" grammar, plus a dot in the domain (a top-level domain is
# required, as in the class-validator library that the real service's messages come from).
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
MAX_EMAIL_LENGTH = 254


def normalize_email(value: object) -> str | None:
    """Trimmed, lower-cased address if `value` is a valid e-mail string, else None."""
    if not isinstance(value, str):
        return None
    candidate = value.strip()
    # Checked before lower-casing: str.lower() maps some non-ASCII letters (the Kelvin sign)
    # onto ASCII ones, which would let them through.
    if len(candidate) > MAX_EMAIL_LENGTH or _EMAIL.fullmatch(candidate) is None:
        return None
    return candidate.lower()


# --- Text and limits --------------------------------------------------------------------------

MAX_SESSION_NAME = 1_000
MAX_ADDITIONAL_INFORMATION = 10_000
MAX_INSTRUCTORS = 100
# Most ids or addresses one enrolment request may name.
MAX_ENROLMENT_ITEMS = 1_000


def storable(value: str) -> bool:
    """PostgreSQL text cannot hold NUL (SQLite can): refused on both, so both behave alike."""
    return "\x00" not in value


def is_running(start_date: int, end_date: int | None, now: int) -> bool:
    """Started, and not ended: no end date, or one still ahead."""
    return start_date <= now and (end_date is None or end_date > now)
