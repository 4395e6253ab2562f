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

from ...core.errors import DomainError, ErrorCode
from ...core.model import Client
from ...settings import Settings
from ...web.asgi import Request, Response
from ...web.routing import Route
from ..answers import not_found_body, rate_limited, refusal
from ..context import Context
from ..openapi import Description
from . import auth, openapi
from .errors import ERRORS, BadRequest, internal_error_body, render, render_code
from .routes import ROUTES, SCOPE_OF


class V2:
    def __init__(self, settings: Settings) -> None:
        self._not_found = not_found_body(settings.docs_url)
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
            return refusal(*render(exc))
        return None

    def payload_too_large(self) -> Response:
        return Response(*render_code(ErrorCode.PAYLOAD_TOO_LARGE))

    def not_found(self) -> Response:
        return Response(404, self._not_found)

    def rate_limited(self, wait: float) -> Response:
        return rate_limited(*render_code(ErrorCode.RATE_LIMITED), wait)

    def internal_error(self, error_id: str) -> Response:
        return Response(500, internal_error_body(error_id))
