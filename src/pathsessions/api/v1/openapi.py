"""v1's part of the OpenAPI description: what the route list and the error table do not say.

A test checks every route has an operation here and the other way round.
"""

from __future__ import annotations

from typing import Any

from ...core.errors import ErrorCode
from ...core.values import MAX_ADDITIONAL_INFORMATION, MAX_INSTRUCTORS, MAX_SESSION_NAME
from ...settings import Settings
from ..docs import ASSETS
from ..openapi import Description
from .errors import ERRORS, PATCH_FIELD_MESSAGES, PATCH_PREFIX, PATCH_RULE_MESSAGES, STATUS

OBJECT_ID = {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"}
DATE = {
    "type": "string",
    "description": "W3C ISO 8601 date-time with seconds and a zone, e.g. "
    "2022-05-16T23:00:00+01:00; answered in UTC as 2022-05-16T22:00:00.000Z.",
}

# Credentials are checked against the database: every authenticated route answers 503 while it
# cannot be reached or written.
_AUTH_ERRORS = ["unauthorized", "service_unavailable"]


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"status": 200, "description": description, "schema": schema}


def _status(value: str) -> dict[str, Any]:
    return {"type": "object", "required": ["status"], "properties": {"status": {"const": value}}}


def _param(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    param = {"name": name, "in": "path", "required": True, "schema": schema}
    if description:
        param["description"] = description
    return param


# A form key is not empty, and brackets in it are the array and object syntax, never part of
# a field's name.
_FORM_KEY = {"pattern": "^[^\\[\\]]+$"}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    # A form is read into the same object as JSON (docs/api.md, "Request bodies"), so it has
    # the same fields; only how an array is spelled differs (`instructorsMails[]=a@x.com`).
    return {
        "required": True,
        "content": {
            "application/json": {"schema": schema},
            "application/x-www-form-urlencoded": {"schema": {**schema, "propertyNames": _FORM_KEY}},
        },
    }


_SESSION_ID = _param("sessionId", OBJECT_ID, "The id of the path session.")
_SESSION_FIELDS: dict[str, Any] = {
    "sessionName": {"type": "string", "maxLength": MAX_SESSION_NAME},
    "startDate": DATE,
    "endDate": {**DATE, "type": ["string", "null"]},
    "instructorsMails": {
        "type": "array",
        "items": {"type": "string", "format": "email"},
        "description": f"Main instructor first; at most {MAX_INSTRUCTORS} distinct addresses.",
    },
    "sessionOwnerGroup": OBJECT_ID,
    "sessionAdditionalInformation": {
        "type": ["string", "null"],
        "maxLength": MAX_ADDITIONAL_INFORMATION,
    },
}


def _id_list(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item, "minItems": 1, "maxItems": 1000}


def _enrolment(summary: str, status: str, kind: str) -> dict[str, Any]:
    body: dict[str, Any]
    if kind == "users":
        body = {
            "type": "object",
            "description": "Exactly one of userEmails and userIds.",
            "properties": {
                "userEmails": _id_list({"type": "string", "format": "email"}),
                "userIds": _id_list(OBJECT_ID),
            },
            "oneOf": [{"required": ["userEmails"]}, {"required": ["userIds"]}],
        }
    else:
        body = {
            "type": "object",
            "required": ["groupIds"],
            "properties": {"groupIds": _id_list(OBJECT_ID)},
        }
    return {
        "tags": ["Path sessions"],
        "summary": f"{summary} (incremental)",
        "parameters": [_SESSION_ID],
        "requestBody": _body(body),
        "success": _ok("Done; repeating it changes nothing.", _status(status)),
        "errors": [
            *_AUTH_ERRORS,
            "path_session_not_found",
            "invalid_body",
            f"invalid_{kind}",
            f"{kind}_not_found",
        ],
    }


# operation id -> what the route list does not say. `errors` are v1 error strings.
OPERATIONS: dict[str, dict[str, Any]] = {
    "createPathSession": {
        "tags": ["Path sessions"],
        "summary": "Create a path session",
        "description": (
            "Creates a session of the path. The checks run in the documented order and the "
            "first failure answers; nothing is written unless every check passes. When "
            "`instructorsMails` is absent or empty the company's platform owner becomes the "
            "only instructor. The body may be JSON or a URL-encoded form "
            "(`instructorsMails[]=a@x.com`)."
        ),
        "parameters": [
            {
                "name": "pathId",
                "in": "path",
                "required": True,
                "schema": OBJECT_ID,
                "description": "The id of the path.",
            }
        ],
        "requestBody": _body(
            {
                "type": "object",
                "required": ["sessionName", "startDate", "sessionOwnerGroup"],
                "properties": _SESSION_FIELDS,
            }
        ),
        "success": {
            "status": 200,
            "description": "The session was created.",
            "schema": {"type": "object", "required": ["_id"], "properties": {"_id": OBJECT_ID}},
        },
        "errors": [
            *_AUTH_ERRORS,
            "path_not_found",
            "invalid_body",
            "invalid_session_name",
            "invalid_start_date",
            "invalid_end_date",
            "invalid_session_owner_group",
            "session_owner_group_not_found",
            "invalid_instructors",
            "instructors_not_found",
            "invalid_session_additional_information",
        ],
    },
    "v2.authentication.GenerateTokenController_generateToken": {
        "tags": ["Authentication"],
        "summary": "Exchange an API key or a v2 API credential for a bearer token",
        "description": (
            "For v1: client_id is the company id, client_secret one of its API keys. For v2: "
            "client_id is a v2 API credential's client id (32 hexadecimal characters), "
            "client_secret its secret; company_id and user_id, when sent, must name the "
            "credential's company and a user of it (v1 ignores them). The token lasts one "
            "hour, works on its own version's routes only, and stops working when its key or "
            "credential is revoked. JSON or form body."
        ),
        "requestBody": _body(
            {
                "type": "object",
                "required": ["grant_type", "client_id", "client_secret"],
                "properties": {
                    "grant_type": {"const": "client_credentials"},
                    "client_id": {
                        "type": "string",
                        "pattern": "^([0-9a-fA-F]{24}|[0-9a-fA-F]{32})$",
                    },
                    "client_secret": {"type": "string", "minLength": 1},
                    "company_id": OBJECT_ID,
                    "user_id": OBJECT_ID,
                },
            }
        ),
        "success": {
            "status": 200,
            "description": "A bearer token.",
            "schema": {
                "type": "object",
                "required": ["token_type", "access_token", "expires_in"],
                "properties": {
                    "token_type": {"const": "Bearer"},
                    "access_token": {"type": "string"},
                    "expires_in": {"type": "string", "const": "3600"},
                },
            },
        },
        "errors": [
            "invalid_request",
            "unsupported_grant_type",
            "invalid_client",
            "non_existing_user",
            "service_unavailable",
        ],
    },
    "listPathSessions": {
        "tags": ["Path sessions"],
        "summary": "List every path session of the company",
        "description": "All paths; one JSON array, streamed (no pagination in v1).",
        "success": _ok("The sessions.", {"type": "array", "items": _ref("SessionItem")}),
        "errors": _AUTH_ERRORS,
    },
    "getPathSession": {
        "tags": ["Path sessions"],
        "summary": "Get a path session, with its path and enrolled users and groups",
        "parameters": [_SESSION_ID],
        "success": _ok("The session.", _ref("SessionDetail")),
        "errors": [*_AUTH_ERRORS, "path_session_not_found"],
    },
    "updatePathSession": {
        "tags": ["Path sessions"],
        "summary": "Replace the main fields of a path session",
        "description": (
            "sessionName, sessionOwnerGroup and startDate are required; endDate, "
            "instructorsMails and sessionAdditionalInformation left out keep their value "
            "(null removes endDate or sessionAdditionalInformation). Errors are sentences."
        ),
        "parameters": [_SESSION_ID],
        "requestBody": _body(
            {
                "type": "object",
                "required": ["sessionName", "startDate", "sessionOwnerGroup"],
                "properties": {
                    **_SESSION_FIELDS,
                    "instructorsMails": {**_SESSION_FIELDS["instructorsMails"], "minItems": 1},
                },
            }
        ),
        "success": _ok("The updated session.", _ref("SessionDetail")),
        "errors": [
            *_AUTH_ERRORS,
            "path_session_not_found",
            "invalid_body",
            *(PATCH_PREFIX + m for m in PATCH_FIELD_MESSAGES),
            "session_owner_group_not_found",
            "instructors_not_found",
            *PATCH_RULE_MESSAGES,
        ],
    },
    "deletePathSession": {
        "tags": ["Path sessions"],
        "summary": "Delete a path session",
        "parameters": [_SESSION_ID],
        "success": _ok("Deleted.", _status("path_session_deleted")),
        "errors": [*_AUTH_ERRORS, "path_session_not_found"],
    },
    "listPathSessionUsers": {
        "tags": ["Path sessions"],
        "summary": "The users enrolled in a path session (directly)",
        "parameters": [_SESSION_ID],
        "success": _ok("The users.", {"type": "array", "items": _ref("User")}),
        "errors": [*_AUTH_ERRORS, "path_session_not_found"],
    },
    "enrolPathSessionUsers": _enrolment("Enrol users", "users_enrolled", "users"),
    "unenrolPathSessionUsers": _enrolment("Unenrol users", "users_unenrolled", "users"),
    "enrolPathSessionGroups": _enrolment("Enrol groups", "groups_enrolled", "groups"),
    "unenrolPathSessionGroups": _enrolment("Unenrol groups", "groups_unenrolled", "groups"),
    "listGroups": {
        "tags": ["Company"],
        "summary": "The company's groups",
        "success": _ok("The groups.", {"type": "array", "items": _ref("Group")}),
        "errors": _AUTH_ERRORS,
    },
    "getGroup": {
        "tags": ["Company"],
        "summary": "One group",
        "parameters": [_param("groupId", OBJECT_ID)],
        "success": _ok("The group.", _ref("Group")),
        "errors": [*_AUTH_ERRORS, "group_not_found"],
    },
    "listUsers": {
        "tags": ["Company"],
        "summary": "The company's users (deleted users are left out)",
        "success": _ok("The users.", {"type": "array", "items": _ref("User")}),
        "errors": _AUTH_ERRORS,
    },
    "getUser": {
        "tags": ["Company"],
        "summary": "One user, by id or by e-mail address",
        "parameters": [
            _param("user", {"type": "string", "minLength": 1}, "A user id or e-mail address.")
        ],
        "success": _ok("The user.", _ref("User")),
        "errors": [*_AUTH_ERRORS, "user_not_found"],
    },
    "listPaths": {
        "tags": ["Company"],
        "summary": "The company's paths",
        "success": _ok("The paths.", {"type": "array", "items": _ref("Path")}),
        "errors": _AUTH_ERRORS,
    },
    "getPath": {
        "tags": ["Company"],
        "summary": "One path",
        "parameters": [_param("pathId", OBJECT_ID)],
        "success": _ok("The path.", _ref("Path")),
        "errors": [*_AUTH_ERRORS, "path_not_found"],
    },
    "health": {
        "tags": ["Service"],
        "summary": "Health check",
        "description": "Answers 200 when the database answers and can be written.",
        "success": {
            "status": 200,
            "description": "The server and its database answer.",
            "schema": {"type": "object", "properties": {"status": {"const": "ok"}}},
        },
        "errors": ["database_unavailable"],
    },
    "metrics": {
        "tags": ["Service"],
        "summary": "Metrics in Prometheus's text format",
        "description": "Requests by operation id and status, latency histograms, the database"
        " pool, rate-limit refusals; summed over every worker process. An unknown route when"
        " PATHSESSIONS_METRICS is off.",
        "success": {
            "status": 200,
            "description": "Prometheus text exposition format 0.0.4",
            "media": "text/plain",
            "example": "# HELP requests_total …",
        },
        "errors": [],
    },
    "openapi": {
        "tags": ["Service"],
        "summary": "This OpenAPI document",
        "success": {"status": 200, "description": "OpenAPI 3.1", "schema": {"type": "object"}},
        "errors": [],
    },
    "openapiPart": {
        "tags": ["Service"],
        "summary": "One API's part of this OpenAPI document",
        "description": "`v1`, `v2` (with the token route), or `sandbox` (the control API, when"
        " it is on), each with the service routes: the documents /docs shows.",
        "parameters": [
            {
                "name": "api",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "enum": ["v1", "v2", "sandbox"]},
            }
        ],
        "success": {"status": 200, "description": "OpenAPI 3.1", "schema": {"type": "object"}},
        "errors": [],
    },
    "docs": {
        "tags": ["Service"],
        "summary": "The interactive API reference (Swagger UI)",
        "description": "Swagger UI, served by this server with its assets (it works offline),"
        " on each API's part of this document.",
        "success": {
            "status": 200,
            "description": "An HTML page",
            "media": "text/html",
            "example": "<!doctype html>…",
        },
        "errors": [],
    },
    "docsAsset": {
        "tags": ["Service"],
        "summary": "A file of the /docs page: Swagger UI's scripts, styles and icons",
        "description": "Cached for a year (the URLs the page uses name the versions); gzipped"
        " when the client accepts it. Any other name: the unknown-route answer.",
        "parameters": [
            {
                "name": "asset",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "enum": list(ASSETS)},
            }
        ],
        "success": {
            "status": 200,
            "description": "text/javascript, text/css or image/png",
            "media": "*/*",
            "example": "…",
        },
        "errors": [],
    },
}


