"""The web console under /__admin/console (docs/sandbox.md, "The console"): server-rendered pages
for a person, over the same handlers and core functions the control API uses.

It exists only with the sandbox (the admin token set). Its pages are opened by a signed-in
cookie rather than the bearer token (console/auth.py); everything else under /__admin/ goes on
to the control API unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from ...api.context import Context
from ...storage import DatabaseUnavailable
from ...storage.outage import StorageUnavailable
from ...web.asgi import ClientDisconnected, Request, Response, read_body, send_response
from ...web.pipeline import Receive, Scope, Send, log_fault
from ...web.routing import Router
from .auth import Keys
from .pages import ROUTES
from .render import PREFIX, Visit, error_page, sign_in_redirect

# Console forms are small: a fault's body is the largest thing sent.
MAX_FORM_BODY = 1024 * 1024

Api = Callable[[Scope, Receive, Send, Context], Awaitable[None]]


class Console:
    """The console's pages; any other /__admin/ URL is handed to `api` (the control API)."""

    def __init__(self, admin_token: str, api: Api) -> None:
        self.keys = Keys(admin_token)
        self.api = api
        self.router: Router[None] = Router([(route, None) for route in ROUTES])

    @staticmethod
    def owns(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send, ctx: Context) -> None:
        if not self.owns(scope["path"]):
            await self.api(scope, receive, send, ctx)
            return
        try:
            response = await self._respond(scope, receive, ctx)
        except ClientDisconnected:
            return
        await send_response(send, response, receive)

    async def _respond(self, scope: Scope, receive: Receive, ctx: Context) -> Response:
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)
        raw: bytes = scope.get("raw_path") or quote(scope["path"]).encode()
        path = raw.split(b"?", 1)[0].decode("latin-1")[len(PREFIX) :] or "/"
        matched = self.router.match(scope["method"], path)
        if matched is None:
            return error_page(404, "There is no such page in the console.")
        route, _, params = matched
        body = await read_body(receive, MAX_FORM_BODY)
        if body is None:
            return error_page(413, f"Forms are limited to {MAX_FORM_BODY} bytes.")
        request = Request(
            scope["method"],
            scope["path"],
            scope["query_string"],
            headers,
            body,
            params,
            scope.get("scheme", "http"),
        )
        visit = Visit.of(request, ctx, self.keys)
        if visit.nonce is None and not route.operation_id.startswith("open:"):
            return sign_in_redirect()
        handler: Any = route.public
        try:
            response: Response = await handler(request, visit)
        except (StorageUnavailable, DatabaseUnavailable):
            return error_page(503, "The database cannot be reached.")
        except Exception as exc:
            log_fault(exc, "console")
            return error_page(500, "Something went wrong: see the server log.")
        return response
