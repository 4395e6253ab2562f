"""v2's part of the OpenAPI description, assembled from what each operation module declares
beside its routes (operations.py), plus what every v2 operation shares: the version header,
the errors of the conventions, the error envelope and the OAuth2 scheme with its scope.

One document serves both versions (/openapi.json): v2 component names start with `v2.` so
that they never collide with v1's.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ...core.errors import ErrorCode
from ..openapi import Description
from .errors import BARE, ERRORS, INTERNAL_ERROR, body, statuses
from .operations import SCOPES, Operation
from .routes import OPERATIONS
from .routes import SCHEMAS as OPERATION_SCHEMAS
from .schemas import SCHEMAS, VERSION_PARAMETER

# What every authenticated v2 operation may answer, in the order the checks run.
_CONVENTION_ERRORS = ["invalid_token", "invalidApiVersion", "invalid_scope", "serviceUnavailable"]
_MESSAGES = {code: message for _, code, message in ERRORS.values()}
_MESSAGES["badRequest"] = "<field path>: <what is wrong>"

ERROR_SCHEMA = "v2.Error"


def _error_schema(status: int, codes: list[str]) -> dict[str, Any]:
    """The bodies of one status, their codes enumerated: the nested envelope, the bare string
    of a 401 or 429, and for a 404 also the unknown-route answer (another method on a v2
    path)."""
    nested = [c for c in codes if c not in BARE]
    bare = [c for c in codes if c in BARE]
    options: list[dict[str, Any]] = []
    if nested:
        options.append(
            {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string", "enum": nested},
                            "message": {"type": "string"},
                        },
                    }
                },
            }
        )
    if bare:
        options.append(
            {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string", "enum": bare}},
            }
        )
    if status == 404:
        options.append({"$ref": "#/components/schemas/NotFound"})
    if not options:
        return {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
    return options[0] if len(options) == 1 else {"anyOf": options}


def _example(code: str) -> Any:
    return msgspec.json.decode(body(code, _MESSAGES.get(code, "")))


def _rename(value: Any) -> Any:
    """Schema references to this module's components, under their `v2.` names."""
    if isinstance(value, dict):
        return {
            k: (
                v.replace("#/components/schemas/", "#/components/schemas/v2.")
                if k == "$ref" and isinstance(v, str)
                else _rename(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rename(v) for v in value]
    return value


# The components, their references to one another renamed too.
COMPONENTS: dict[str, Any] = {
    ERROR_SCHEMA: SCHEMAS["V2Error"],
    **{f"v2.{name}": _rename(schema) for name, schema in OPERATION_SCHEMAS.items()},
}


def _operation(op: Operation) -> dict[str, Any]:
    doc = _rename(op.doc)
    validates = "requestBody" in doc or any(
        p.get("in") == "query" for p in doc.get("parameters", [])
    )
    errors = [*_CONVENTION_ERRORS, *(["badRequest"] if validates else []), *doc["errors"]]
    scope_note = f"Required OAuth scope: `{op.scope}`."
    return {
        **doc,
        "description": f"{scope_note}\n\n{doc['description']}"
        if "description" in doc
        else scope_note,
        "parameters": [VERSION_PARAMETER, *doc.get("parameters", [])],
        "errors": list(dict.fromkeys(errors)),
        "security": [{"oauth2": [op.scope]}],
    }


def description() -> Description:
    return Description(
        operations={op.route.operation_id: _operation(op) for op in OPERATIONS},
        schemas=COMPONENTS,
        statuses=statuses(),
        too_large=ERRORS[ErrorCode.PAYLOAD_TOO_LARGE][1],
        rate_limited=ERRORS[ErrorCode.RATE_LIMITED][1],
        security=[{"oauth2": []}],
        security_schemes={
            "oauth2": {
                "type": "oauth2",
                "description": "A bearer token from POST /api/v2/oauth2/token, made with a v2 "
                "API credential: `Authorization: Bearer <token>`.",
                "flows": {
                    "clientCredentials": {
                        "tokenUrl": "/api/v2/oauth2/token",
                        "scopes": {scope: f"The {scope} scope." for scope in SCOPES},
                    }
                },
            }
        },
        error_schema=_error_schema,
        error_example=_example,
        internal_error=INTERNAL_ERROR,
    )