_DATE_OUT = {"type": "string", "examples": ["2022-05-16T22:00:00.000Z"]}
_USER: dict[str, Any] = {
    "type": "object",
    "required": ["_id", "mail", "firstName", "lastName"],
    "properties": {
        "_id": OBJECT_ID,
        "mail": {"type": "string"},
        "firstName": {"type": "string"},
        "lastName": {"type": "string"},
    },
}
_PATH: dict[str, Any] = {
    "type": "object",
    "properties": {
        "_id": OBJECT_ID,
        "name": {"type": "string"},
        "groupId": OBJECT_ID,
        "status": {"enum": ["published", "archived"]},
        "createdAt": _DATE_OUT,
        "modifiedAt": _DATE_OUT,
        "sessionIds": {"type": "array", "items": OBJECT_ID},
    },
}
_SESSION_ITEM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sessionName": {"type": "string"},
        "sessionId": OBJECT_ID,
        "sessionOwnerGroup": OBJECT_ID,
        "pathId": OBJECT_ID,
        "startDate": _DATE_OUT,
        "endDate": {**_DATE_OUT, "type": ["string", "null"]},
        "instructorsMails": {"type": "array", "items": {"type": "string"}},
        "sessionAdditionalInformation": {"type": ["string", "null"]},
        "createdAt": _DATE_OUT,
        "modifiedAt": _DATE_OUT,
    },
}
SCHEMAS: dict[str, Any] = {
    "User": _USER,
    "Path": _PATH,
    "Group": {
        "type": "object",
        "required": ["_id", "name", "public"],
        "properties": {
            "_id": OBJECT_ID,
            "name": {"type": "string"},
            "public": {"type": "boolean"},
            "parent": {**OBJECT_ID, "description": "Only when the group has a parent."},
        },
    },
    "SessionItem": _SESSION_ITEM,
    "SessionDetail": {
        "type": "object",
        "properties": {
            **_SESSION_ITEM["properties"],
            "path": {
                "type": "object",
                "description": "The path's fields, without sessionIds.",
                "properties": {k: v for k, v in _PATH["properties"].items() if k != "sessionIds"},
            },
            "users": {"type": "array", "items": _USER},
            "groups": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"_id": OBJECT_ID, "name": {"type": "string"}},
                },
            },
        },
    },
}


def description(settings: Settings) -> Description:
    return Description(
        operations=OPERATIONS,
        schemas={
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}},
            },
            "NotFound": {
                "type": "object",
                "properties": {
                    "message": {"const": "Not Found"},
                    "documentation_url": {"const": settings.docs_url},
                },
            },
            **SCHEMAS,
        },
        statuses=STATUS,
        fault_example={"error": "an error occurred: 3f2a9c0d1e7b48a6b5c4d3e2f1a09b8c"},
        too_large=ERRORS[ErrorCode.PAYLOAD_TOO_LARGE][1],
        rate_limited=ERRORS[ErrorCode.RATE_LIMITED][1],
        security=[
            {"apiKeyQuery": [], "companyQuery": []},
            {"apiKeyHeader": [], "companyHeader": []},
            {"bearer": []},
        ],
        security_schemes={
            "companyQuery": {"type": "apiKey", "in": "query", "name": "company"},
            "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "apiKey"},
            "companyHeader": {"type": "apiKey", "in": "header", "name": "X-company-id"},
            "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-apiKey"},
            "bearer": {"type": "http", "scheme": "bearer"},
        },
    )
