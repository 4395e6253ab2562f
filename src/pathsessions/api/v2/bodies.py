"""JSON request bodies, decoded into a typed Struct with the first offending field named.

An operation declares its body as a msgspec Struct in the API's field names, with constraints
on the types (`Annotated[str, Meta(min_length=1)]`) and `DateTime` for a date-time; `decode`
answers it, or raises `BadRequest` as `<field path>: <what is wrong>` (`startDate: must be a
date-time YYYY-MM-DDThh:mm:ss.sssZ`, `automaticReenrollment.delayDays: must be >= 1`).
Unknown properties are ignored. For a PATCH, a field typed `T | None | UnsetType = UNSET`
tells absent (UNSET) from null (None).

v2 bodies are JSON only: a form, or any other declared media type, is `badRequest`.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from ...web.asgi import Request
from . import dates
from .errors import BadRequest, field_error

T = TypeVar("T")


class DateTime(int):
    """A date-time field: epoch milliseconds (UTC) once decoded."""


def _decode_hook(kind: type, value: Any) -> Any:
    if kind is DateTime:
        ms = dates.parse(value)
        if ms is None:
            # msgspec adds the field's path to a ValueError raised here.
            raise ValueError(dates.MUST_BE_DATE_TIME)
        return DateTime(ms)
    raise NotImplementedError


_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"Object missing required field `(?P<name>[^`]+)`")
_TYPE_NAMES = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "array": "an array",
    "object": "an object",
    "null": "null",
}


def _what(text: str) -> str:
    """msgspec's wording of a failure -> ours (`Expected `int` >= 1` -> `must be >= 1`)."""
    m = re.fullmatch(r"Expected `(\w+)`, got `\w+`", text)
    if m:
        return f"must be {_TYPE_NAMES.get(m[1], m[1])}"
    m = re.fullmatch(r"Expected `(\w+) \| null`, got `\w+`", text)
    if m:
        return f"must be {_TYPE_NAMES.get(m[1], m[1])} or null"
    m = re.fullmatch(r"Expected `\w+` (>=|<=|>|<) (\S+)", text)
    if m:
        return f"must be {m[1]} {m[2]}"
    m = re.fullmatch(r"Expected `(\w+)` of length (>=|<=) (\d+)", text)
    if m:
        unit = "characters" if m[1] == "str" else "items"
        least = "at least" if m[2] == ">=" else "at most"
        return f"must have {least} {m[3]} {unit}"
    m = re.fullmatch(r"Expected `str` matching regex '(.*)'", text)
    if m:
        return f"must match {m[1]}"
    m = re.fullmatch(r"Invalid enum value (.*)", text)
    if m:
        return f"is not one of the allowed values ({m[1]} given)"
    return text


def _bad_request(error: msgspec.ValidationError) -> BadRequest:
    m = _AT.match(str(error))
    assert m is not None  # the pattern matches any text
    text, path = m["what"], (m["path"] or "").lstrip(".")
    missing = _MISSING.fullmatch(text)
    if missing:
        path = f"{path}.{missing['name']}" if path else missing["name"]
        return field_error(path, "is required")
    return field_error(path or "body", _what(text))


def decode(request: Request, kind: type[T]) -> T:
    """The body of `request` as `kind`, or BadRequest naming the first offending field."""
    media = (request.header(b"content-type") or "application/json").split(";")[0].strip()
    if media.lower() != "application/json" and not media.lower().endswith("+json"):
        raise field_error("body", "must be JSON (Content-Type: application/json)")
    try:
        return msgspec.json.decode(request.body, type=kind, dec_hook=_decode_hook)
    except msgspec.ValidationError as exc:
        raise _bad_request(exc) from None
    except msgspec.DecodeError:
        raise field_error("body", "must be a JSON object") from None
