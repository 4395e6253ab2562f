"""Pure unit tests of `pathsessions.core.values` and `.ids`: ids, dates, e-mail addresses."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from pathsessions.core.ids import new_id
from pathsessions.core.values import format_date, is_object_id, normalize_email, parse_date


def arabic_digits(text: str) -> str:
    """`text` with its ASCII digits replaced by ARABIC-INDIC DIGITs (U+0660..U+0669)."""
    return text.translate({ord(d): 0x0660 + int(d) for d in "0123456789"})


def fullwidth_digits(text: str) -> str:
    """`text` with its ASCII digits replaced by FULLWIDTH DIGITs (U+FF10..U+FF19)."""
    return text.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})


def ms(text: str) -> int:
    """Milliseconds since the epoch of a naive ISO string read as UTC (independent oracle)."""
    moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1000 + moment.microsecond // 1000


MIN_MS = ms("0001-01-01T00:00:00")
MAX_MS = ms("9999-12-31T23:59:59.999")


# --- parse_date: valid inputs ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("2022-05-16T22:00:00Z", 1_652_738_400_000),
        ("2022-05-16T22:00:00.000Z", 1_652_738_400_000),
        ("2022-05-16T23:00:00+01:00", 1_652_738_400_000),
        ("2022-05-16T23:00:00.000+01:00", 1_652_738_400_000),
        ("2022-05-16T20:30:00-01:30", 1_652_738_400_000),
        ("2022-05-16T22:00:00+00:00", 1_652_738_400_000),
        ("2022-05-16T22:00:00-00:00", 1_652_738_400_000),
        # Any number of fraction digits, at least one; truncated to milliseconds.
        ("2022-05-16T22:00:00.5Z", 1_652_738_400_500),
        ("2022-05-16T22:00:00.05Z", 1_652_738_400_050),
        ("2022-05-16T22:00:00.123Z", 1_652_738_400_123),
        ("2022-05-16T22:00:00.9999Z", 1_652_738_400_999),
        ("2022-05-16T22:00:00.999999999999Z", 1_652_738_400_999),
        ("2022-05-16T22:00:00.1239Z", 1_652_738_400_123),
        ("2022-05-16T22:00:00.0001Z", 1_652_738_400_000),
        # Offsets from -23:59 to +23:59.
        ("2022-05-16T12:00:00+23:59", ms("2022-05-15T12:01:00")),
        ("2022-05-16T12:00:00-23:59", ms("2022-05-17T11:59:00")),
        ("2022-05-16T00:00:00+00:59", ms("2022-05-15T23:01:00")),
        # Real calendar: leap days.
        ("2024-02-29T00:00:00Z", ms("2024-02-29T00:00:00")),
        ("2000-02-29T12:34:56Z", ms("2000-02-29T12:34:56")),
        # Extremes of every field.
        ("2022-12-31T23:59:59.999Z", ms("2022-12-31T23:59:59.999")),
        ("2022-01-01T00:00:00Z", ms("2022-01-01T00:00:00")),
        ("0001-01-01T00:00:00Z", MIN_MS),
        ("9999-12-31T23:59:59.999Z", MAX_MS),
        ("1969-12-31T23:59:59.999Z", -1),
        # Crossing a day, month and year boundary by the offset.
        ("2022-01-01T00:30:00+01:00", ms("2021-12-31T23:30:00")),
        ("2021-12-31T23:30:00-01:00", ms("2022-01-01T00:30:00")),
    ],
)
def test_parse_date_valid(text: str, expected: int) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "value",
    [
        # Not the W3C complete date-time profile.
        "",
        " ",
        "2022-05-16",
        "2022-05-16T22:00Z",
        "2022-05-16T22Z",
        "2022-05-16T22:00:00",
        "2022-05-16T22:00:00.000",
        "2022-05-16 22:00:00Z",
        "2022-05-16t22:00:00Z",
        "2022-05-16T22:00:00z",
        "2022-05-16T22:00:00.Z",
        "2022-05-16T22:00:00,5Z",
        "2022-W20-1T22:00:00Z",
        "2022-136T22:00:00Z",
        "20220516T220000Z",
        "2022-05-16T220000Z",
        "22-05-16T22:00:00Z",
        "12022-05-16T22:00:00Z",
        "+2022-05-16T22:00:00Z",
        "2022-5-16T22:00:00Z",
        "2022-05-6T22:00:00Z",
        "2022-05-16T2:00:00Z",
        # Bad zone designators.
        "2022-05-16T22:00:00+01",
        "2022-05-16T22:00:00+0100",
        "2022-05-16T22:00:00+1:00",
        "2022-05-16T22:00:00+01:00:00",
        "2022-05-16T22:00:00 +01:00",
        "2022-05-16T22:00:00UTC",
        "2022-05-16T22:00:00GMT",
        "2022-05-16T22:00:00Z+01:00",
        # Offsets outside -23:59..+23:59.
        "2022-05-16T22:00:00+24:00",
        "2022-05-16T22:00:00-24:00",
        "2022-05-16T22:00:00+23:60",
        "2022-05-16T22:00:00+99:99",
        # Not a real calendar date or time.
        "2022-02-30T10:00:00Z",
        "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2022-04-31T00:00:00Z",
        "2022-13-01T00:00:00Z",
        "2022-00-10T00:00:00Z",
        "2022-05-00T00:00:00Z",
        "2022-05-32T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2022-05-16T24:00:00Z",
        "2022-05-16T22:60:00Z",
        "2022-05-16T22:00:60Z",
        "2022-05-16T22:00:61Z",
        # The UTC instant falls outside years 0001-9999.
        "0001-01-01T00:00:00+00:01",
        "9999-12-31T23:59:59-00:01",
        # Surrounding whitespace, line ends, NUL.
        " 2022-05-16T22:00:00Z",
        "2022-05-16T22:00:00Z ",
        "2022-05-16T22:00:00Z\n",
        "\n2022-05-16T22:00:00Z",
        "2022-05-16T22:00:00Z\x00",
        # Non-ASCII digits (Arabic-Indic, full-width, superscript).
        arabic_digits("2022-05-16T22:00:00Z"),
        fullwidth_digits("2022-05-16T22:00:00Z"),
        fullwidth_digits("2022") + "-05-16T22:00:00Z",
        "2022-05-16T22:00:00." + arabic_digits("5") + "Z",
        "2022-05-16T22:00:00+" + arabic_digits("01") + ":00",
        "2022-05-16T\u00b22:00:00Z",  # SUPERSCRIPT TWO
        # Not strings at all.
        None,
        0,
        1_652_738_400_000,
        1.5,
        True,
        b"2022-05-16T22:00:00Z",
        ["2022-05-16T22:00:00Z"],
        {"date": "2022-05-16T22:00:00Z"},
    ],
)
def test_parse_date_invalid(value: object) -> None:
    assert parse_date(value) is None


# --- format_date -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("millis", "expected"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (1_652_738_400_000, "2022-05-16T22:00:00.000Z"),
        (1_652_738_400_007, "2022-05-16T22:00:00.007Z"),
        (1_652_738_400_999, "2022-05-16T22:00:00.999Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (ms("2024-02-29T23:59:59.050"), "2024-02-29T23:59:59.050Z"),
        (MIN_MS, "0001-01-01T00:00:00.000Z"),
        (MAX_MS, "9999-12-31T23:59:59.999Z"),
    ],
)
def test_format_date(millis: int, expected: str) -> None:
    assert format_date(millis) == expected


@pytest.mark.parametrize(
    "text",
    [
        "1970-01-01T00:00:00.000Z",
        "2022-05-16T22:00:00.000Z",
        "2024-02-29T12:00:00.123Z",
        "1969-07-20T20:17:40.001Z",
        "0001-01-01T00:00:00.000Z",
        "9999-12-31T23:59:59.999Z",
    ],
)
def test_output_format_round_trips(text: str) -> None:
    parsed = parse_date(text)
    assert parsed is not None
    assert format_date(parsed) == text


def test_offset_input_is_returned_in_utc() -> None:
    parsed = parse_date("2022-05-16T23:00:00+01:00")
    assert parsed is not None
    assert format_date(parsed) == "2022-05-16T22:00:00.000Z"


# --- normalize_email -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ines@acme.test", "ines@acme.test"),
        ("Ines@ACME.Test", "ines@acme.test"),
        ("  ines@acme.test  ", "ines@acme.test"),
        ("\tINES@acme.test\n", "ines@acme.test"),
        ("first.last+tag@sub.acme.test", "first.last+tag@sub.acme.test"),
        ("o'brien@acme.test", "o'brien@acme.test"),
        ("a_b-c@my-company.co.uk", "a_b-c@my-company.co.uk"),
        ("x@a.b", "x@a.b"),
        ("x@123.45.com", "x@123.45.com"),
    ],
)
def test_normalize_email_valid(value: str, expected: str) -> None:
    assert normalize_email(value) == expected


def test_normalize_email_length_limit() -> None:
    domain = "@" + ".".join(["d" * 60] * 3) + ".test"  # labels within 63 characters
    longest = "a" * (254 - len(domain)) + domain
    assert len(longest) == 254
    assert normalize_email(longest) == longest
    assert normalize_email("a" + longest) is None
    # The limit applies to the trimmed address.
    assert normalize_email(f"  {longest}  ") == longest


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "ines",
        "ines@",
        "@acme.test",
        "ines@acme",
        "ines@@acme.test",
        "in es@acme.test",
        "ines@acme .test",
        "ines@acme..test",
        "ines@.acme.test",
        "ines@acme.test.",
        "ines@-acme.test",
        "ines@acme-.test",
        "ines@" + "d" * 64 + ".test",
        "<ines@acme.test>",
        "Ines <ines@acme.test>",
        "ines@acme.test,ivan@acme.test",
        "ines@acme.test\x00",
        "inès@acme.test",
        "ines@acmé.test",
        # The Kelvin sign lower-cases to an ASCII "k": it must not become a valid address.
        "\u212aelvin@acme.test",
        "ines@acme.\u212az",
        None,
        5,
        True,
        ["ines@acme.test"],
        {"mail": "ines@acme.test"},
        b"ines@acme.test",
    ],
)
def test_normalize_email_invalid(value: object) -> None:
    assert normalize_email(value) is None


# --- is_object_id ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["6c0000000000000000000001", "ABCDEF0123456789ABCDEF01", "aBcDeF0123456789abcdef01"],
)
def test_is_object_id_valid(value: str) -> None:
    assert is_object_id(value) is True


@pytest.mark.parametrize(
    "value",
    [
        "",
        "6c000000000000000000001",  # 23
        "6c00000000000000000000001",  # 25
        "6c000000000000000000000g",
        "6c00000000000000000000-1",
        " 6c0000000000000000000001",
        "6c0000000000000000000001 ",
        "6c0000000000000000000001\n",
        fullwidth_digits("0" * 24),
        arabic_digits("0" * 24),
        None,
        123,
        b"6c0000000000000000000001",
        ["6c0000000000000000000001"],
    ],
)
def test_is_object_id_invalid(value: object) -> None:
    assert is_object_id(value) is False


# --- new_id ----------------------------------------------------------------------------------


def test_new_id_layout() -> None:
    before = int(time.time())
    value = new_id()
    after = int(time.time())
    assert len(value) == 24
    assert value == value.lower()
    assert all(c in "0123456789abcdef" for c in value)
    assert is_object_id(value)
    # The first 4 bytes are the big-endian creation time in seconds.
    assert before <= int(value[:8], 16) <= after


def test_new_id_unique_with_counter() -> None:
    ids = [new_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    # Consecutive ids in one process: the 3-byte counter goes up by one.
    first, second = ids[0], ids[1]
    assert int(second[18:], 16) == (int(first[18:], 16) + 1) % 0x1000000
