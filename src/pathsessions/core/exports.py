"""A company's sessions and enrollments as CSV or JSON Lines (docs/sandbox.md, "Exports"),
written a slice at a time: the control API streams them, the `export` command writes them.

CSV is RFC 4180 through the stdlib's `csv` module (it quotes a field holding a comma, a quote,
CR or LF and doubles its quotes; `lineterminator` gives CRLF), with one header row, an absent
value as an empty cell, dates as the API writes them, and a `'` before a cell a spreadsheet
would run as a formula. JSON Lines carries the same columns as keys, with their JSON types.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from ..storage import Database
from ..storage import exports as store
from ..storage.database import Row
from .values import format_date

SESSION_COLUMNS = (
    "sessionId", "pathId", "pathName", "sessionName", "startDate", "endDate", "ownerGroupId",
    "ownerGroupName", "mainInstructorMail", "instructorsMails", "publishedEnrollments",
    "additionalInformation", "createdAt", "modifiedAt",
)  # fmt: skip
ENROLLMENT_COLUMNS = (
    "enrollmentId", "sessionId", "pathId", "userId", "userMail", "selfEnrolled", "status",
    "createdAt", "archivedAt", "progress",
)  # fmt: skip

FORMATS = ("csv", "json")
CSV_TYPE = b"text/csv; charset=utf-8"

# What makes a spreadsheet run a cell as a formula (OWASP's list): such a cell gets a `'`.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_encode = msgspec.json.Encoder().encode


def _date(ms: int | None) -> str | None:
    return None if ms is None else format_date(ms)


def session_record(item: tuple[Row, list[str]]) -> dict[str, Any]:
    row, mails = item
    return {
        "sessionId": row[0],
        "pathId": row[1],
        "pathName": row[2],
        "sessionName": row[3],
        "startDate": format_date(row[4]),
        "endDate": _date(row[5]),
        "ownerGroupId": row[6],
        "ownerGroupName": row[7],
        "mainInstructorMail": mails[0] if mails else None,
        # Every instructor, the main one first: v1's `instructorsMails`.
        "instructorsMails": mails,
        "publishedEnrollments": row[11],
        "additionalInformation": row[8],
        "createdAt": format_date(row[9]),
        "modifiedAt": format_date(row[10]),
    }


def enrollment_record(row: Row) -> dict[str, Any]:
    return {
        "enrollmentId": row[0],
        "sessionId": row[1],
        "pathId": row[2],
        "userId": row[3],
        "userMail": row[4],
        "selfEnrolled": bool(row[5]),
        "status": row[6],
        "createdAt": format_date(row[7]),
        "archivedAt": _date(row[8]),
        # Recorded progress only: none recorded is an absent value (v2's statistics read 0).
        "progress": row[9],
    }


@dataclass(frozen=True)
class Export:
    name: str
    columns: tuple[str, ...]
    batches: Callable[[Database, str], AsyncIterator[list[Any]]]
    record: Callable[[Any], dict[str, Any]]


EXPORTS = {
    "sessions": Export("sessions", SESSION_COLUMNS, store.session_rows, session_record),
    "enrollments": Export(
        "enrollments", ENROLLMENT_COLUMNS, store.enrollment_rows, enrollment_record
    ),
}


def cell(value: Any) -> str:
    """A value as a CSV cell: absent -> empty, booleans as JSON writes them, a list joined
    with `;`, and a leading `'` where a spreadsheet would see a formula."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, list):
        value = ";".join(value)
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


async def csv_chunks(export: Export, db: Database, company_id: str) -> AsyncIterator[bytes]:
    """The header row, then the rows, one chunk per slice. The first chunk waits for the
    first slice, so that a failing query is still reported before anything is sent."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(export.columns)
    async for part in export.batches(db, company_id):
        for item in part:
            record = export.record(item)
            writer.writerow([cell(record[column]) for column in export.columns])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no row: the header alone
        yield buffer.getvalue().encode()


async def json_lines_chunks(export: Export, db: Database, company_id: str) -> AsyncIterator[bytes]:
    """One JSON object a line (`\\n`), keys in the columns' order; nothing for no row."""
    async for part in export.batches(db, company_id):
        yield b"".join(_encode(export.record(item)) + b"\n" for item in part)


def chunks(export: Export, fmt: str, db: Database, company_id: str) -> AsyncIterator[bytes]:
    if fmt == "csv":
        return csv_chunks(export, db, company_id)
    return json_lines_chunks(export, db, company_id)
