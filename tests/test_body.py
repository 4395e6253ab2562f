"""Pure unit tests of `pathsessions.web.body.decode_body`: JSON objects and URL-encoded forms."""

from __future__ import annotations

from typing import Any

import pytest

from pathsessions.web.body import MAX_FORM_FIELDS, TooManyFields, decode_body

# --- JSON ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"{}", {}),
        (b'{"a": 1}', {"a": 1}),
        (
            b'{"sessionName": "x", "instructorsMails": ["a@b.co"], "endDate": null}',
            {"sessionName": "x", "instructorsMails": ["a@b.co"], "endDate": None},
        ),
        (
            b' \n{"nested": {"k": [1, 2.5, true, false, null]}}\n ',
            {"nested": {"k": [1, 2.5, True, False, None]}},
        ),
        ('{"name": "été ☃"}'.encode(), {"name": "été ☃"}),
        (b'{"name": "\\u00e9t\\u00e9"}', {"name": "été"}),
        # A JSON object whose text also looks like a form is still JSON.
        (b'{"a=b": "c&d"}', {"a=b": "c&d"}),
    ],
)
def test_json_object(raw: bytes, expected: dict[str, Any]) -> None:
    assert decode_body(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [b"[]", b"[1, 2]", b'"str"', b'"a=b"', b"42", b"1.5", b"null", b"true", b"false"],
)
def test_json_that_is_not_an_object(raw: bytes) -> None:
    assert decode_body(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"a": 1',
        b'{"a": 1}}',
        b"{'a': 1}",
        b'{"a": 1,}',
        # Not UTF-8 JSON, and not an ASCII form either.
        b'{"sessionName": "\xff"}',
        b"\xef\xbb\xbf{}",
    ],
)
def test_neither_json_nor_form(raw: bytes) -> None:
    assert decode_body(raw) is None


# --- Forms -----------------------------------------------------------------------------------


def test_empty_body_is_an_empty_form() -> None:
    assert decode_body(b"") == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a=x", {"a": "x"}),
        (b"a=", {"a": ""}),
        (b"a=x&b=y", {"a": "x", "b": "y"}),
        (b"a=x&&b=y&", {"a": "x", "b": "y"}),
        # Percent-decoding and `+` as a space, in names and values.
        (b"a=Cohort+1", {"a": "Cohort 1"}),
        (b"a=2022-05-16T23%3A00%3A00%2B01%3A00", {"a": "2022-05-16T23:00:00+01:00"}),
        (b"a=%C3%A9t%C3%A9", {"a": "été"}),
        (b"a=x%26y%3Dz", {"a": "x&y=z"}),
        (b"session%4Eame=x", {"sessionName": "x"}),
        # Arrays: `a[]=`, repeated names, indexed `a[N]=` (ordered by index).
        (b"a[]=x&a[]=y", {"a": ["x", "y"]}),
        (b"a%5B%5D=x&a%5B%5D=y", {"a": ["x", "y"]}),
        (b"a[]=x", {"a": ["x"]}),
        (b"a[]=", {"a": [""]}),
        (b"a=x&a=y", {"a": ["x", "y"]}),
        (b"a=x&a=y&a=z", {"a": ["x", "y", "z"]}),
        (b"a[0]=x&a[1]=y", {"a": ["x", "y"]}),
        (b"a[1]=y&a[0]=x", {"a": ["x", "y"]}),
        (b"a[10]=k&a[2]=c&a[0]=a", {"a": ["a", "c", "k"]}),
        (b"a[0]=", {"a": [""]}),
        (
            b"instructorsMails[]=a%40x.com&instructorsMails[]=b%40x.com&name=n",
            {"instructorsMails": ["a@x.com", "b@x.com"], "name": "n"},
        ),
        # Objects: `a[k]=v`.
        (b"a[k]=v", {"a": {"k": "v"}}),
        (b"a[k]=v&a[m]=w", {"a": {"k": "v", "m": "w"}}),
        (b"a[k]=v&b[]=x&c=y", {"a": {"k": "v"}, "b": ["x"], "c": "y"}),
    ],
)
def test_form(raw: bytes, expected: dict[str, Any]) -> None:
    assert decode_body(raw) == expected


def test_form_array_index_is_a_decimal_number() -> None:
    # `²` is a "digit" to str.isdigit() but no decimal index: `a[²]=` is an object key,
    # and it must not crash the decoder (int("²") raises ValueError).
    assert decode_body(b"a[%C2%B2]=x") == {"a": {"²": "x"}}
    assert decode_body(b"a[%C2%B2]=x&a[0]=y") is None


@pytest.mark.parametrize(
    "raw",
    [
        # Mixed shapes for one name: an object key with an array or plain value.
        b"a[k]=v&a[]=x",
        b"a[k]=v&a=x",
        b"a=x&a[k]=v",
        b"a[k]=v&a[0]=x",
        # A part without `=`.
        b"a",
        b"a=1&b",
        b"a=1&b&c=2",
        # An empty name.
        b"=x",
        b"a=1&=x",
        # Non-ASCII bytes: forms are percent-encoded ASCII.
        "a=été".encode(),
        b"a=\xff",
        b"\xe9=x",
        # Percent-escapes that are not UTF-8.
        b"a=%FF",
        b"a%FF=x",
        b"a=%C3",
    ],
)
def test_not_a_form(raw: bytes) -> None:
    assert decode_body(raw) is None


@pytest.mark.parametrize(
    "raw", [b"instructorsMails[0][mail]=a%40x.com", b"a]=1", b"a[=1", b"a[b]c=1"]
)
def test_nested_or_unbalanced_brackets_are_not_a_form(raw: bytes) -> None:
    assert decode_body(raw) is None


def test_json_nested_beyond_the_stack_is_not_a_body() -> None:
    assert decode_body(b"[" * 100_000 + b"]" * 100_000) is None


def test_form_indexes_of_any_length_keep_numeric_order() -> None:
    huge = "9" * 5000
    raw = f"a[{huge}]=last&a[10]=second&a[02]=first".encode()
    assert decode_body(raw) == {"a": ["first", "second", "last"]}


def test_a_form_of_more_fields_than_the_cap_is_too_large() -> None:
    at_cap = b"&".join([b"a[]=x"] * MAX_FORM_FIELDS)
    assert decode_body(at_cap) == {"a": ["x"] * MAX_FORM_FIELDS}
    for raw in (at_cap + b"&a[]=x", at_cap + b"&", b"&" * MAX_FORM_FIELDS):
        with pytest.raises(TooManyFields):
            decode_body(raw)


def test_json_is_not_capped_by_form_fields() -> None:
    value = "&" * (MAX_FORM_FIELDS * 2)
    assert decode_body(b'{"a": "' + value.encode() + b'"}') == {"a": value}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a=%41+%2B%20b", {"a": "A + b"}),
        (b"a=%C3%A9t%C3%A9", {"a": "été"}),
        (b"a=%zz%4", {"a": "%zz%4"}),  # not an escape: kept as it is
        (b"%61%5B%5D=x", {"a": ["x"]}),  # brackets may be escaped
    ],
)
def test_form_percent_decoding(raw: bytes, expected: dict[str, Any]) -> None:
    assert decode_body(raw) == expected


def test_form_percent_escapes_that_are_not_utf8_are_not_a_form() -> None:
    assert decode_body(b"a=%FF") is None
    assert decode_body(b"%C3=x") is None
