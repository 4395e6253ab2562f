"""The OpenAPI 3.1 description of the served routes, and a plain HTML page made from it.

Built from the route list and the error table, so what is served and what is described
cannot drift: a test checks every route has an operation here and the other way round.
"""

from __future__ import annotations

import html
from typing import Any

import msgspec

from .errors import STATUS
from .http import Route
from .rules import MAX_ADDITIONAL_INFORMATION, MAX_INSTRUCTORS, MAX_SESSION_NAME
from .settings import Settings

OBJECT_ID = {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"}
DATE = {
    "type": "string",
    "description": "W3C ISO 8601 date-time with seconds and a zone, e.g. "
    "2022-05-16T23:00:00+01:00; answered in UTC as 2022-05-16T22:00:00.000Z.",
}

_AUTH_ERRORS = ["payload_too_large", "unauthorized"]

# operation id -> what the route list does not say. `errors` are codes of errors.STATUS.
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
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["sessionName", "startDate", "sessionOwnerGroup"],
                        "properties": {
                            "sessionName": {"type": "string", "maxLength": MAX_SESSION_NAME},
                            "startDate": DATE,
                            "endDate": {**DATE, "type": ["string", "null"]},
                            "instructorsMails": {
                                "type": "array",
                                "items": {"type": "string", "format": "email"},
                                "description": "Main instructor first; at most "
                                f"{MAX_INSTRUCTORS} distinct addresses.",
                            },
                            "sessionOwnerGroup": OBJECT_ID,
                            "sessionAdditionalInformation": {
                                "type": ["string", "null"],
                                "maxLength": MAX_ADDITIONAL_INFORMATION,
                            },
                        },
                    }
                },
                "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
            },
        },
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
    "health": {
        "tags": ["Service"],
        "summary": "Health check",
        "description": "Answers 200 when the database answers.",
        "success": {
            "status": 200,
            "description": "The server and its database answer.",
            "schema": {"type": "object", "properties": {"status": {"const": "ok"}}},
        },
        "errors": ["database_unavailable"],
    },
    "openapi": {
        "tags": ["Service"],
        "summary": "This OpenAPI document",
        "success": {"status": 200, "description": "OpenAPI 3.1", "schema": {"type": "object"}},
        "errors": [],
    },
    "docs": {
        "tags": ["Service"],
        "summary": "The API described as an HTML page",
        "success": {"status": 200, "description": "An HTML page", "media": "text/html"},
        "errors": [],
    },
}


def _error_response(codes: list[str]) -> dict[str, Any]:
    return {
        "description": "; ".join(f"`{c}`" for c in codes),
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "examples": {c: {"value": {"error": c}} for c in codes},
            }
        },
    }


def _operation(route: Route) -> dict[str, Any]:
    meta = OPERATIONS[route.operation_id]
    success = meta["success"]
    media = success.get("media", "application/json")
    op: dict[str, Any] = {
        "operationId": route.operation_id,
        "tags": meta["tags"],
        "summary": meta["summary"],
    }
    if "description" in meta:
        op["description"] = meta["description"]
    if "parameters" in meta:
        op["parameters"] = meta["parameters"]
    if "requestBody" in meta:
        op["requestBody"] = meta["requestBody"]
    content = {media: {"schema": success["schema"]}} if "schema" in success else {media: {}}
    responses: dict[str, Any] = {
        str(success["status"]): {"description": success["description"], "content": content}
    }
    by_status: dict[int, list[str]] = {}
    for code in meta["errors"]:
        by_status.setdefault(STATUS[code], []).append(code)
    for status, codes in sorted(by_status.items()):
        responses[str(status)] = _error_response(codes)
    responses["404"] = responses.get("404") or {
        "description": "Unknown route or method",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NotFound"}}},
    }
    responses["500"] = {
        "description": "Unexpected fault; the id is also in the server log.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    op["responses"] = responses
    if route.authenticated:
        op["security"] = [
            {"apiKeyQuery": [], "companyQuery": []},
            {"apiKeyHeader": [], "companyHeader": []},
        ]
    return op


def document(routes: list[Route], settings: Settings) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pathsessions",
            "version": "1.0.0",
            "description": "The 360Learning v1 path-sessions API, served by pathsessions. "
            "Every route also answers with a trailing slash.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {
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
            },
            "securitySchemes": {
                "companyQuery": {"type": "apiKey", "in": "query", "name": "company"},
                "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "apiKey"},
                "companyHeader": {"type": "apiKey", "in": "header", "name": "X-company-id"},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-apiKey"},
            },
        },
    }


def encode(doc: dict[str, Any]) -> bytes:
    return msgspec.json.encode(doc)


def html_page(doc: dict[str, Any]) -> bytes:
    """A self-contained page (no scripts, no external assets: it works offline)."""
    e = html.escape
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>{e(doc['info']['title'])} API</title>",
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
        "padding:0 1rem}code,pre{background:#f4f4f4;padding:0 .2em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;"
        "text-align:left}h2{margin-top:2.5rem}</style></head><body>",
        f"<h1>{e(doc['info']['title'])} API</h1><p>{e(doc['info']['description'])}</p>",
        "<p>Machine-readable: <a href=/openapi.json>/openapi.json</a>.</p>",
    ]
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            out.append(f"<h2><code>{e(method.upper())} {e(path)}</code></h2>")
            out.append(f"<p><b>{e(op['summary'])}</b></p>")
            if "description" in op:
                out.append(f"<p>{e(op['description'])}</p>")
            if op.get("security"):
                out.append(
                    "<p>Authentication: query <code>company</code> + <code>apiKey</code>"
                    ", or headers <code>X-company-id</code> + <code>X-apiKey</code>.</p>"
                )
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                schema = body["schema"]
                out.append("<table><tr><th>field</th><th>required</th><th>schema</th></tr>")
                for name, prop in schema["properties"].items():
                    req = "yes" if name in schema.get("required", []) else "no"
                    out.append(
                        f"<tr><td><code>{e(name)}</code></td><td>{req}</td>"
                        f"<td><code>{e(msgspec.json.encode(prop).decode())}</code>"
                        "</td></tr>"
                    )
                out.append("</table>")
            out.append("<table><tr><th>status</th><th>answer</th></tr>")
            for status, response in op["responses"].items():
                out.append(f"<tr><td>{e(status)}</td><td>{e(response['description'])}</td></tr>")
            out.append("</table>")
    out.append("</body></html>")
    return "".join(out).encode()
