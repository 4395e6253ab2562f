"""One v2 operation as its module declares it: the route, the scope it needs, and its part of
the OpenAPI description, side by side so that none can be forgotten."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ...core.model import Client
from ...web.asgi import Request, Response
from ...web.routing import Route
from ..context import Context

Handler = Callable[[Request, Context, Client], Awaitable[Response]]

# The scopes of v2 API credentials.
SCOPES = (
    "paths:read",
    "paths:write",
    "pathStats:read",
    "groups:read",
    "users:read",
    "webhooks:read",
    "webhooks:write",
    "webhookSecrets:read",
    "webhookSecrets:write",
)


@dataclass(frozen=True)
class Operation:
    route: Route[Context, Client]
    scope: str
    # summary, tags, description?, parameters?, requestBody?, success, errors (wire codes):
    # the fields api/openapi.py reads (api/v2/openapi.py adds what every v2 operation shares).
    doc: dict[str, Any]


def operation(
    method: str, path: str, operation_id: str, handler: Handler, scope: str, **doc: Any
) -> Operation:
    if scope not in SCOPES:
        raise ValueError(f"{operation_id}: unknown scope {scope}")
    return Operation(Route(method, path, operation_id, handler), scope, doc)
