"""The control API under /__admin/: who may call it, its routes, and its answers.

It exists only when the admin token is set (app.py mounts it then). Every call carries
`Authorization: Bearer <admin token>`, compared in constant time, before anything else is
looked at; errors are `{"error", "message"}`. Not rate limited, not journalled.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import msgspec

from ..api.context import Context
from ..storage import DatabaseUnavailable
from ..storage.outage import StorageUnavailable
from ..web.asgi import ClientDisconnected, Request, Response, read_body, send_response
from ..web.pipeline import Receive, Scope, Send, log_fault
from ..web.routing import Route, Router

log = logging.getLogger("pathsessions")

PREFIX = "/__admin"
# Fixture documents and snapshots can be large: the control API takes bodies up to this.
MAX_ADMIN_BODY = 64 * 1024 * 1024

_decode = msgspec.json.Decoder().decode

Handler = Callable[[Request, Context], Awaitable[Response]]


class AdminError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_request(message: str, code: str = "invalid_request") -> AdminError:
    return AdminError(400, code, message)


def not_found(message: str) -> AdminError:
    return AdminError(404, "not_found", message)


def error_response(status: int, code: str, message: str | None = None) -> Response:
    body: dict[str, str] = {"error": code}
    if message is not None:
        body["message"] = message
    return Response.json(body, status)


UNAUTHORIZED = Response(401, b'{"error":"unauthorized"}')
NO_CONTENT = 204


def no_content() -> Response:
    return Response(204, b"", content_type=b"")


def json_body(request: Request, *, required: bool = True) -> Any:
    if not request.body.strip():
        if required:
            raise bad_request("body: a JSON body is required")
        return {}
    try:
        return _decode(request.body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise bad_request("body: not valid JSON") from None


def json_object(request: Request, *, required: bool = True) -> dict[str, Any]:
    body = json_body(request, required=required)
    if not isinstance(body, dict):
        raise bad_request("body: must be a JSON object")
    return body


class Admin:
    """The control API as one ASGI callable, given the application's context."""

    def __init__(self, token: str, routes: list[Route[Context, Any]]) -> None:
        self._token = token.encode()
        self.routes = routes
        self.router: Router[None] = Router([(route, None) for route in routes])

    def authorized(self, headers: dict[bytes, bytes]) -> bool:
        scheme, _, given = headers.get(b"authorization", b"").strip().partition(b" ")
        # Compared whatever the scheme says, so that a wrong scheme takes the time of a wrong
        # token.
        matches = hmac.compare_digest(given.strip(), self._token)
        return matches and scheme.lower() == b"bearer"

    async def __call__(self, scope: Scope, receive: Receive, send: Send, ctx: Context) -> None:
        try:
            response = await self._respond(scope, receive, ctx)
        except ClientDisconnected:
            return
        await send_response(send, response, receive)

    async def _respond(self, scope: Scope, receive: Receive, ctx: Context) -> Response:
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)
        if not self.authorized(headers):
            return UNAUTHORIZED
        raw: bytes = scope.get("raw_path") or quote(scope["path"]).encode()
        path = raw.split(b"?", 1)[0].decode("latin-1")
        matched = self.router.match(scope["method"], path)
        if matched is None:
            return error_response(404, "not_found", "no such route of the control API")
        route, _, params = matched
        body = await read_body(receive, MAX_ADMIN_BODY)
        if body is None:
            return error_response(
                413, "payload_too_large", f"bodies are limited to {MAX_ADMIN_BODY} bytes"
            )
        request = Request(
            scope["method"], scope["path"], scope["query_string"], headers, body, params
        )
        assert route.public is not None
        try:
            return await route.public(request, ctx)
        except AdminError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except (StorageUnavailable, DatabaseUnavailable):
            return error_response(503, "unavailable", "the database cannot be reached")
        except Exception as exc:
            log_fault(exc, "admin")
            return error_response(500, "internal_error", "see the server log")
