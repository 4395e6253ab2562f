"""The control API's part of /openapi.json (tag "sandbox"), present only when it is on."""

from __future__ import annotations

from typing import Any

from ..api.openapi import Description

TAG = ["sandbox"]
STATUSES = {
    "invalid_request": 400,
    "invalid_fault": 400,
    "invalid_fixture": 400,
    "unauthorized": 401,
    "not_found": 404,
    "conflict": 409,
    "payload_too_large": 413,
    "unavailable": 503,
}
AUTH = (
    "Needs `Authorization: Bearer <admin token>` (PATHSESSIONS_ADMIN_TOKEN); without it, or "
    'with any other credential, 401 `{"error": "unauthorized"}`.'
)
_OBJECT: dict[str, Any] = {"type": "object"}
_ARRAY: dict[str, Any] = {"type": "array", "items": {"type": "object"}}
_CLOCK: dict[str, Any] = {"$ref": "#/components/schemas/SandboxClock"}
_COMPANY_QUERY = {
    "name": "company",
    "in": "query",
    "required": False,
    "description": "A company's own clock instead of the server's.",
    "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"},
}


def _param(name: str, where: str = "path", schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "schema": schema or {"type": "string"},
    }


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    status: int,
    description: str,
    schema: dict[str, Any] | None = None,
    errors: tuple[str, ...] = (),
    **extra: Any,
) -> dict[str, Any]:
    success: dict[str, Any] = {"status": status, "description": description}
    if schema is not None:
        success["schema"] = schema
    return {
        "tags": TAG,
        "summary": summary,
        "description": AUTH,
        "success": success,
        "errors": ["unauthorized", *errors],
        **extra,
    }


OPERATIONS: dict[str, dict[str, Any]] = {
    "getSandboxClock": _op(
        "The server's clock, or a company's",
        200,
        "The clock",
        _CLOCK,
        ("invalid_request", "not_found"),
        parameters=[_COMPANY_QUERY],
    ),
    "setSandboxClock": _op(
        "Freeze, set or shift a clock",
        200,
        "The clock",
        _CLOCK,
        ("invalid_request", "not_found"),
        parameters=[_COMPANY_QUERY],
        requestBody=_body({"$ref": "#/components/schemas/SandboxClockSetting"}),
    ),
    "resetSandboxClock": _op(
        "Back to real time (a company: back to the server's clock)",
        200,
        "The clock",
        _CLOCK,
        ("invalid_request",),
        parameters=[_COMPANY_QUERY],
    ),
    "advanceSandboxClock": _op(
        "Move a clock forward (or back)",
        200,
        "The clock",
        _CLOCK,
        ("invalid_request", "not_found"),
        parameters=[_COMPANY_QUERY],
        requestBody=_body(
            {"type": "object", "required": ["ms"], "properties": {"ms": {"type": "integer"}}}
        ),
    ),
    "listJournalEntries": _op(
        "Journal entries, newest first",
        200,
        "Entries",
        {"type": "array", "items": {"$ref": "#/components/schemas/JournalEntry"}},
        ("invalid_request",),
        parameters=[
            _param("company", "query"),
            _param("method", "query"),
            _param("operation", "query"),
            _param("status", "query", {"type": "integer"}),
            _param("path", "query"),
            _param("since", "query", {"type": "integer"}),
            _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000}),
        ],
    ),
    "clearJournal": _op(
        "Empty the journal (or one company's entries)",
        204,
        "Emptied",
        None,
        ("invalid_request",),
        parameters=[_param("company", "query")],
    ),
    "getJournalEntry": _op(
        "One journal entry",
        200,
        "The entry",
        {"$ref": "#/components/schemas/JournalEntry"},
        ("not_found",),
        parameters=[_param("entryId", schema={"type": "integer"})],
    ),
    "createFault": _op(
        "Add a fault",
        201,
        "The fault",
        _OBJECT,
        ("invalid_request", "invalid_fault"),
        requestBody=_body({"$ref": "#/components/schemas/Fault"}),
    ),
    "listFaults": _op("The faults not spent, with their counts", 200, "Faults", _ARRAY),
    "deleteFaults": _op("Remove every fault", 204, "Removed"),
    "deleteFault": _op(
        "Remove a fault", 204, "Removed", None, ("not_found",), parameters=[_param("faultId")]
    ),
    "loadFixtures": _op(
        "Load a fixture document (JSON, or YAML as application/yaml)",
        200,
        "The companies loaded, with the keys and secrets generated now",
        _OBJECT,
        ("invalid_request", "invalid_fixture"),
        parameters=[_param("reset", "query", {"type": "boolean"})],
        requestBody=_body(_OBJECT),
    ),
    "listSandboxCompanies": _op("Companies with their counts", 200, "Companies", _ARRAY),
    "deleteSandboxCompany": _op(
        "Delete a company and everything of it",
        204,
        "Deleted",
        None,
        ("not_found",),
        parameters=[_param("companyId")],
    ),
    "exportCompany": _op(
        "A company as a fixture document",
        200,
        "The document",
        _OBJECT,
        ("not_found",),
        parameters=[_param("companyId")],
    ),
    "createSnapshot": _op(
        "Snapshot the whole state, or one company's",
        201,
        "The snapshot",
        _OBJECT,
        ("invalid_request", "not_found", "conflict"),
        requestBody=_body(
            {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "company": {"type": "string"}},
            }
        ),
    ),
    "listSnapshots": _op("Snapshots", 200, "Snapshots", _ARRAY),
    "restoreSnapshot": _op(
        "Back to a snapshot's state",
        204,
        "Restored",
        None,
        ("not_found", "conflict"),
        parameters=[_param("name")],
    ),
    "deleteSnapshot": _op(
        "Delete a snapshot", 204, "Deleted", None, ("not_found",), parameters=[_param("name")]
    ),
    "resetSandbox": _op(
        "No companies, journal, faults; real time; snapshots kept unless asked",
        204,
        "Reset",
        None,
        ("invalid_request",),
        requestBody=_body(
            {"type": "object", "properties": {"snapshots": {"type": "boolean"}}}, required=False
        ),
    ),
    "setLearnerProgress": _op(
        "Record a learner's progress in a session",
        200,
        "The enrollment's statistics, as v2's user-stats item",
        _OBJECT,
        ("invalid_request", "not_found"),
        parameters=[_param("companyId"), _param("enrollmentId")],
        requestBody=_body(
            {
                "type": "object",
                "required": ["progress"],
                "additionalProperties": False,
                "properties": {
                    "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                    "status": {
                        "type": "object",
                        "required": ["type"],
                        "properties": {"type": {"type": "string"}, "reason": {"type": "string"}},
                    },
                    "timeSpent": {"type": "integer", "minimum": 0},
                    "score": {"type": "number", "minimum": 0, "maximum": 100},
                    "completedAt": {"type": "string", "format": "date-time"},
                    "startedAt": {"type": "string", "format": "date-time"},
                    "certificateId": {"type": "string"},
                },
            }
        ),
    ),
    "setGroupMembers": _op(
        "Add users to a group, or take them out; dynamic audiences follow",
        200,
        "The group's members: [{userId, role}]",
        {"type": "array", "items": _OBJECT},
        ("invalid_request", "not_found"),
        parameters=[_param("companyId"), _param("groupId")],
        requestBody=_body(
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "add": {"type": "array", "items": {"type": "string"}},
                    "remove": {"type": "array", "items": {"type": "string"}},
                    "role": {"type": "string"},
                },
            }
        ),
    ),
}

