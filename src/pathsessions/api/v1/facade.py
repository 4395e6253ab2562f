"""v1 as the pipeline sees it: its routes, its credentials, and its words for every refusal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...core.errors import DomainError, ErrorCode
from ...core.model import Company
from ...settings import Settings
from ...web.asgi import Response
from ...web.routing import Route
from ..answers import not_found_body, rate_limited, refusal
from ..context import Context
from ..openapi import Description
from . import auth, openapi
from .errors import FieldError, internal_error_body, render, render_code
from .routes import ROUTES


class V1:
    def __init__(self, settings: Settings) -> None:
        self._not_found = not_found_body(settings.docs_url)
        self.description: Description = openapi.description(settings)

    @property
    def routes(self) -> Sequence[Route[Context, Any]]:
        return ROUTES

    # The function itself, not a method calling it: one coroutine less on every request.
    authenticate = staticmethod(auth.authenticate)

    def tenant(self, principal: Company) -> str:
        return principal.id

    def error(self, exc: Exception) -> Response | None:
        if isinstance(exc, DomainError | FieldError):
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
