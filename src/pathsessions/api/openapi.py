"""The OpenAPI 3.1 description of the served routes: the whole document, or one API's part
of it (v1, v2, the sandbox's control API), which /docs shows one at a time.

Built from the route list and each API's `Description` (its operations and error table), so
what is served and what is described cannot drift. Every answer with a body carries an example:
each error's from its API's error table, each success's made from its schema (`example_of`).
"""

from __future__ import annotations

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
    # The body of an unexpected fault, when its error string is not one of the table's.
    fault_example: Any = None


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
    if "example" in success and "content" in answer:  # else made from the schema
        answer["content"][media]["example"] = success["example"]
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
    fault: dict[str, Any] = {"schema": api.error_schema(500, internal)}
    if api.internal_error:
        fault["example"] = api.error_example(api.internal_error)
    elif api.fault_example is not None:
        fault["example"] = api.fault_example
    responses["500"] = {
        "description": "Unexpected fault; the id is also in the server log.",
        "content": {"application/json": fault},
    }
    op["responses"] = responses
    if route.authenticated:
        op["security"] = meta.get("security", api.security)
    return op


# The parts /docs shows one at a time: each API version, and the control API when it is on.
PARTS = ("v2", "v1", "sandbox")


def part_of(path: str) -> str | None:
    """The part a route belongs to by its path; None for the service routes (/health,
    /openapi.json, /docs, …), which every part shows."""
    if path.startswith("/api/v1/"):
        return "v1"
    if path.startswith("/api/v2/"):  # with the token route, which v1 also serves
        return "v2"
    if path.startswith("/__admin/"):
        return "sandbox"
    return None


def parts(routes: Sequence[tuple[Route[Any, Any], Description]]) -> list[str]:
    """The parts `routes` has, in the order /docs lists them."""
    present = {part_of(route.path) for route, _ in routes}
    return [part for part in PARTS if part in present]


_TITLES = {
    None: "The 360Learning path-sessions API, v1 and v2 side by side over the same data, "
    "served by pathsessions.",
    "v1": "The 360Learning path-sessions API v1, served by pathsessions.",
    "v2": "The 360Learning API v2 (path sessions, enrollments, statistics, groups, users, "
    "paths, webhooks), served by pathsessions.",
    "sandbox": "The sandbox's control API of pathsessions (docs/sandbox.md): fixtures, "
    "snapshots, the request journal, faults, the clock, exports.",
}


def document(
    routes: Sequence[tuple[Route[Any, Any], Description]], part: str | None = None
) -> dict[str, Any]:
    """The document of the served routes, each described by the API that serves it: all of
    them, or one `part`'s and the service routes."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    schemes: dict[str, Any] = {}
    for route, api in routes:
        if part is not None and part_of(route.path) not in (part, None):
            continue
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, api)
        schemas.update(api.schemas)
        schemes.update(api.security_schemes)
    _add_examples(paths, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pathsessions" if part is None else f"pathsessions {part}",
            "version": __version__,
            "description": _TITLES[part] + " Every route also answers with a trailing slash.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": schemes},
    }


def _add_examples(paths: dict[str, dict[str, Any]], schemas: dict[str, Any]) -> None:
    """An example made from its schema for every answer that has a schema and none yet."""
    for methods in paths.values():
        for op in methods.values():
            for response in op["responses"].values():
                for media in response.get("content", {}).values():
                    if "schema" in media and "example" not in media and "examples" not in media:
                        media["example"] = example_of(media["schema"], schemas)


# Values for strings of a known format: what the API writes.
_STRINGS = {
    "date-time": "2031-01-02T09:00:00.000Z",
    "date": "2031-01-02",
    "email": "ann@example.com",
    "uri": "https://hooks.example.com/pathsessions",
}
_OBJECT_ID = "5f1b2c3d4e5f60718293a4b5"


def example_of(schema: Any, schemas: dict[str, Any], depth: int = 0) -> Any:
    """A value `schema` accepts, made from it: its own example or constant first, else one
    from its type (every property of an object, one item of an array)."""
    if not isinstance(schema, dict) or depth > 12:
        return None
    if schema.get("examples"):
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        target = schemas.get(ref.removeprefix("#/components/schemas/"))
        return example_of(target, schemas, depth + 1)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example_of(part, schemas, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for key in ("oneOf", "anyOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return example_of(options[0], schemas, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties", {})
        if properties:
            return {name: example_of(p, schemas, depth + 1) for name, p in properties.items()}
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return {"name": example_of(extra, schemas, depth + 1)}
        return {}
    if kind == "array":
        item = example_of(schema.get("items", {}), schemas, depth + 1)
        return [] if item is None else [item] * max(1, schema.get("minItems", 1))
    if kind == "string":
        if "{24}" in schema.get("pattern", "") or schema.get("format") == "ObjectId":
            return _OBJECT_ID
        text = _STRINGS.get(schema.get("format", ""), "string")
        return text.ljust(schema.get("minLength", 0), "x")
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return max(0, low) if "maximum" not in schema else min(max(0, low), schema["maximum"])
    if kind == "boolean":
        return True
    return None


def encode(doc: dict[str, Any]) -> bytes:
    return msgspec.json.encode(doc)