_DATE = {"type": "string", "format": "date-time"}
SCHEMAS: dict[str, Any] = {
    "SandboxError": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    },
    "SandboxClock": {
        "type": "object",
        "required": ["now", "frozen", "offsetMs"],
        "properties": {
            "now": _DATE,
            "frozen": {"type": "boolean"},
            "offsetMs": {"type": "integer"},
        },
    },
    "SandboxClockSetting": {
        "type": "object",
        "description": "Exactly one of the three.",
        "properties": {"frozenAt": _DATE, "now": _DATE, "offsetMs": {"type": "integer"}},
    },
    "JournalEntry": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "at": _DATE,
            "method": {"type": "string"},
            "path": {"type": "string"},
            "query": {"type": "string"},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "body": {"type": ["string", "null"]},
            "bodyTruncated": {"type": "boolean"},
            "status": {"type": ["integer", "null"]},
            "responseBody": {"type": ["string", "null"]},
            "responseBodyTruncated": {"type": "boolean"},
            "durationMs": {"type": "number"},
            "companyId": {"type": ["string", "null"]},
            "operation": {"type": ["string", "null"]},
            "fault": {"type": "string"},
        },
    },
    "Fault": {
        "type": "object",
        "required": ["action"],
        "properties": {
            "operation": {"type": "string"},
            "method": {"type": "string"},
            "path": {"type": "string"},
            "company": {"type": "string"},
            "action": {"enum": ["respond", "delay", "reset", "hang"]},
            "when": {"enum": ["before", "after"]},
            "times": {"type": "integer", "minimum": 1},
            "probability": {"type": "number", "minimum": 0, "maximum": 1},
            "status": {"type": "integer", "minimum": 100, "maximum": 599},
            "body": {},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "delayMs": {"type": "integer", "minimum": 0, "maximum": 300000},
        },
    },
}


# Exports as CSV (docs/sandbox.md, "Exports"): the columns in their order, one header row.
def _csv_export(what: str, columns: str) -> dict[str, Any]:
    op = _op(
        f"A company's {what} as CSV (RFC 4180), streamed",
        200,
        f"One header row ({columns}), then one row per {what[:-1]} in id order",
        {"type": "string"},
        ("not_found",),
        parameters=[_param("companyId")],
    )
    op["success"]["media"] = "text/csv"
    op["success"]["example"] = columns.replace(" ", "") + "\r\n"
    return op


OPERATIONS["exportSessionsCsv"] = _csv_export(
    "sessions",
    "sessionId, pathId, pathName, sessionName, startDate, endDate, ownerGroupId, ownerGroupName,"
    " mainInstructorMail, instructorsMails, publishedEnrollments, additionalInformation,"
    " createdAt, modifiedAt",
)
OPERATIONS["exportEnrollmentsCsv"] = _csv_export(
    "enrollments",
    "enrollmentId, sessionId, pathId, userId, userMail, selfEnrolled, status, createdAt,"
    " archivedAt, progress",
)


def description() -> Description:
    return Description(
        operations=OPERATIONS,
        schemas=SCHEMAS,
        statuses=STATUSES,
        too_large="payload_too_large",
        rate_limited="unavailable",  # never used: the control API is not rate limited
        security=[],
        security_schemes={},
        error_schema=lambda status, codes: {"$ref": "#/components/schemas/SandboxError"},
        error_example=lambda code: {"error": code, "message": "…"},
    )
