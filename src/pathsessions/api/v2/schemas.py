"""The pieces of the v2 description every operation module uses: ids, dates, parameters,
list answers and the shared component schemas (the error envelopes)."""

from __future__ import annotations

from typing import Any

from . import dates
from .filters import Kind

OBJECT_ID: dict[str, Any] = {
    "type": "string",
    "format": "ObjectId",
    "pattern": "^[a-fA-F0-9]{24}$",
    "example": "507f1f77bcf86cd799439011",
}
DATE_TIME: dict[str, Any] = {
    "type": "string",
    "format": "date-time",
    "description": f"UTC, {dates.FORMAT}.",
}

# The parameter every operation but the token endpoint requires.
VERSION_PARAMETER: dict[str, Any] = {
    "name": "360-api-version",
    "in": "header",
    "description": "The version of the API.",
    "required": True,
    "schema": {"type": "string", "enum": ["v2.0"]},
}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def path_id(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": OBJECT_ID,
    }


def filter_parameters(filters: dict[str, Kind]) -> list[dict[str, Any]]:
    """One query parameter per field and operator (`createdAt[gte]`), and `next`."""
    params: list[dict[str, Any]] = []
    for name, kind in filters.items():
        for op in kind.operators:
            value: dict[str, Any] = dict(kind.schema)
            if kind.values:
                value["enum"] = list(kind.values)
            schema = {"type": "array", "items": value} if op in ("in", "nin") else value
            params.append(
                {
                    "name": f"{name}[{op}]",
                    "in": "query",
                    "required": False,
                    "description": f"{name} {op}; the value {kind.expected}.",
                    "schema": schema,
                    **({"style": "form", "explode": True} if op in ("in", "nin") else {}),
                }
            )
    params.append(
        {
            "name": "next",
            "in": "query",
            "required": False,
            "description": "The page token of a `Link` header; every other parameter is then "
            "ignored.",
            "schema": {"type": "string"},
        }
    )
    return params


def page(item: dict[str, Any], size: int, what: str) -> dict[str, Any]:
    return {
        "status": 200,
        "description": f"One page of at most {size} {what}, ascending `_id`.",
        "schema": {"type": "array", "items": item},
        "headers": {
            "Link": {
                "description": 'The next page, `<URL>; rel="next"`; only when there is one.',
                "schema": {"type": "string"},
            }
        },
    }


def ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"status": 200, "description": description, "schema": schema}


SCHEMAS: dict[str, Any] = {
    "V2Error": {
        "description": "A v2 error: `{error: {code, message}}`; 401 and 429 answer "
        "`{error: <code>}`.",
        "oneOf": [
            {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    }
                },
            },
            {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}},
            },
        ],
    },
}
