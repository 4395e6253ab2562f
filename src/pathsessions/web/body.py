"""Request bodies: a JSON object, or a URL-encoded form, whatever the content type says.

Public clients send forms labelled `application/json` and the real service reads them, so
the bytes decide: valid JSON is read as JSON, anything else that is a valid form as a form.
Form fields follow the conventions of Node's `qs` parser, which the real service's answers
match: `a[]=x&a[]=y`, `a[0]=x&a[1]=y` and a repeated `a=x&a=y` are arrays; `a[k]=v` is an
object; a single plain `a=x` is a string.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_to_bytes

import msgspec

# Twice the fields of the largest valid body (an enrolment of 1,000 users). Decoding costs
# microseconds a field, so without a cap one 1 MiB form of `a=b&a=b&...` (262,144 fields)
# held a worker for over half a second, on a route open to anyone (the token route).
MAX_FORM_FIELDS = 2_000


class TooManyFields(Exception):
    """A form of more than MAX_FORM_FIELDS parts: answered as a body too large."""


_decode_json = msgspec.json.Decoder().decode
_BRACKET = re.compile(r"([^\[\]]+)\[([^\[\]]*)\]")


def decode_body(raw: bytes) -> dict[str, Any] | None:
    """The body's fields, or None when it is neither a JSON object nor a form."""
    try:
        value = _decode_json(raw)
    except (msgspec.DecodeError, UnicodeDecodeError):  # msgspec raises the latter on bad UTF-8
        return decode_form(raw)
    except RecursionError:  # nesting deeper than the interpreter's stack: not a body we read
        return None
    return value if isinstance(value, dict) else None


def decode_form(raw: bytes) -> dict[str, Any] | None:
    """The form's fields, or None when it is no form; `TooManyFields` when it
    has more than `MAX_FORM_FIELDS` (counted by `&`, before any decoding)."""
    if raw.count(b"&") >= MAX_FORM_FIELDS:
        raise TooManyFields
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None  # form bodies are percent-encoded ASCII
    entries: dict[str, list[tuple[str | None, str]]] = {}
    for part in text.split("&"):
        if not part:
            continue
        name, sep, raw_value = part.partition("=")
        if not sep:
            return None
        try:
            key = _unquote(name)
            value = _unquote(raw_value)
        except UnicodeDecodeError:
            return None
        if not key:
            return None
        m = _BRACKET.fullmatch(key)
        if m is None and ("[" in key or "]" in key):
            return None  # `a[0][mail]` and other nestings: not a shape we read
        base, sub = (m.group(1), m.group(2)) if m else (key, None)
        entries.setdefault(base, []).append((sub, value))
    return {base: _combine(items) for base, items in entries.items()} if _valid(entries) else None


def _unquote(text: str) -> str:
    """`unquote_plus(text, errors="strict")` for ASCII text, in half the time; and most parts
    need no decoding at all. Raises UnicodeDecodeError when the bytes are not UTF-8."""
    if "%" in text or "+" in text:
        return unquote_to_bytes(text.replace("+", " ")).decode("utf-8")
    return text


def _is_index(sub: str | None) -> bool:
    # ASCII only: str.isdigit() also accepts characters such as "²" that int() refuses.
    return bool(sub) and sub is not None and sub.isascii() and sub.isdigit()


def _index_order(item: tuple[str | None, str]) -> tuple[int, str]:
    # Numeric order without int(): Python refuses to convert strings of over 4,300 digits.
    digits = (item[0] or "").lstrip("0")
    return len(digits), digits


def _valid(entries: dict[str, list[tuple[str | None, str]]]) -> bool:
    for items in entries.values():
        named = [sub for sub, _ in items if sub and not _is_index(sub)]
        if named and len(named) != len(items):
            return False  # `a[k]=` mixed with `a=`, `a[]=` or `a[0]=`: no single shape
    return True


def _combine(items: list[tuple[str | None, str]]) -> Any:
    subs = [sub for sub, _ in items]
    if subs == [None]:
        return items[0][1]
    if all(sub and not _is_index(sub) for sub in subs):
        return dict(items)
    if all(_is_index(sub) for sub in subs):
        return [value for _, value in sorted(items, key=_index_order)]
    return [value for _, value in items]
