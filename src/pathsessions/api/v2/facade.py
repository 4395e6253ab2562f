"""v2 as the pipeline sees it: its routes, its credentials (with version header and scope),
and its words for every refusal.

- 413: `{"error": {"code": "payloadTooLarge", "message"}}`.
- 503 (the database or another dependency is out): the nested envelope, `databaseUnavailable`
  or `serviceUnavailable`, with `Retry-After`.
- 500: `{"error": {"code": "internalError", "message": "… <error id>"}}`, the id being the one
  in the server log and the `x-request-id` header.
- An unknown route is the pipeline's: it answers with the first API's 404 (v1's body); this
  one answers the same body should it be asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from ...core.errors import DomainError, ErrorCode
from ...core.model import Client
from ...settings import Settings
from ...web.asgi import Request, Response
from ...web.ratelimit import retry_after
from ...web.routing import Route
from ..context import Context
from ..openapi import Description
from . import auth, openapi
from .errors import ERRORS, BadRequest, internal_error_body, render, render_code
from .routes import ROUTES, SCOPE_OF

# `Retry-After` of a 503, in seconds: as v1 answers it.
RETRY_UNAVAILABLE = b"5"


class V2:
    def __init__(self, settings: Settings) -> None:
        self._not_found = msgspec.json.encode(
            {"message": "Not Found", "documentation_url": settings.docs_url}
        )
        self.description: Description = openapi.description()

    @property
    def routes(self) -> Sequence[Route[Context, Any]]:
        return ROUTES

    async def authenticate(
        self, ctx: Context, request: Request, route: Route[Context, Any]
    ) -> Client:
        return await auth.authenticate(ctx, request, SCOPE_OF[route.operation_id])

    def tenant(self, principal: Client) -> str:
        return principal.company.id

    def error(self, exc: Exception) -> Response | None:
        if isinstance(exc, BadRequest) or (isinstance(exc, DomainError) and exc.code in ERRORS):
            status, body = render(exc)
            if status == 503:
                return Response(status, body, headers=[(b"retry-after", RETRY_UNAVAILABLE)])
            return Response(status, body)
        return None

    def payload_too_large(self) -> Response:
        return Response(*render_code(ErrorCode.PAYLOAD_TOO_LARGE))

    def not_found(self) -> Response:
        return Response(404, self._not_found)

    def rate_limited(self, wait: float) -> Response:
        status, body = render_code(ErrorCode.RATE_LIMITED)
        return Response(status, body, headers=[(b"retry-after", retry_after(wait))])

    def internal_error(self, error_id: str) -> Response:
        return Response(500, internal_error_body(error_id))
