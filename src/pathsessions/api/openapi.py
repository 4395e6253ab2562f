"""The OpenAPI 3.1 description of the served routes, and a plain HTML page made from it.

Built from the route list and each API's `Description` (its operations and error table), so
what is served and what is described cannot drift.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from .. import __version__
from ..web.routing import Route


@dataclass(frozen=True)
class Description:
    """One API's part of the document."""

    # operation id -> summary, tags, parameters, body, success and the error strings it answers
    operations: dict[str, dict[str, Any]]
    schemas: dict[str, Any]
    # every error string -> its status
    statuses: dict[str, int]
    # the error strings every route may answer (body too large) and authenticated ones (429)
    too_large: str
    rate_limited: str
    # how authenticated operations may present credentials, and the schemes named there
    security: list[dict[str, list[str]]]
    security_schemes: dict[str, Any]
    # The schema of the error bodies an operation answers with one status, given their error
    # strings (a 404 may also be the unknown-route answer); and the body answered for one.
    error_schema: Callable[[int, list[str]], dict[str, Any]] = field(
        default=lambda status, codes: {"$ref": "#/components/schemas/Error"}
    )
    error_example: Callable[[str], Any] = field(default=lambda code: {"error": code})
    # The error string of an unexpected fault, when it has one.
    internal_error: str | None = None


def _error_response(status: int, codes: list[str], api: Description) -> dict[str, Any]:
    return {
        "description": "; ".join(f"`{c}`" for c in codes),
        "content": {
            "application/json": {
                "schema": api.error_schema(status, codes),
                "examples": {c: {"value": api.error_example(c)} for c in codes},
            }
        },
    }


def _operation(route: Route[Any, Any], api: Description) -> dict[str, Any]:
    meta = api.operations[route.operation_id]
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
    answer: dict[str, Any] = {"description": success["description"]}
    if "schema" in success:
        answer["content"] = {media: {"schema": success["schema"]}}
    elif "media" in success:
        answer["content"] = {media: {}}
    # else no body at all, as a 204 has
    responses: dict[str, Any] = {str(success["status"]): answer}
    if "headers" in success:
        responses[str(success["status"])]["headers"] = success["headers"]
    by_status: dict[int, list[str]] = {}
    # Every route can answer 413: the body limit is checked before routing.
    for code in dict.fromkeys([api.too_large, *meta["errors"]]):
        by_status.setdefault(api.statuses[code], []).append(code)
    if route.authenticated:
        by_status[api.statuses[api.rate_limited]] = [api.rate_limited]
    for status, codes in sorted(by_status.items()):
        responses[str(status)] = _error_response(status, codes, api)
    if route.authenticated:
        responses["429"]["headers"] = {
            "Retry-After": {
                "description": "Whole seconds until the company may call again.",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    if "503" in responses:
        responses["503"]["headers"] = {
            "Retry-After": {
                "description": "Whole seconds after which to try again.",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    responses["404"] = responses.get("404") or {
        "description": "Unknown route or method",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NotFound"}}},
    }
    internal = [api.internal_error] if api.internal_error else []
    responses["500"] = {
        "description": "Unexpected fault; the id is also in the server log.",
        "content": {"application/json": {"schema": api.error_schema(500, internal)}},
    }
    op["responses"] = responses
    if route.authenticated:
        op["security"] = meta.get("security", api.security)
    return op


def document(routes: Sequence[tuple[Route[Any, Any], Description]]) -> dict[str, Any]:
    """The document of the served routes, each described by the API that serves it."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    schemes: dict[str, Any] = {}
    for route, api in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, api)
        schemas.update(api.schemas)
        schemes.update(api.security_schemes)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pathsessions",
            "version": __version__,
            "description": "The 360Learning path-sessions API, v1 and v2 side by side over the "
            "same data, served by pathsessions. Every route also answers with a trailing slash.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": schemes},
    }


def encode(doc: dict[str, Any]) -> bytes:
    return msgspec.json.encode(doc)


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A component schema for a reference to it; any other schema as it is."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        found: dict[str, Any] = doc["components"]["schemas"][
            ref.removeprefix("#/components/schemas/")
        ]
        return found
    return schema


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
            if any("oauth2" in scheme for scheme in op.get("security", ())):
                out.append(
                    "<p>Authentication: <code>Authorization: Bearer &lt;token&gt;</code> from a "
                    "v2 API credential, and the header <code>360-api-version: v2.0</code>.</p>"
                )
            elif op.get("security"):
                out.append(
                    "<p>Authentication: query <code>company</code> + <code>apiKey</code>"
                    ", headers <code>X-company-id</code> + <code>X-apiKey</code>, or "
                    "<code>Authorization: Bearer &lt;token&gt;</code>.</p>"
                )
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                schema = _resolve(doc, body["schema"])
                out.append("<table><tr><th>field</th><th>required</th><th>schema</th></tr>")
                for name, prop in schema.get("properties", {}).items():
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
